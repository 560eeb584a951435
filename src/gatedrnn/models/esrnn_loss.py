"""The ES-RNN's training loss: the pinball loss of its quantile outputs against its own normalised targets, plus
Smyl's level-wiggliness penalty.

The model (``models/esrnn.py``) hands over ``(pred, target, level)``: ``pred`` (B, P, H, Q) the outputs at every
position, ``target`` (B, Pt, H) the normalised truth of the first Pt positions (those with H values after them),
``level`` (B, T) the level in the network's space (its logarithm in the multiplicative form). The loss is

    mean over (b, p < Pt, k, q) of  rho_q(target - pred),   rho_q(u) = q u if u > 0 else (q - 1) u
    + penalty * mean over (b, t) of (d_{t+1} - d_t)^2,      d_t = level_{t+1} - level_t

(the second term keeps the level from wiggling, so that the seasonality and the network explain the series: Smyl
2020, "A hybrid method of exponential smoothing and recurrent neural networks for time series forecasting").
``backward()`` returns ``(dpred, dtarget, dlevel)``: the targets depend on the smoothing, so they get a gradient.
The ``t`` of ``forward(out, t)`` is the batch's values, which the model has already turned into targets; it is
not read (it is there for the ``Trainer``'s signature).
"""

from __future__ import annotations

import numpy

from gatedrnn.backend import xp
from gatedrnn.errors import UserError, check_nonnegative, show


class ESRNNLoss:
    """Pinball at ``quantiles`` plus ``penalty`` times the level's wiggliness (module docstring)."""

    def __init__(self, quantiles, penalty: float = 0.0):
        self.q = numpy.asarray(quantiles, dtype=numpy.float64)
        if self.q.ndim != 1 or not self.q.size or not ((self.q > 0) & (self.q < 1)).all():
            raise UserError(f"ESRNNLoss quantiles: expected levels in (0, 1), got {show(quantiles)}")
        self.penalty = float(check_nonnegative("level penalty", penalty))
        self._grads: tuple | None = None

    def __call__(self, out, t=None) -> float:
        return self.forward(out, t)

    def forward(self, out, t=None) -> float:
        pred, target, level = out
        B, P, H, Q = pred.shape
        Pt = target.shape[1]
        if Q != self.q.size or tuple(target.shape) != (B, Pt, H) or Pt > P or Pt < 1:
            raise UserError(f"ESRNNLoss: expected targets (batch, <= {P}, {H}) for {self.q.size} quantiles, got "
                            f"targets {tuple(target.shape)} and {Q} quantile outputs")
        q = xp.asarray(self.q, dtype=pred.dtype)
        u = target[..., None] - pred[:, :Pt]
        above = u > 0
        n = u.size
        loss = float(xp.where(above, q * u, (q - 1) * u).astype(numpy.float64).sum() / n)
        dpred = xp.zeros_like(pred)
        dpred[:, :Pt] = xp.where(above, -q, 1 - q) / n
        dtarget = -dpred[:, :Pt].sum(axis=3)
        dlevel = xp.zeros_like(level)
        if self.penalty and level.shape[1] >= 3:
            d2 = xp.diff(level, n=2, axis=1)
            loss += self.penalty * float((d2.astype(numpy.float64) ** 2).mean())
            g2 = d2 * (2.0 * self.penalty / d2.size)       # d/d d2
            dlevel[:, 2:] += g2                           # d2_t = l_{t+2} - 2 l_{t+1} + l_t
            dlevel[:, 1:-1] -= 2.0 * g2
            dlevel[:, :-2] += g2
        self._grads = (dpred, dtarget, dlevel)
        return loss

    def backward(self):
        if self._grads is None:
            raise UserError("ESRNNLoss.backward: expected a forward call first, got none")
        grads, self._grads = self._grads, None
        return grads
