"""RMSprop (Tieleman & Hinton 2012): ``h <- rho h + (1 - rho) g^2``; ``p <- p - lr g / (sqrt(h) + eps)``."""

from __future__ import annotations

from gatedrnn.backend import xp
from gatedrnn.errors import UserError
from gatedrnn.optim.base import Optimizer


class RMSprop(Optimizer):
    """AdaGrad with a moving average in place of the sum, so the step size does not decay to zero."""

    slot_names = ("h",)

    def __init__(self, params, grads, lr: float = 0.01, rho: float = 0.99, eps: float = 1e-8):
        super().__init__(params, grads, lr)
        if not 0.0 <= rho < 1.0:
            raise UserError(f"RMSprop rho: expected 0 <= rho < 1, got {rho}")
        self.rho, self.eps = float(rho), float(eps)

    def hyper(self):
        return {"lr": self.lr, "rho": self.rho, "eps": self.eps}

    def update(self, k, p, g):
        h, tmp = self.slots["h"][k], self._tmp[k]
        h *= self.rho
        xp.multiply(g, g, out=tmp)
        tmp *= 1.0 - self.rho
        h += tmp
        xp.sqrt(h, out=tmp)
        tmp += self.eps
        xp.divide(g, tmp, out=tmp)
        tmp *= self.lr
        p -= tmp
