"""The hybrid ES-RNN (Smyl 2020, winner of M4): per-series Holt-Winters smoothing learned jointly with a global
stack of recurrent layers, by the pinball loss through both.

For a batch of series (``x = (values (B, T), rows (B,))``, rows = each row's series among ``n_series``):

1. ``HoltWinters`` (layers/holt_winters.py) smooths every series with its own parameters: level l_t, season s_t
   (and a second season S_t).
2. ``esrnn_windows`` turns each series into windows of ``log(y / (l_e s S))`` (multiplicative; additive: the
   differences over the series' mean absolute value), one per step e with ``window`` values up to e, and the next
   ``horizon`` values in the same space as the targets.
3. The network reads the windows in order, a step per position, its state carried along the whole series:
   ``dilations`` is a tuple of blocks, each a tuple of dilated recurrent layers of ``cell`` (``layers/dilated.py``:
   ``((1, 4), (24, 168))`` is Smyl's hourly network); the output of every block after the first is added to its input
   (residual). A tanh layer and a linear one map the state to ``horizon * Q`` outputs, the horizon at every quantile.
4. ``forecast(values, rows)`` re-levels and re-seasonalises the outputs after the last step.

With ``es=False`` the smoothing is off: each window is divided by its own last value and nothing is
de-seasonalised (the ablation of the hybrid's one idea).

``forward(x, state=None) -> ((pred, target, level), None)`` is what ``ESRNNLoss`` (models/esrnn_loss.py) reads, and
``backward((dpred, dtarget, dlevel))`` runs everything back to the per-series parameters (named ``es.*``, for
their own learning rate: ``optim.param_groups``). The ``state`` is there for the ``Trainer`` and must be None:
every forward runs the whole series.

``season=None``: no season (the level alone). ``scales`` (additive form only; None: each row's mean absolute value
of the values given): a fixed scale per series, so that the space does not move as a series grows (what the
forecaster sets, for a stream that equals predict). ``models/esrnn_step.py`` runs the same model one value at a
time.
"""

from __future__ import annotations

import numpy

from gatedrnn.backend import resolve_dtype, xp
from gatedrnn.errors import UserError, check_choice, check_finite, check_float, check_int, check_rank, show
from gatedrnn.layers import CELLS, Linear, make_recurrent
from gatedrnn.layers.dilated import Dilated
from gatedrnn.layers.holt_winters import FORMS, HoltWinters, check_series
from gatedrnn.models.base import Model
from gatedrnn.models.esrnn_windows import Space, extend, windows, windows_backward

QUANTILES = (0.5, 0.1, 0.9, 0.025, 0.975)   # the Forecaster's: the median and the 80 % and 95 % intervals


def _check_dilations(dilations) -> tuple:
    ok = isinstance(dilations, (tuple, list)) and dilations and all(
        isinstance(b, (tuple, list)) and b and all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in b)
        for b in dilations)
    if not ok:
        raise UserError(f"dilations: expected blocks of positive integers such as ((1, 4), (24, 168)), got {show(dilations)}")
    return tuple(tuple(b) for b in dilations)


class ESRNN(Model):
    """The hybrid (module docstring). ``window`` defaults to ``season``; ``series_names`` name the series in errors."""

    def __init__(self, n_series: int, horizon: int, season: int | None, season2: int | None = None, *,
                 window: int | None = None, cell: str = "lstm", hidden_size: int = 40, dilations=((1, 4), (24, 168)),
                 quantiles=QUANTILES, seasonality: str = "multiplicative", es: bool = True, dtype=None,
                 seed: int | None = None, series_names=None):
        super().__init__()
        check_int("n_series", n_series)
        check_int("horizon", horizon)
        check_int("season", season, none_ok=True)
        window = (season or horizon) if window is None else check_int("window", window)
        check_int("hidden_size", hidden_size)
        check_choice("cell", cell, sorted(CELLS))
        check_choice("seasonality", seasonality, FORMS)
        dilations = _check_dilations(dilations)
        self.dtype = resolve_dtype(dtype)
        self.quantiles = tuple(float(q) for q in quantiles)
        if not self.quantiles or not all(0 < q < 1 for q in self.quantiles):
            raise UserError(f"quantiles: expected levels in (0, 1), got {show(quantiles)}")
        self.config = dict(n_series=n_series, horizon=horizon, season=season, season2=season2, window=window, cell=cell,
                           hidden_size=hidden_size, dilations=[list(b) for b in dilations],
                           quantiles=list(self.quantiles), seasonality=seasonality, es=bool(es))
        self.horizon, self.window, self.season, self.season2 = horizon, window, season, season2
        self.mult = seasonality == "multiplicative"
        self.names_of_series = list(range(n_series)) if series_names is None else list(series_names)
        self.n_series = n_series
        self.es = (self.add_child("es.", HoltWinters(n_series, season, season2, seasonality=seasonality,
                                                     dtype=self.dtype, series_names=series_names)) if es else None)
        rng = numpy.random.default_rng(seed)
        self.blocks, width = [], window
        for k, block in enumerate(dilations):
            layers = []
            for j, d in enumerate(block):
                stack = make_recurrent(cell, width, hidden_size, 1, dtype=self.dtype, seed=int(rng.integers(2**63)))
                layers.append(self.add_child(f"block{k}.layer{j}.", Dilated(stack, d)))
                width = hidden_size
            self.blocks.append(layers)
        self.hidden = self.add_child("hidden.", Linear(hidden_size, hidden_size, dtype=self.dtype,
                                                       seed=int(rng.integers(2**63))))
        self.head = self.add_child("head.", Linear(hidden_size, horizon * len(self.quantiles), dtype=self.dtype,
                                                   seed=int(rng.integers(2**63))))
        self.scales = None    # (n_series,) fixed additive scales, or None (module docstring)
        self.cache = None
        self._a = None        # the tanh layer's output, for its backward
        self._last = None     # (level, future seasons, space) after the last step of the last forward, for forecast

    # -- the series in the network's space ------------------------------------------------------------
    def _read(self, x):
        """``(values, rows)`` -> the values (B, T) on the backend and the rows, checked."""
        if not (isinstance(x, (tuple, list)) and len(x) == 2):
            raise UserError(f"ESRNN input: expected a pair (values (batch, time), series rows (batch,)), got {show(x)}")
        values, rows = x
        check_rank("ESRNN values", values, 2, "(batch, time)")
        check_float("ESRNN values", values)
        y = xp.asarray(values, dtype=self.dtype)
        B, T = y.shape
        rows = xp.arange(B) if rows is None else xp.asarray(rows)
        if rows.shape != (B,) or not numpy.issubdtype(rows.dtype, numpy.integer) or (
                B and (int(rows.min()) < 0 or int(rows.max()) >= self.n_series)):
            raise UserError(f"ESRNN rows: expected {B} series indices in [0, {self.n_series}), got {show(rows)}")
        if T < self.window:
            raise UserError(f"ESRNN values: expected at least window = {self.window} steps, got {T}")
        check_series(y, rows, self.names_of_series, self.mult)
        return y, rows

    def _smooth(self, y, rows):
        """-> (space, smoothing output or None, D (B, T), level (B, T), future seasons (B, horizon)), in the space."""
        T = y.shape[1]
        space = Space(y, self.mult, None if self.scales is None else xp.asarray(self.scales, dtype=self.dtype)[rows])
        Fy = space.forward(y)
        if self.es is None:
            return space, None, Fy, Fy, xp.zeros((y.shape[0], self.horizon), dtype=self.dtype)
        lev, s, S = self.es.forward(y, rows)
        Ls = space.forward(extend(s, T, self.season or 1, T + self.horizon))
        D, fut = Fy - Ls[:, :T], Ls[:, T:]
        if S is not None:
            LS = space.forward(extend(S, T, self.season2, T + self.horizon))
            D, fut = D - LS[:, :T], fut + LS[:, T:]
        return space, (lev, s, S), D, space.forward(lev), fut

    # -- the network ----------------------------------------------------------------------------------
    def _network(self, h):
        for k, block in enumerate(self.blocks):
            z = h
            for layer in block:
                z = layer.forward(z)
            h = z + h if k > 0 else z
        a = xp.tanh(self.hidden.forward(h))
        self._a = a
        out = self.head.forward(a)
        return out.reshape(out.shape[:2] + (self.horizon, len(self.quantiles)))

    def _network_backward(self, dout):
        da = self.head.backward(dout.reshape(dout.shape[:2] + (-1,)))
        dh = self.hidden.backward(da * (1.0 - self._a * self._a))
        for k in reversed(range(len(self.blocks))):
            dz = dh
            for layer in reversed(self.blocks[k]):
                dz = layer.backward(dz)
            dh = dz + dh if k > 0 else dz
        return dh

    def forward(self, x, state=None):
        if state is not None:
            raise UserError(f"ESRNN state: expected None (every forward runs the whole series), got {show(state)}")
        y, rows = self._read(x)
        space, smooth, D, Ll, fut = self._smooth(y, rows)
        inputs, target = windows(D, Ll, self.window, self.horizon)
        pred = self._network(inputs)
        self.cache = (space, smooth, y.shape[1])
        self._last = (Ll[:, -1], fut, space)
        return (pred, target, Ll), None

    def backward(self, dout, dstate=None):
        if self.cache is None:
            raise UserError("ESRNN.backward: expected a forward call first, got none")
        dpred, dtarget, dlevel = dout
        space, smooth, T = self.cache
        self.cache = None
        dx = self._network_backward(dpred)
        dD, dLl = windows_backward(dx, dtarget, self.window, self.horizon, T)
        if smooth is None:
            return None
        lev, s, S = smooth
        dlev = (dLl + dlevel) * space.grad(lev)
        ds = xp.zeros_like(s)
        ds[:, :T] = -dD * space.grad(s[:, :T])
        dS = None
        if S is not None:
            dS = xp.zeros_like(S)
            dS[:, :T] = -dD * space.grad(S[:, :T])
        self.es.backward(dlev, ds, dS)
        return None

    # -- forecasting ----------------------------------------------------------------------------------
    @property
    def levels(self) -> list:
        """The quantile levels of ``forecast``'s last axis, ascending."""
        return sorted(self.quantiles)

    def forecast(self, values, rows=None):
        """The next ``horizon`` values after each row of ``values`` (B, T): (B, horizon, Q) in the series' units, the
        quantiles ascending (``levels``) and sorted per step so that they never cross."""
        was = self.training
        self.eval()
        try:
            (pred, _, _), _ = self.forward((values, rows))
        finally:
            self.train(was)
            self.cache = None
        last, fut, space = self._last
        f = xp.sort(space.inverse(pred[:, -1] + last[:, None, None] + fut[:, :, None]), axis=2)
        check_finite("ESRNN forecast", f)
        return f
