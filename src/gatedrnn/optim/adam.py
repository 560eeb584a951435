"""Adam (Kingma & Ba 2015), in PyTorch's form of the bias correction."""

from __future__ import annotations

import math

from gatedrnn.backend import xp
from gatedrnn.optim.base import Optimizer


class Adam(Optimizer):
    """``m <- b1 m + (1-b1) g``; ``v <- b2 v + (1-b2) g^2``;
    ``p <- p - lr / (1-b1^t) * m / (sqrt(v / (1-b2^t)) + eps)``."""

    slot_names = ("m", "v")

    def __init__(self, params, grads, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8):
        super().__init__(params, grads, lr)
        self.beta1, self.beta2 = (float(b) for b in betas)
        self.eps = float(eps)

    def hyper(self):
        return {"lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}

    def update(self, k, p, g):
        m, v, tmp = self.slots["m"][k], self.slots["v"][k], self._tmp[k]
        b1, b2 = self.beta1, self.beta2
        m *= b1
        xp.multiply(g, 1.0 - b1, out=tmp)
        m += tmp
        v *= b2
        xp.multiply(g, g, out=tmp)
        tmp *= 1.0 - b2
        v += tmp
        xp.sqrt(v, out=tmp)
        tmp *= 1.0 / math.sqrt(1.0 - b2 ** self.t)
        tmp += self.eps
        xp.divide(m, tmp, out=tmp)
        tmp *= self.lr / (1.0 - b1 ** self.t)
        p -= tmp
