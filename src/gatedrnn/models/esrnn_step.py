"""The ES-RNN (``models/esrnn.py``) one value at a time: what a stream of new values, a backtest that moves a fitted
model forward and an exporter need, in O(1) time and memory per value.

``StepState(model)`` holds, for each of the model's ``n_series`` series, everything the model needs to go on
after the values it has seen:

* the step count t and the level l_{t-1};
* the seasons as rings: ``s`` (m slots, slot j % m holding s_j: after t values, s_t .. s_{t+m-1}), ``S`` (M slots)
  for a second season;
* the last ``window`` values of D (the de-seasonalised series in the network's space), slot j % W holding D_j;
* per dilated layer of the network (dilation d) the state of each of its d interleaved sequences (h, and c for a
  cell with a memory), sequence p % d stepping at window position p;
* the network's output after the last position, and the level there in the space.

``push(rows, y)`` moves the series ``rows`` forward by one value each (``y`` (B,)): the Holt-Winters updates of
``layers/holt_winters.py``, then, from the ``window``-th value on, one step of every layer; ``forecast(rows)`` is
(B, horizon, Q) in the series' units, the quantiles sorted, after each row's last value. The arithmetic is the
batch forward's, operation for operation (the per-step matrix products aside), so after the same values
``forecast`` equals ``ESRNN.forecast`` to round-off (tests/forecast/test_esrnn_forecaster.py). The values are not checked
here (``ESRNNStream`` checks them first).
"""

from __future__ import annotations

import numpy

from gatedrnn.backend import sigmoid, xp
from gatedrnn.errors import UserError


class StepState:
    """The per-series state of ``model`` (module docstring), at the start of every series. ``scales`` (n_series,):
    the fixed additive scales (``ESRNN.scales``), None in the multiplicative form."""

    def __init__(self, model, scales=None):
        es = model.es
        if es is None:
            raise UserError("StepState: expected an ES-RNN with its smoothing (es=True), got es=False")
        n, dt = model.n_series, model.dtype
        self.model, self.mult = model, model.mult
        self.m, self.M, self.W = model.season or 1, model.season2 or 1, model.window
        neutral = 1.0 if self.mult else 0.0
        self.a = sigmoid(es.alpha_raw).astype(dt)
        self.g = sigmoid(es.gamma_raw).astype(dt) if model.season else xp.zeros(n, dtype=dt)
        self.g2 = sigmoid(es.gamma2_raw).astype(dt) if model.season2 else None
        self.s = xp.full((n, self.m), neutral, dtype=dt)
        if model.season:
            self.s[:] = es._initial(es.init_raw)
        self.S = xp.full((n, self.M), neutral, dtype=dt)
        if model.season2:
            self.S[:] = es._initial(es.init2_raw)
        self.c = None if self.mult else xp.asarray(scales, dtype=dt)
        self.t = xp.zeros(n, dtype=numpy.int64)
        self.level = xp.zeros(n, dtype=dt)
        self.D = xp.zeros((n, self.W), dtype=dt)
        self.layers = [layer for block in model.blocks for layer in block]
        H = model.config["hidden_size"]
        self.h = [xp.zeros((layer.dilation, n, H), dtype=dt) for layer in self.layers]
        cell = self.layers[0].stack.layer_class.has_cell
        self.cs = [xp.zeros((layer.dilation, n, H), dtype=dt) for layer in self.layers] if cell else None
        self.out = xp.zeros((n, model.horizon, len(model.quantiles)), dtype=dt)
        self.last = xp.zeros(n, dtype=dt)

    def _F(self, v, rows):
        """The space (``esrnn_windows.Space``): log, or the value over the row's scale."""
        if self.mult:
            return xp.log(v)
        c = self.c[rows]
        return v / c.reshape((-1,) + (1,) * (v.ndim - 1))

    def _inverse(self, u, rows):
        if self.mult:
            return xp.exp(u)
        return u * self.c[rows].reshape((-1,) + (1,) * (u.ndim - 1))

    def _strip(self, y, a, b):
        return y / (a * b) if self.mult else y - a - b

    def push(self, rows, y) -> None:
        """One new value ``y[i]`` for each series ``rows[i]`` (distinct rows)."""
        rows = xp.asarray(rows, dtype=numpy.int64)
        y = xp.asarray(y, dtype=self.level.dtype)
        t = self.t[rows]
        js, jS = t % self.m, t % self.M
        st, St = self.s[rows, js], self.S[rows, jS]
        w = self._strip(y, st, St)
        a, g = self.a[rows], self.g[rows]
        lev = xp.where(t == 0, w, a * w + (1.0 - a) * self.level[rows])
        self.s[rows, js] = g * self._strip(y, lev, St) + (1.0 - g) * st
        D = self._F(y, rows) - self._F(st, rows)
        if self.g2 is not None:
            g2 = self.g2[rows]
            self.S[rows, jS] = g2 * self._strip(y, lev, st) + (1.0 - g2) * St
            D = D - self._F(St, rows)
        self.level[rows] = lev
        self.D[rows, t % self.W] = D
        self.t[rows] = t + 1
        ready = t >= self.W - 1
        if ready.any():
            self._network(rows[ready], t[ready] - self.W + 1)

    def _network(self, rows, p) -> None:
        """One step of the network at window positions ``p`` of the series ``rows``."""
        W, model = self.W, self.model
        Ll = self._F(self.level[rows], rows)
        x = self.D[rows[:, None], (p[:, None] + xp.arange(W)) % W] - Ll[:, None]
        h = x
        k = 0
        for b, block in enumerate(model.blocks):
            z = h
            for layer in block:
                z = self._layer(k, layer, z, rows, p % layer.dilation)
                k += 1
            h = z + h if b > 0 else z
        a = xp.tanh(model.hidden.forward(h))
        out = model.head.forward(a)
        self.out[rows] = out.reshape(len(rows), model.horizon, len(model.quantiles))
        self.last[rows] = Ll

    def _layer(self, k: int, layer, z, rows, slot):
        h0 = self.h[k][slot, rows]
        state = h0[None] if self.cs is None else (h0[None], self.cs[k][slot, rows][None])
        y, final = layer.stack.forward(z[:, None, :], state)
        if self.cs is None:
            self.h[k][slot, rows] = final[0]
        else:
            self.h[k][slot, rows] = final[0][0]
            self.cs[k][slot, rows] = final[1][0]
        return y[:, 0]

    def forecast(self, rows):
        """(B, horizon, Q): the forecasts after each row's last value, the quantiles sorted."""
        rows = xp.asarray(rows, dtype=numpy.int64)
        if (self.t[rows] < self.W).any():
            raise UserError(f"ES-RNN forecast: expected at least window = {self.W} values of every series, got "
                            f"{int(self.t[rows].min())}")
        H = self.model.horizon
        ahead = self.t[rows][:, None] + xp.arange(H)
        fut = self._F(self.s[rows[:, None], ahead % self.m], rows)
        if self.g2 is not None:
            fut = fut + self._F(self.S[rows[:, None], ahead % self.M], rows)
        u = self.out[rows] + self.last[rows][:, None, None] + fut[:, :, None]
        with numpy.errstate(over="ignore", invalid="ignore"):
            return xp.sort(self._inverse(u, rows), axis=2)

    def copy_rows(self, rows) -> dict:
        """A copy of the state of ``rows`` (``restore`` puts it back): what a refused value must leave unchanged."""
        rows = xp.asarray(rows, dtype=numpy.int64)
        doc = {"t": self.t[rows].copy(), "level": self.level[rows].copy(), "s": self.s[rows].copy(),
               "S": self.S[rows].copy(), "D": self.D[rows].copy(), "out": self.out[rows].copy(),
               "last": self.last[rows].copy(), "h": [h[:, rows].copy() for h in self.h]}
        doc["c"] = None if self.cs is None else [c[:, rows].copy() for c in self.cs]
        return doc

    def restore(self, rows, doc: dict) -> None:
        rows = xp.asarray(rows, dtype=numpy.int64)
        for key in ("t", "level", "s", "S", "D", "out", "last"):
            getattr(self, key)[rows] = doc[key]
        for h, saved in zip(self.h, doc["h"]):
            h[:, rows] = saved
        if self.cs is not None:
            for c, saved in zip(self.cs, doc["c"]):
                c[:, rows] = saved


def replay(state: StepState, values: list, rows=None) -> None:
    """Push every value of ``values[i]`` (1-D arrays) into series ``rows[i]`` (default: i), the series of one length
    side by side."""
    rows = list(range(len(values))) if rows is None else list(rows)
    by_length: dict = {}
    for r, v in zip(rows, values):
        by_length.setdefault(len(v), []).append((r, v))
    for items in by_length.values():
        r = xp.array([i for i, _ in items])
        Y = xp.stack([v for _, v in items])
        for t in range(Y.shape[1]):
            state.push(r, Y[:, t])
