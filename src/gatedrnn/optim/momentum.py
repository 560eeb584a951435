"""SGD with (heavy-ball) momentum, in PyTorch's form: ``v <- mu v + g``; ``p <- p - lr v``."""

from __future__ import annotations

from gatedrnn.backend import xp
from gatedrnn.errors import UserError
from gatedrnn.optim.base import Optimizer


class Momentum(Optimizer):
    """Polyak's heavy ball (Polyak 1964; Sutskever et al. 2013). With ``nesterov`` the step uses
    ``g + mu v`` (Nesterov's look-ahead in the form PyTorch uses).

    Written as ``v <- mu v + g`` rather than the book's ``v <- mu v - lr g`` so that a learning-rate schedule
    changes the step size at once instead of through the velocity.
    """

    slot_names = ("v",)

    def __init__(self, params, grads, lr: float = 0.01, momentum: float = 0.9, nesterov: bool = False):
        super().__init__(params, grads, lr)
        if not 0.0 <= momentum < 1.0:
            raise UserError(f"Momentum momentum: expected 0 <= momentum < 1, got {momentum}")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def hyper(self):
        return {"lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov}

    def update(self, k, p, g):
        v, tmp = self.slots["v"][k], self._tmp[k]
        v *= self.momentum
        v += g
        if self.nesterov:
            xp.multiply(v, self.momentum, out=tmp)
            tmp += g
        else:
            tmp[...] = v
        tmp *= self.lr
        p -= tmp
