"""The ES-RNN's view of a series: windows de-seasonalised and divided by the level, in a log (or scaled) space.

``Space`` is the map F into the network's space and back: ``log`` in the multiplicative form, ``v / c`` in the
additive one (c: the mean absolute value of each row, a constant of the data, or the ``scales`` given). With ``D_t = F(y_t) - F(s_t) -
F(S_t)`` (the de-seasonalised series) and ``W`` the window, position ``p`` (the window ending at step ``e = p + W -
1``) gives the network the inputs ``x[p, j] = D_{p+j} - F(l_e)`` (j < W) and, as its targets, the next ``horizon``
values in the same space, ``D_{e+1+k} - F(l_e)``. The forecast after step e is
``F^-1(out_k + F(l_e) + F(s_{e+1+k}) + F(S_{e+1+k}))``: re-seasonalised and re-levelled.

``windows(D, Ll, W, H) -> (x, target)`` and ``windows_backward(dx, dtarget, W, H, shape) -> (dD, dLl)`` are the two
directions; ``extend(season, m, length)`` repeats a season's last period past the end of what the smoothing gave.
"""

from __future__ import annotations

from gatedrnn.backend import xp


class Space:
    """F (module docstring) for the rows of ``y`` (batch, T): ``forward(v)``, its derivative ``grad(v)``, its inverse."""

    def __init__(self, y, multiplicative: bool, scales=None):
        self.mult = multiplicative
        if multiplicative:
            self.c = None
        else:
            self.c = xp.abs(y).mean(axis=1, keepdims=True) + 1e-8 if scales is None else scales.reshape(-1, 1)

    def forward(self, v):
        return xp.log(v) if self.mult else v / self._scale(v)

    def grad(self, v):
        """dF/dv."""
        return 1.0 / v if self.mult else 1.0 / self._scale(v)

    def inverse(self, u):
        return xp.exp(u) if self.mult else u * self._scale(u)

    def _scale(self, v):
        return self.c.reshape((-1,) + (1,) * (v.ndim - 1))


def windows(D, Ll, W: int, H: int):
    """``D`` (B, T) the de-seasonalised series, ``Ll`` (B, T) the level, both in the space -> the inputs (B, P, W)
    at the P = T - W + 1 positions and the targets (B, P - H, H) of the positions that have H values after them."""
    B, T = D.shape
    P = T - W + 1
    ref = Ll[:, W - 1:, None]
    x = xp.lib.stride_tricks.sliding_window_view(D, W, axis=1) - ref
    if P - H < 1:                                   # too short to have a target: forecasting only
        return xp.ascontiguousarray(x), xp.zeros((B, 0, H), dtype=D.dtype)
    future = xp.lib.stride_tricks.sliding_window_view(D[:, W:], H, axis=1)     # (B, P - H, H)
    return xp.ascontiguousarray(x), future - ref[:, :P - H]


def windows_backward(dx, dtarget, W: int, H: int, T: int):
    """The gradients of ``windows``' inputs: -> (dD, dLl), each (B, T)."""
    B, P = dx.shape[:2]
    Pt = dtarget.shape[1]
    dD = xp.zeros((B, T), dtype=dx.dtype)
    dLl = xp.zeros((B, T), dtype=dx.dtype)
    for j in range(W):
        dD[:, j:j + P] += dx[:, :, j]
    dLl[:, W - 1:] -= dx.sum(axis=2)
    for k in range(H):
        dD[:, W + k:W + k + Pt] += dtarget[:, :, k]
    dLl[:, W - 1:W - 1 + Pt] -= dtarget.sum(axis=2)
    return dD, dLl


def extend(season, T: int, m: int, length: int):
    """``season`` (B, T + m) -> (B, length): its values, then its last period ``season[:, T:T + m]`` repeated."""
    if season.shape[1] >= length:
        return season[:, :length]
    reps = -(-(length - T) // m)
    return xp.concatenate([season[:, :T], xp.tile(season[:, T:T + m], (1, reps))], axis=1)[:, :length]
