"""Inverted dropout, optionally with one mask shared over time ("variational", Gal & Ghahramani 2016)."""

from __future__ import annotations

import numpy

from gatedrnn.backend import asarray
from gatedrnn.errors import UserError
from gatedrnn.layers.base import Layer


class Dropout(Layer):
    """Zero each unit with probability ``p`` in training and scale the rest by ``1 / (1 - p)``.

    Inverted scaling means evaluation is the identity. With ``variational=True`` and a (batch, time,
    features) input, one mask of shape (batch, 1, features) is drawn per call and reused at every time step.
    The random stream is the layer's own ``numpy.random.Generator`` (``seed``), saved with checkpoints.
    """

    def __init__(self, p: float = 0.5, *, variational: bool = False, seed=None):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise UserError(f"Dropout p: expected 0 <= p < 1, got {p}")
        self.p, self.variational = float(p), variational
        self.rng = numpy.random.default_rng(seed)
        self._mask = None

    def forward(self, x):
        if not self.training or self.p == 0.0:
            self._mask = None
            return x
        shape = (x.shape[0], 1) + tuple(x.shape[2:]) if self.variational and x.ndim >= 3 else x.shape
        keep = self.rng.random(shape, dtype=numpy.float32) >= self.p
        self._mask = asarray(keep, dtype=x.dtype) * x.dtype.type(1.0 / (1.0 - self.p))
        return x * self._mask

    def backward(self, dy):
        return dy if self._mask is None else dy * self._mask
