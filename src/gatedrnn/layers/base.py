"""The Layer contract, in the book's shape.

A layer holds ``params`` and ``grads`` as aligned lists of arrays (``grads[k]`` is the gradient of
``params[k]``) plus ``names`` with the name of each. ``forward`` caches exactly what ``backward`` needs;
``backward`` *accumulates* into ``grads`` (call ``zero_grad`` between steps), which is what makes weight
tying and gradient accumulation free. Parameters are updated in place by the optimizers, so the lists keep
pointing at the live arrays.

Composite layers (stacks, models) register their children with ``add_child``; their lists are the
children's lists concatenated, with an array shared by two children (tied weights) listed once.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

import numpy

from gatedrnn.backend import asarray, to_numpy, xp
from gatedrnn.errors import UserError

L = TypeVar("L", bound="Layer")


class Layer:
    """Base class: parameters, gradients, train/eval mode and (de)serialisation by name."""

    def __init__(self):
        self.params: list = []
        self.grads: list = []
        self.names: list[str] = []
        self.children: list[Layer] = []
        self.transposed: set[str] = set()  # names stored as the transpose of their public (PyTorch) layout
        self.training = True

    forward: Callable[..., Any]  # every layer defines ``forward`` (and ``backward`` right under it)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """``layer(x, ...)`` is ``layer.forward(x, ...)``, as in PyTorch and Keras."""
        return self.forward(*args, **kwargs)

    # -- registration -----------------------------------------------------------------------------
    def add_param(self, name: str, value):
        """Register a parameter array and a zero gradient of the same shape; returns the array."""
        self.params.append(value)
        self.grads.append(xp.zeros_like(value))
        self.names.append(name)
        return value

    def add_child(self, prefix: str, layer: L, suffix: str = "") -> L:
        """Register a sub-layer; its parameters are listed as ``prefix + name + suffix`` (shared arrays once)."""
        self.children.append(layer)
        seen = {id(p) for p in self.params}
        for name, p, g in zip(layer.names, layer.params, layer.grads):
            if id(p) in seen:
                continue
            seen.add(id(p))
            self.params.append(p)
            self.grads.append(g)
            self.names.append(prefix + name + suffix)
            if name in layer.transposed:
                self.transposed.add(prefix + name + suffix)
        return layer

    # -- modes and gradients ----------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Layer":
        self.training = mode
        for c in self.children:
            c.train(mode)
        return self

    def eval(self) -> "Layer":
        return self.train(False)

    def zero_grad(self) -> None:
        for g in self.grads:
            g[...] = 0

    def named_params(self):
        """``(name, param, grad)`` triples."""
        return list(zip(self.names, self.params, self.grads))

    def num_params(self) -> int:
        return int(sum(p.size for p in self.params))

    # -- (de)serialisation ------------------------------------------------------------------------
    def _export(self, arrays) -> dict[str, numpy.ndarray]:
        return {n: (to_numpy(a).T if n in self.transposed else to_numpy(a)).copy()
                for n, a in zip(self.names, arrays)}

    def state_dict(self) -> dict[str, numpy.ndarray]:
        """Copies of the parameters as NumPy arrays keyed by name, in PyTorch's names and layout."""
        return self._export(self.params)

    def grad_dict(self) -> dict[str, numpy.ndarray]:
        """Copies of the gradients as NumPy arrays, keyed and shaped like ``state_dict``."""
        return self._export(self.grads)

    def load_state_dict(self, d: dict) -> None:
        """Copy values into the live parameter arrays (same names and shapes as ``state_dict``)."""
        load_into(self.names, self.params, d, self.transposed)


def load_into(names, arrays, d: dict, transposed=frozenset()) -> None:
    """Copy ``d[name]`` into each array in place, all or nothing: every name, shape, dtype (floating point) and
    value (finite, also once cast to the array's dtype) is checked before the first array is touched.

    Names in ``transposed`` are stored as the transpose of the layout ``d`` uses.
    """
    if not isinstance(d, dict):
        raise UserError(f"state_dict: expected a mapping of parameter names to arrays, got {type(d).__name__}")
    missing = [n for n in names if n not in d]
    extra = [k for k in d if k not in names]
    if missing or extra:
        raise UserError(f"state_dict: expected keys {sorted(names)}, got missing {missing} and unexpected {extra}")
    ready = []
    for n, a in zip(names, arrays):
        v = numpy.asarray(d[n])
        want = tuple(a.shape[::-1]) if n in transposed else tuple(a.shape)
        if v.shape != want:
            raise UserError(f"state_dict[{n!r}]: expected shape {want}, got {v.shape}")
        if not numpy.issubdtype(v.dtype, numpy.floating):
            raise UserError(f"state_dict[{n!r}]: expected floating-point values, got dtype {v.dtype}")
        with numpy.errstate(over="ignore"):   # float64 past float32's range: refused just below
            cast = numpy.asarray(v.T if n in transposed else v, dtype=a.dtype)
        if not numpy.isfinite(cast).all():
            what = "NaN or Inf" if not numpy.isfinite(v).all() else f"values that overflow {cast.dtype}"
            raise UserError(f"state_dict[{n!r}]: expected finite values, got {what}")
        ready.append(cast)
    for a, v in zip(arrays, ready):
        a[...] = asarray(v, dtype=a.dtype)
