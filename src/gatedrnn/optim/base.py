"""The optimizer contract: update ``params`` in place from ``grads`` with no per-step allocation."""

from __future__ import annotations

import numpy

from gatedrnn.backend import asarray, to_numpy, xp
from gatedrnn.errors import UserError


class Optimizer:
    """Holds aligned ``params``/``grads`` lists (e.g. ``model.params, model.grads``) and per-parameter slots.

    ``step()`` updates every parameter in place. ``lr`` is a plain attribute that schedules change.
    ``state_dict()`` returns the hyper-parameters (JSON-able) and the slot arrays, for checkpoints.
    """

    slot_names: tuple[str, ...] = ()

    def __init__(self, params, grads, lr: float):
        if len(params) != len(grads):
            raise UserError(f"optimizer: expected as many grads as params, got {len(grads)} and {len(params)}")
        if not lr > 0:
            raise UserError(f"optimizer lr: expected a positive number, got {lr}")
        self.params, self.grads, self.lr = list(params), list(grads), float(lr)
        self.t = 0
        self.slots = {name: [xp.zeros_like(p) for p in self.params] for name in self.slot_names}
        self._scratch: list | None = None

    @property
    def _tmp(self) -> list:
        """One scratch array per parameter, so that ``step()`` allocates nothing; made on first use only, so an
        optimizer that needs none (SGD) does not double the memory of the parameters."""
        if self._scratch is None:
            self._scratch = [xp.empty_like(p) for p in self.params]
        return self._scratch

    def step(self) -> None:
        self.t += 1
        for k, (p, g) in enumerate(zip(self.params, self.grads)):
            self.update(k, p, g)

    def update(self, k: int, p, g) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def hyper(self) -> dict:
        return {"lr": self.lr}

    def state_dict(self) -> tuple[dict, dict[str, numpy.ndarray]]:
        """-> (JSON-able scalars, arrays keyed ``slot.index``)."""
        arrays = {f"{name}.{k}": to_numpy(a).copy() for name, lst in self.slots.items() for k, a in enumerate(lst)}
        return {"type": type(self).__name__, "t": self.t, **self.hyper()}, arrays

    def load_state_dict(self, scalars: dict, arrays: dict) -> None:
        if scalars.get("type") != type(self).__name__:
            raise UserError(f"optimizer state: expected type {type(self).__name__}, got {scalars.get('type')!r}")
        self.t = int(scalars["t"])
        for key, value in scalars.items():
            if key not in ("type", "t"):
                setattr(self, key, value)
        for name, lst in self.slots.items():
            for k, a in enumerate(lst):
                key = f"{name}.{k}"
                if key not in arrays or tuple(arrays[key].shape) != tuple(a.shape):
                    raise UserError(f"optimizer state: expected slot {key} of shape {tuple(a.shape)}, got "
                                     f"{'none' if key not in arrays else tuple(arrays[key].shape)}")
                a[...] = asarray(arrays[key], dtype=a.dtype)
