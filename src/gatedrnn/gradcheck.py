"""Numerical gradient checking by central differences, for any layer or model with the Layer contract."""

from __future__ import annotations

import numpy

from gatedrnn.backend import to_numpy, xp


def _leaves(out):
    """Float arrays of a (possibly nested tuple) forward output, in order."""
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in _leaves(o)]
    return [] if out is None else [out]


def _fill(out, values):
    """Rebuild the nested structure of ``out`` with ``values`` in place of its arrays."""
    it = iter(values)

    def rec(o):
        if isinstance(o, (tuple, list)):
            return type(o)(rec(x) for x in o)
        return None if o is None else next(it)

    return rec(out)


def rel_error(a, b) -> float:
    """Relative error of two gradient vectors, ``||a - b|| / max(||a||, ||b||)`` (0 when both are zero).

    Measured over the whole parameter rather than entry by entry: an entry whose true gradient is ~1e-9 has
    a central-difference error of the same size from rounding alone, which says nothing about the code.
    """
    a, b = numpy.asarray(a, dtype=numpy.float64).ravel(), numpy.asarray(b, dtype=numpy.float64).ravel()
    scale = max(float(numpy.linalg.norm(a)), float(numpy.linalg.norm(b)))
    return 0.0 if scale == 0.0 else float(numpy.linalg.norm(a - b)) / scale


def _projection(rng, loss):
    """The scalar ``L(out)``: ``loss(out)[0]``, or ``sum_k <R_k, out_k>`` with random ``R_k`` drawn from ``rng`` on
    the first call (kept in ``scalar.proj``)."""
    proj = []

    def scalar(out):
        if loss is not None:
            return float(loss(out)[0])
        leaves = _leaves(out)
        if not proj:
            proj.extend(xp.asarray(rng.standard_normal(to_numpy(a).shape)) for a in leaves)
        return float(sum(float((to_numpy(a).astype(numpy.float64) * to_numpy(r)).sum()) for a, r in zip(leaves, proj)))

    scalar.proj = proj
    return scalar


def _analytic(layer, inputs, forward_kwargs, loss, scalar, wrt_inputs: bool):
    """One forward and backward pass -> (analytic gradient per name, [(name, array to perturb)])."""
    if hasattr(layer, "zero_grad"):
        layer.zero_grad()
    out = layer.forward(*inputs, **forward_kwargs)
    scalar(out)
    if loss is not None:
        dx = layer.backward(loss(out)[1])
    elif isinstance(out, (tuple, list)):
        dx = layer.backward(*_fill(out, scalar.proj))
    else:
        dx = layer.backward(scalar.proj[0])
    analytic = {n: to_numpy(g).copy() for n, g in zip(layer.names, layer.grads)}
    targets = list(zip(layer.names, layer.params))
    if wrt_inputs:
        for k, a in enumerate(inputs):
            if hasattr(a, "dtype") and numpy.issubdtype(a.dtype, numpy.floating):
                if dx is None:
                    continue
                analytic[f"input{k}"] = to_numpy(dx[0] if isinstance(dx, tuple) else dx).copy()
                targets.append((f"input{k}", a))
        state = forward_kwargs.get("state")
        if state is not None and getattr(layer, "dstate", None) is not None:
            for j, (s, ds) in enumerate(zip(_leaves(state), _leaves(layer.dstate))):
                analytic[f"state{j}"] = to_numpy(ds).copy()
                targets.append((f"state{j}", s))
    return analytic, targets


def _central_differences(f, arr, idx, eps: float):
    """``(f(a + eps) - f(a - eps)) / 2 eps`` for the entries ``idx`` of ``arr``, each restored afterwards."""
    flat = arr.reshape(-1)
    num = numpy.empty(idx.size)
    for j, i in enumerate(idx):
        old = float(flat[i])
        flat[i] = old + eps
        fp = f()
        flat[i] = old - eps
        fm = f()
        flat[i] = old
        num[j] = (fp - fm) / (2 * eps)
    return num


def gradcheck(layer, *inputs, loss=None, eps: float = 1e-5, max_checks: int | None = None, seed: int = 0,
              wrt_inputs: bool = True, **forward_kwargs) -> dict[str, float]:
    """Compare ``layer``'s analytic gradients with central differences; return the relative error per name.

    The layer is run as ``out = layer.forward(*inputs, **forward_kwargs)``. Without ``loss`` the scalar is
    ``L = sum_k <R_k, out_k>`` over the arrays in ``out`` with fixed random ``R_k``, and the backward pass is
    ``layer.backward(*R)`` (so ``(y, state)`` outputs get ``backward(dy, dstate)``). With ``loss``, a callable
    ``loss(out) -> (value, dout)``, the backward pass is ``layer.backward(dout)``.

    Every parameter entry is perturbed (at most ``max_checks`` random entries per parameter when given),
    and with ``wrt_inputs`` every floating-point input and float array in ``forward_kwargs`` (such as an
    initial ``state``) too; the gradient of the state is read from ``layer.dstate``. Use float64 layers.
    Dropout layers should be in eval mode (or reseeded) so that the function is deterministic.
    """
    rng = numpy.random.default_rng(seed)
    scalar = _projection(rng, loss)

    def f():
        return scalar(layer.forward(*inputs, **forward_kwargs))

    analytic, targets = _analytic(layer, inputs, forward_kwargs, loss, scalar, wrt_inputs)
    report = {}
    for name, arr in targets:
        size = arr.size
        idx = numpy.arange(size)
        if max_checks is not None and size > max_checks:
            idx = rng.choice(size, size=max_checks, replace=False)
        num = _central_differences(f, arr, idx, eps)
        report[name] = rel_error(analytic[name].reshape(-1)[idx], num)
    return report
