"""Sparse weights by iterative hard thresholding (IHT), as a ``Trainer`` callback, and the size of a model whose
matrices are stored sparse where that is smaller.

``IterativeHardThresholding(density, total_steps)`` trains in three phases, the schedule of FastGRNN's training
(Kusupati et al. 2018, NeurIPS):

1. dense, for the first ``dense_fraction`` of ``total_steps``;
2. IHT: after every ``every``-th optimizer step, each chosen matrix keeps only its ``density`` fraction of entries
   of largest magnitude (the others set to 0); the support is chosen afresh each time, so weights may re-enter;
3. fine-tuning on the support: from ``1 - fine_tune_fraction`` of the steps on, the last support is frozen and
   every step's update is projected back onto it (entries outside it stay 0).

``density`` is one number in (0, 1] for every chosen matrix or a dict ``{parameter name: density}`` (a matrix not
in it stays dense). Chosen by default: every two-dimensional parameter whose name starts with ``weight`` (the
recurrent matrices, low-rank factors included, and the output layer), never a bias or a scalar.

``compressed_bytes(model, value_bytes=4)`` counts each matrix as the smaller of dense (``size * value_bytes``) and
compressed sparse rows (``nnz * (value_bytes + 2)`` values and 16-bit column indices, plus ``(rows + 1) * 2`` row
pointers), and every other parameter dense: the bytes a microcontroller would hold.
"""

from __future__ import annotations

import math
from typing import Any

import numpy

from gatedrnn.backend import to_numpy, xp
from gatedrnn.errors import UserError, check_int, check_probability, show
from gatedrnn.train.callbacks import Callback

INDEX_BYTES = 2            # a column index or a row pointer, uint16 (matrices of up to 65,535 columns)


def check_density(name: str, v) -> float:
    """A density in (0, 1] (the fraction of a matrix's entries that stay non-zero)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1:
        raise UserError(f"{name}: expected a number in (0, 1], got {show(v)}")
    return float(v)


def weight_matrices(model) -> list[str]:
    """The names of the model's two-dimensional parameters whose name starts with ``weight``."""
    return [n for n, p, _ in model.named_params() if p.ndim == 2 and n.split(".")[-1].startswith("weight")]


def keep_largest_(a, density: float):
    """Zero all but the ``ceil(density * size)`` entries of largest magnitude of ``a``, in place; -> the mask."""
    k = max(1, math.ceil(density * a.size))
    mask = xp.zeros(a.shape, dtype=bool)
    if k >= a.size:
        mask[...] = True
        return mask
    flat = xp.abs(a).reshape(-1)
    top = xp.argpartition(flat, a.size - k)[a.size - k:]
    mask.reshape(-1)[top] = True
    a[~mask] = 0
    return mask


class IterativeHardThresholding(Callback):
    """Dense, then hard thresholding, then fine-tuning on the support; see the module docstring."""

    def __init__(self, density, total_steps: int, *, dense_fraction: float = 1 / 3,
                 fine_tune_fraction: float = 1 / 3, every: int = 1):
        self.density: float | dict[str, float]
        if isinstance(density, dict):
            self.density = {str(k): check_density(f"density[{k!r}]", v) for k, v in density.items()}
        else:
            self.density = check_density("density", density)
        check_int("total_steps", total_steps)
        check_probability("dense_fraction", dense_fraction)
        check_probability("fine_tune_fraction", fine_tune_fraction)
        if dense_fraction + fine_tune_fraction > 1:
            raise UserError(f"dense_fraction + fine_tune_fraction: expected at most 1, got "
                            f"{dense_fraction + fine_tune_fraction:g}")
        self.every = check_int("every", every)
        self.start = int(round(dense_fraction * total_steps))
        self.freeze = int(round((1 - fine_tune_fraction) * total_steps))
        self.masks: dict[str, Any] = {}

    def targets(self, model) -> dict[str, float]:
        """name -> density of the matrices this callback thins."""
        if isinstance(self.density, dict):
            params = {n: p for n, p, _ in model.named_params()}
            for name in self.density:
                if name not in params or params[name].ndim != 2:
                    raise UserError(f"density: expected names of the model's matrices "
                                    f"({', '.join(weight_matrices(model))}), got {name!r}")
            return dict(self.density)
        return {n: self.density for n in weight_matrices(model)}

    def threshold(self, model) -> None:
        """Hard thresholding now: each chosen matrix keeps its largest entries; the masks remember the support."""
        params = {n: p for n, p, _ in model.named_params()}
        for name, d in self.targets(model).items():
            self.masks[name] = keep_largest_(params[name], d)

    def on_step_end(self, trainer, logs) -> None:
        step = trainer.step            # steps done so far, this one included
        if step <= self.start:
            return
        if step < self.freeze:
            if (step - self.start) % self.every == 0:
                self.threshold(trainer.model)
        elif step == self.freeze or not self.masks:
            self.threshold(trainer.model)         # the support from here on
        else:
            params = {n: p for n, p, _ in trainer.model.named_params()}
            for name, mask in self.masks.items():  # fine-tuning: the update projected back onto the support
                params[name][~mask] = 0

    def on_train_end(self, trainer, summary) -> None:
        if not self.masks:                          # stopped before thresholding: the model still ends sparse
            self.threshold(trainer.model)
        summary["density"] = {n: float(m.mean()) for n, m in self.masks.items()}

    def state_dict(self) -> dict:
        return {"masks": {n: to_numpy(m).astype(numpy.uint8).tolist() for n, m in self.masks.items()}}

    def load_state_dict(self, state: dict) -> None:
        self.masks = {n: xp.asarray(numpy.asarray(m, dtype=bool)) for n, m in state.get("masks", {}).items()}


def compressed_bytes(model, value_bytes: int = 4) -> int:
    """Bytes of the model's parameters, each matrix dense or in compressed sparse rows, whichever is smaller."""
    total = 0
    for _, p, _ in model.named_params():
        a = to_numpy(p)
        dense = a.size * value_bytes
        if a.ndim == 2:
            csr = int(numpy.count_nonzero(a)) * (value_bytes + INDEX_BYTES) + (a.shape[0] + 1) * INDEX_BYTES
            dense = min(dense, csr)
        total += dense
    return total
