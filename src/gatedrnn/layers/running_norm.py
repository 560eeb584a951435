"""Causal per-sequence normalisation: each step scaled by the mean and std of its own sequence so far,
``z_t = (x_t - m_t) / sqrt(v_t + eps)`` with ``m_t`` and ``v_t`` the mean and (population) variance of
``x_1 .. x_t``, per channel. It needs no look-ahead, so a stream computes it one sample at a time from three
running numbers per channel (count, sum, sum of squares, kept in float64): the per-sequence offset and scale of a
sensor removed with constant memory. No parameters; the input gradient is not computed (it is the first thing a
model does to its data).
"""

from __future__ import annotations

import numpy

from gatedrnn.backend import xp
from gatedrnn.errors import check_rank
from gatedrnn.layers.base import Layer

EPS = 1e-3


class RunningNorm(Layer):
    """``forward(x) -> z`` over ``(batch, time, channels)``; ``step(x, sums) -> z`` one step (see ``zeros``)."""

    def __init__(self, eps: float = EPS):
        super().__init__()
        self.eps = eps

    def forward(self, x):
        check_rank("running norm input", x, 3, "(batch, time, channels)")
        x64 = x.astype(numpy.float64)
        n = xp.arange(1, x.shape[1] + 1, dtype=numpy.float64)[None, :, None]
        mean = xp.cumsum(x64, axis=1) / n
        var = xp.maximum(xp.cumsum(x64 * x64, axis=1) / n - mean * mean, 0.0)
        return ((x64 - mean) / xp.sqrt(var + self.eps)).astype(x.dtype)

    def zeros(self, batch: int, channels: int):
        """The running sums of a stream: (3, batch, channels) float64 (count, sum, sum of squares)."""
        return xp.zeros((3, batch, channels), dtype=numpy.float64)

    def step(self, x, sums):
        """One step: ``x`` (batch, channels) -> its normalised value (float64), ``sums`` updated in place."""
        x64 = xp.asarray(x, dtype=numpy.float64)
        sums[0] += 1.0
        sums[1] += x64
        sums[2] += x64 * x64
        mean = sums[1] / sums[0]
        var = xp.maximum(sums[2] / sums[0] - mean * mean, 0.0)
        return (x64 - mean) / xp.sqrt(var + self.eps)
