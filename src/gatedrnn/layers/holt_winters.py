"""Holt-Winters exponential smoothing as a layer with per-series parameters (the "ES" of Smyl's ES-RNN).

For series i with values y_0 .. y_{T-1}, a level l_t and one or two seasonal components s (period ``season``) and
S (period ``season2``, optional; absent means S = 1 in the multiplicative form and S = 0 in the additive one).
Multiplicative form, with ``strip(y, a, b) = y / (a b)``::

    l_0     = strip(y_0, s_0, S_0)
    l_t     = alpha strip(y_t, s_t, S_t) + (1 - alpha) l_{t-1}          t >= 1
    s_{t+m} = gamma strip(y_t, l_t, S_t) + (1 - gamma) s_t              t >= 0
    S_{t+M} = gamma2 strip(y_t, l_t, s_t) + (1 - gamma2) S_t            t >= 0

The additive form is the same with ``strip(y, a, b) = y - a - b``. The parameters of each series are the logits of
``alpha``, ``gamma`` (and ``gamma2``), squashed by a sigmoid, and its initial seasonal indices s_0 .. s_{m-1}
(S_0 .. S_{M-1}): their logarithms in the multiplicative form (``s = exp(raw)``, always positive), the offsets
themselves in the additive one.

``season=None``: no season (the level alone; ``season`` then holds the neutral index, 1 or 0, and gamma and the
initial indices are no parameters; a second season needs the first).

``forward(y, rows=None) -> (level, season, season2)``: ``y`` (batch, T) positive values (multiplicative) or any
finite ones (additive); ``rows`` (batch,) the series of each row (default: all ``n_series`` in order). ``level`` is
(batch, T), ``season`` (batch, T + m): s_0 .. s_{T+m-1}, the last m being the indices for the next m steps;
``season2`` likewise (batch, T + M), or None without a second season. ``backward(dlevel, dseason, dseason2=None)``
runs the recursion backwards (the adjoint of each update, last step first) and accumulates the gradients of the
rows' parameters; it returns None (the values are data, not learned).
"""

from __future__ import annotations

import numpy

from gatedrnn.backend import resolve_dtype, sigmoid, to_numpy, xp
from gatedrnn.errors import UserError, check_choice, check_float, check_int, check_rank, show
from gatedrnn.layers.base import Layer

FORMS = ("multiplicative", "additive")


def _logit(p: float) -> float:
    if not 0.0 < p < 1.0:
        raise UserError(f"HoltWinters smoothing: expected a number in (0, 1), got {show(p)}")
    return float(numpy.log(p / (1.0 - p)))


def check_series(y, rows, names, multiplicative: bool) -> None:
    """NaN or Inf anywhere, or (``multiplicative``) a value <= 0: one line naming the series (``names[rows[r]]``)
    and the step."""
    finite = to_numpy(xp.isfinite(y))
    if not finite.all():
        r, t = (int(v) for v in numpy.argwhere(~finite)[0])
        raise UserError(f"series {show(names[int(to_numpy(rows)[r])])}: expected finite values, got "
                        f"{float(y[r, t])} at step {t}")
    if not multiplicative:
        return
    bad = to_numpy(y <= 0)
    if bad.any():
        r, t = (int(v) for v in numpy.argwhere(bad)[0])
        raise UserError(f"series {show(names[int(to_numpy(rows)[r])])}: expected positive values for multiplicative "
                        f"seasonality (use seasonality=\"additive\" for zeros or negatives), got {float(y[r, t]):g} "
                        f"at step {t}")


class HoltWinters(Layer):
    """Per-series Holt-Winters smoothing (module docstring). ``alpha``, ``gamma`` are the starting smoothing
    coefficients of every series; ``series_names`` (one per series) name a series in error messages."""

    def __init__(self, n_series: int, season: int | None, season2: int | None = None, *,
                 seasonality: str = "multiplicative", alpha: float = 0.5, gamma: float = 0.5, dtype=numpy.float64,
                 series_names=None):
        super().__init__()
        check_int("HoltWinters n_series", n_series)
        check_int("HoltWinters season", season, none_ok=True)
        check_int("HoltWinters season2", season2, none_ok=True)
        if season is None and season2 is not None:
            raise UserError(f"HoltWinters season2: expected none without a first season, got {season2}")
        self.form = check_choice("seasonality", seasonality, FORMS)
        self.n_series, self.season, self.season2 = n_series, season, season2
        self.dtype = resolve_dtype(dtype)
        names = list(range(n_series)) if series_names is None else list(series_names)
        if len(names) != n_series:
            raise UserError(f"HoltWinters series_names: expected {n_series} names, got {len(names)}")
        self.series_names = names
        self.alpha_raw = self.add_param("alpha", xp.full(n_series, _logit(alpha), dtype=self.dtype))
        if season is not None:
            self.gamma_raw = self.add_param("gamma", xp.full(n_series, _logit(gamma), dtype=self.dtype))
            self.init_raw = self.add_param("season_init", xp.zeros((n_series, season), dtype=self.dtype))
        if season2 is not None:
            self.gamma2_raw = self.add_param("gamma2", xp.full(n_series, _logit(gamma), dtype=self.dtype))
            self.init2_raw = self.add_param("season2_init", xp.zeros((n_series, season2), dtype=self.dtype))
        self.cache = None
        self.touched = numpy.zeros(n_series, dtype=bool)    # rows with a gradient since ``take_rows`` (sparse Adam)

    def take_rows(self):
        """The rows whose parameters got a gradient since the last call (``optim.sparse``), then none."""
        rows = numpy.flatnonzero(self.touched)
        self.touched[:] = False
        return rows

    # -- the parameters as the recursion reads them --------------------------------------------------
    def _initial(self, raw):
        return xp.exp(raw) if self.form == "multiplicative" else raw.copy()

    def _strip(self, y, a, b):
        """``strip(y, a, b)`` and its partial derivatives in ``a`` and ``b``."""
        if self.form == "multiplicative":
            u = y / (a * b)
            return u, -u / a, -u / b
        return y - a - b, -1.0, -1.0

    def check_values(self, y, rows) -> None:
        """``check_series`` with this layer's form and series names."""
        check_series(y, rows, self.series_names, self.form == "multiplicative")

    def _rows(self, rows, B):
        if rows is None:
            if B != self.n_series:
                raise UserError(f"HoltWinters input: expected {self.n_series} rows (one per series) without rows=, "
                                f"got {B}")
            return xp.arange(B)
        r = xp.asarray(rows)
        if r.shape != (B,) or not numpy.issubdtype(r.dtype, numpy.integer):
            raise UserError(f"HoltWinters rows: expected {B} integer series indices, got {show(to_numpy(r))}")
        if B and (int(r.min()) < 0 or int(r.max()) >= self.n_series):
            raise UserError(f"HoltWinters rows: expected indices in [0, {self.n_series}), got "
                            f"[{int(r.min())}, {int(r.max())}]")
        return r

    def forward(self, y, rows=None):
        check_rank("HoltWinters input", y, 2, "(batch, time)")
        check_float("HoltWinters input", y)
        y = xp.asarray(y, dtype=self.dtype)
        B, T = y.shape
        rows = self._rows(rows, B)
        self.check_values(y, rows)
        m, M, two = self.season or 1, self.season2 or 1, self.season2 is not None
        neutral = 1.0 if self.form == "multiplicative" else 0.0
        a = sigmoid(self.alpha_raw[rows])
        g = sigmoid(self.gamma_raw[rows]) if self.season else xp.zeros(B, dtype=self.dtype)
        g2 = sigmoid(self.gamma2_raw[rows]) if two else None
        lev = xp.empty((B, T), dtype=self.dtype)
        s = xp.full((B, T + m), neutral, dtype=self.dtype)
        if self.season:
            s[:, :m] = self._initial(self.init_raw[rows])
        S = xp.full((B, T + M), neutral, dtype=self.dtype)
        if two:
            S[:, :M] = self._initial(self.init2_raw[rows])
        for t in range(T):
            yt, st, St = y[:, t], s[:, t], S[:, t]
            w = self._strip(yt, st, St)[0]
            lev[:, t] = w if t == 0 else a * w + (1.0 - a) * lev[:, t - 1]
            s[:, t + m] = g * self._strip(yt, lev[:, t], St)[0] + (1.0 - g) * st
            if two:
                S[:, t + M] = g2 * self._strip(yt, lev[:, t], st)[0] + (1.0 - g2) * St
        self.cache = (y, rows, a, g, g2, lev, s, S)
        return lev, s, (S if two else None)

    def backward(self, dlevel, dseason, dseason2=None):
        if self.cache is None:
            raise UserError("HoltWinters.backward: expected a forward call first, got none")
        y, rows, a, g, g2, lev, s, S = self.cache
        self.cache = None
        B, T = y.shape
        m, M, two = self.season or 1, self.season2 or 1, self.season2 is not None
        dl = self._grad_or_zeros(dlevel, lev.shape)
        ds = self._grad_or_zeros(dseason, s.shape)
        dS = self._grad_or_zeros(dseason2 if two else None, S.shape)
        da, dg, dg2 = (xp.zeros(B, dtype=self.dtype) for _ in range(3))
        for t in range(T - 1, -1, -1):
            yt, lt, st, St = y[:, t], lev[:, t], s[:, t], S[:, t]
            if two:                                   # S_{t+M} = g2 strip(y_t, l_t, s_t) + (1 - g2) S_t
                v, dv_dl, dv_ds = self._strip(yt, lt, st)
                G = dS[:, t + M]
                dg2 += G * (v - St)
                dS[:, t] += G * (1.0 - g2)
                dl[:, t] += G * g2 * dv_dl
                ds[:, t] += G * g2 * dv_ds
            u, du_dl, du_dS = self._strip(yt, lt, St)  # s_{t+m} = g strip(y_t, l_t, S_t) + (1 - g) s_t
            G = ds[:, t + m]
            dg += G * (u - st)
            ds[:, t] += G * (1.0 - g)
            dl[:, t] += G * g * du_dl
            dS[:, t] += G * g * du_dS
            w, dw_ds, dw_dS = self._strip(yt, st, St)  # l_t = a w + (1 - a) l_{t-1}; l_0 = w
            G = dl[:, t]
            if t > 0:
                da += G * (w - lev[:, t - 1])
                dl[:, t - 1] += G * (1.0 - a)
                G = G * a
            ds[:, t] += G * dw_ds
            dS[:, t] += G * dw_dS
        self._accumulate(rows, a, g, g2, da, dg, dg2, ds[:, :m], dS[:, :M] if two else None, s[:, :m], S[:, :M])
        return None

    def _grad_or_zeros(self, d, shape):
        if d is None:
            return xp.zeros(shape, dtype=self.dtype)
        if tuple(d.shape) != tuple(shape):
            raise UserError(f"HoltWinters.backward: expected a gradient of shape {tuple(shape)}, got {tuple(d.shape)}")
        return xp.array(d, dtype=self.dtype, copy=True)

    def _accumulate(self, rows, a, g, g2, da, dg, dg2, ds0, dS0, s0, S0):
        """Chain the gradients of alpha, gamma(2) and the initial indices to the raw parameters, per row."""
        mult = self.form == "multiplicative"
        self.touched[numpy.asarray(to_numpy(rows))] = True
        grads = iter(self.grads)                     # alpha, (gamma, season_init), (gamma2, season2_init)
        xp.add.at(next(grads), rows, da * a * (1.0 - a))
        if self.season:
            xp.add.at(next(grads), rows, dg * g * (1.0 - g))
            xp.add.at(next(grads), rows, ds0 * s0 if mult else ds0)
        if dS0 is not None:
            xp.add.at(next(grads), rows, dg2 * g2 * (1.0 - g2))
            xp.add.at(next(grads), rows, dS0 * S0 if mult else dS0)

    # -- a starting point from the data --------------------------------------------------------------
    def initialise(self, y, rows=None, cycles: int = 4) -> None:
        """Set the initial seasonal indices of ``rows`` from the start of ``y`` (batch, T): each position's mean ratio
        to (multiplicative) or difference from (additive) its period's mean over the first ``cycles`` periods; the
        second season's (when a multiple of the first) likewise over its first periods, of what the first leaves."""
        y = xp.asarray(y, dtype=self.dtype)
        rows = self._rows(rows, y.shape[0])
        self.check_values(y, rows)
        check_int("cycles", cycles)
        if self.season is None:
            return
        mult, m, B = self.form == "multiplicative", self.season, y.shape[0]
        k = min(cycles, y.shape[1] // m)
        if k < 1:
            return
        c = y[:, :k * m].reshape(B, k, m)
        mean = c.mean(axis=2, keepdims=True)
        s0 = (c / mean).mean(axis=1) if mult else (c - mean).mean(axis=1)
        self.init_raw[rows] = xp.log(s0) if mult else s0
        M = self.season2
        if M is None or M % m or y.shape[1] < M:
            return
        k2 = min(cycles, y.shape[1] // M)
        c2 = y[:, :k2 * M].reshape(B, k2, M)
        mean2 = c2.mean(axis=2, keepdims=True)
        daily = xp.tile(s0, (1, M // m))[:, None]
        S0 = (c2 / (mean2 * daily) if mult else c2 - mean2 - daily).mean(axis=1)
        self.init2_raw[rows] = xp.log(S0) if mult else S0
