"""AdaGrad (Duchi, Hazan & Singer 2011): ``h <- h + g^2``; ``p <- p - lr g / (sqrt(h) + eps)``."""

from __future__ import annotations

from gatedrnn.backend import xp
from gatedrnn.optim.base import Optimizer


class AdaGrad(Optimizer):
    """Per-parameter step sizes that shrink with the sum of squared gradients seen so far."""

    slot_names = ("h",)

    def __init__(self, params, grads, lr: float = 0.01, eps: float = 1e-8):
        super().__init__(params, grads, lr)
        self.eps = float(eps)

    def hyper(self):
        return {"lr": self.lr, "eps": self.eps}

    def update(self, k, p, g):
        h, tmp = self.slots["h"][k], self._tmp[k]
        xp.multiply(g, g, out=tmp)
        h += tmp
        xp.sqrt(h, out=tmp)
        tmp += self.eps
        xp.divide(g, tmp, out=tmp)
        tmp *= self.lr
        p -= tmp
