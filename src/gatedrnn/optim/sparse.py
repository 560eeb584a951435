"""Adam for per-series parameters (an ES-RNN's smoothing: row i belongs to series i): only the rows of the series in
the batch get their moments and a step.

Dense Adam moves every row at every step: a series absent from a batch has a zero gradient, but its first moment
still holds the gradients of earlier batches, so its parameters keep moving on stale momentum (and its second
moment decays), as if the series had been seen again. ``SparseAdam(params, grads, rows, n_rows, ...)`` is Adam
where ``rows()`` (called once per step) gives the indices of the rows present since the last step: for every
parameter whose first axis has ``n_rows`` rows, only those rows are updated (the moments and the parameter; the
bias correction uses the optimizer's step count, as TensorFlow's LazyAdam and PyTorch's SparseAdam do); other
parameters are updated densely. With every row present it is Adam exactly.
"""

from __future__ import annotations

import math

import numpy

from gatedrnn.backend import xp
from gatedrnn.errors import check_int
from gatedrnn.optim.adam import Adam


class SparseAdam(Adam):
    """Adam over the rows present in the batch (module docstring)."""

    def __init__(self, params, grads, rows, n_rows: int, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8):
        super().__init__(params, grads, lr=lr, betas=betas, eps=eps)
        self.rows, self.n_rows = rows, check_int("SparseAdam n_rows", n_rows)

    def step(self) -> None:
        self.t += 1
        present = xp.asarray(self.rows(), dtype=numpy.int64)
        for k, (p, g) in enumerate(zip(self.params, self.grads)):
            if p.ndim and p.shape[0] == self.n_rows:
                self.update_rows(k, p, g, present)
            else:
                self.update(k, p, g)

    def update_rows(self, k: int, p, g, rows) -> None:
        if not len(rows):
            return
        m, v = self.slots["m"][k], self.slots["v"][k]
        b1, b2 = self.beta1, self.beta2
        gr = g[rows]
        mr = m[rows] * b1 + gr * (1.0 - b1)
        vr = v[rows] * b2 + (gr * gr) * (1.0 - b2)
        m[rows], v[rows] = mr, vr
        denom = xp.sqrt(vr) * (1.0 / math.sqrt(1.0 - b2 ** self.t)) + self.eps
        p[rows] -= (mr / denom) * (self.lr / (1.0 - b1 ** self.t))
