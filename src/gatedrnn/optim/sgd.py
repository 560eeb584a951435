"""Stochastic gradient descent: ``p <- p - lr * g``."""

from __future__ import annotations

from gatedrnn.backend import xp
from gatedrnn.optim.base import Optimizer


class SGD(Optimizer):
    """Plain SGD, the book's choice for the PTB language models (lr 20 with clipping 0.25)."""

    def update(self, k, p, g):
        tmp = self._tmp[k]
        xp.multiply(g, self.lr, out=tmp)
        p -= tmp
