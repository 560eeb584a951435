"""``Forecaster(model="esrnn")``: the hybrid ES-RNN (Smyl 2020, winner of M4) inside the one forecasting engine.

    f = Forecaster(model="esrnn", horizon=48, season=24, seed=0).fit(df)    # unique_id, ds, y (or arrays)
    f.predict()                     # unique_id, ds, y_hat, lo-80, hi-80, lo-95, hi-95: as the window model
    f.save("runs/h"); Forecaster.load("runs/h").predict()
    backtest(df, h=48, n_windows=3, refit=False, model="esrnn", season=24)    # the fitted state runs further
    s = f.stream(); s.push(101.5, "H1")    # O(1) per value: level, seasons and the network's state

Per series, Holt-Winters smoothing (``layers/holt_winters.py``: level, a season of ``season`` steps and a second
one of ``season2``, multiplicative or ``seasonality="additive"``) is learned jointly with one global network of
dilated recurrent layers (``dilations``: blocks of dilations, residual between blocks; ``cell``, ``hidden_size``)
that reads windows of ``window`` de-seasonalised, de-levelled values along each whole series, its state carried,
and outputs the next ``horizon`` values at every quantile (``models/esrnn.py``). The point forecast is the median,
the intervals are the quantiles (sorted), as for the window model.

Settings (besides the window model's ``cell``, ``horizon``, ``season`` (None or 1: no season), ``window``
(default: the season, else the horizon), ``hidden_size`` (default 40), ``max_steps``, ``batch_size`` (series per
step), ``lr``, ``clip``, ``seed``, ``n_models``, ``quantiles``, ``time_limit``, ``time_clock``): ``season2`` ("auto":
168 for a season of 24, an hourly series' week; else none), ``dilations`` (default ``((1, 4), (season,
season2))``), ``penalty`` (Smyl's level-wiggliness penalty, default 100), ``es_lr`` (the per-series parameters'
rate, default 10 x ``lr``), ``seasonality``, ``length`` (each series is fitted on its last ``length`` values,
default the median length of the panel; the per-series parameters belong to that span, whose start stays the
series' start for everything after) and ``snapshots`` (K: every seed's network at the ends of its last K epochs,
each a member; the forecasts are the median over all members). ``num_layers`` must be 1 (the depth is
``dilations``); the window model's ``base``, ``strategy``, ``covariates`` and ``mask`` have no meaning here and are
refused unless left at their defaults (``covariates=[]`` ignores a DataFrame's extra columns).

``max_steps=None`` is chosen by the settings search of ``selection.py`` through its hooks (``network_trainer``,
``held_out_score``): the last ``horizon`` values of each series held out, early stopping on their scaled MAE with
the best weights put back, then the refit on the whole series for the best number of steps.

Every series needs at least ``window + horizon`` values (one line naming the one that has fewer); a value <= 0
under the multiplicative form and NaN anywhere are one line naming the series.
"""

from __future__ import annotations

from typing import Any

import numpy

from gatedrnn.errors import UserError, check_choice, check_int, check_positive
from gatedrnn.forecast.checks import check_steps
from gatedrnn.forecast.esrnn_training import DTYPE, by_length, fit_members, train_esrnn
from gatedrnn.forecast.features import Panel, to_panel
from gatedrnn.forecast.forecaster import Forecaster, interval_columns
from gatedrnn.forecast.selection import choose_settings, scaled_mae
from gatedrnn.forecast.settings import ForecasterSettings, settings_signature
from gatedrnn.layers.holt_winters import FORMS, check_series
from gatedrnn.models.esrnn_step import StepState, replay

SETTINGS = ("model", "cell", "horizon", "season", "season2", "window", "hidden_size", "dilations", "max_steps",
            "batch_size", "lr", "es_lr", "penalty", "clip", "seed", "n_models", "snapshots", "quantiles",
            "seasonality", "length", "time_limit", "time_clock")
HIDDEN, PENALTY, EPOCHS = 40, 100.0, 40        # Smyl's size; the penalty measured best; epochs without a search
# its own settings and their defaults (the rest: forecast.settings.ForecasterSettings, the window model's)
OWN = {"season2": "auto", "dilations": None, "penalty": PENALTY, "es_lr": None, "seasonality": "multiplicative",
       "length": None, "snapshots": 1}
CHUNK = 64                                      # series per forward when forecasting


def _dilations(dilations, season, season2) -> tuple:
    if dilations is None:
        return ((1, 4), (season, season2) if season2 else (season,)) if season else ((1, 2), (4, 8))
    return tuple(tuple(b) for b in dilations) if isinstance(dilations, (list, tuple)) else dilations


class ESRNNForecaster(Forecaster):
    """The hybrid ES-RNN as a ``Forecaster`` (module docstring)."""

    network_trainer = staticmethod(train_esrnn)      # selection.py's hook: the search trains this network

    __signature__ = settings_signature(ForecasterSettings, {"model": "esrnn", **OWN})

    def __init__(self, *, season2: Any = "auto", dilations: Any = None, penalty: float = PENALTY, es_lr: float | None = None,
                 seasonality: str = "multiplicative", length: int | None = None, snapshots: int = 1, **shared: Any) -> None:
        # the settings it shares with the window model: their one default and check (the window model's own options
        # refused unless at their defaults); then its own
        s = ForecasterSettings.from_dict({**shared, "model": "esrnn"})
        vars(self).update(s.shared())
        season = self.season
        if season2 == "auto":
            season2 = 7 * season if season == 24 else None
        check_int("season2", season2, 2, none_ok=True)
        if season2 is not None and (season is None or season2 <= season):
            raise UserError(f"season2: expected a second season longer than the first ({season}), got {season2}")
        self.auto = ("max_steps",) if s.max_steps is None else ()
        check_int("length", length, none_ok=True)
        check_int("snapshots", snapshots)
        check_positive("es_lr", es_lr, none_ok=True)
        check_positive("penalty", penalty, zero_ok=True)
        self.seasonality = check_choice("seasonality", seasonality, FORMS)
        self.season2, self.window = season2, s.window if s.window is not None else (season or self.horizon)
        self.hidden_size = HIDDEN if s.hidden_size is None else s.hidden_size
        self.dilations = _dilations(dilations, season, season2)
        self.max_steps, self.length, self.snapshots = s.max_steps or 0, length, snapshots
        self.es_lr, self.penalty = float(es_lr or 10 * self.lr), float(penalty)
        self.base, self.mask_choice, self.mask = "auto", None, False
        self.covariates, self.covariate_choice = [], []
        self.cov_mean = self.cov_std = numpy.zeros(0)
        self.selection: dict | None = None
        self.models: list = []
        self.panel: Panel | None = None
        self.history: list = []
        self.lengths: list = []          # each series' whole length; the panel holds the spans fitted
        self._final: numpy.ndarray | None = None

    def settings(self) -> dict:
        doc = {k: getattr(self, k) for k in SETTINGS}
        doc["dilations"] = [list(b) for b in self.dilations]
        doc["max_steps"] = self.max_steps or None
        if not self.models:
            doc.update({k: None for k in self.auto})
        return doc

    @property
    def output_horizon(self) -> int:
        return self.horizon

    def scales_of(self, values: list):
        """The additive form's fixed scale of each series (the mean absolute value of its span), None otherwise."""
        if self.seasonality == "multiplicative":
            return None
        return numpy.array([numpy.abs(v).mean() + 1e-8 for v in values])

    # -- fit --------------------------------------------------------------------------------------------
    def fit(self, y, echo=None) -> "ESRNNForecaster":
        """Fit every series of ``y`` (any layout of ``features.to_panel``) on its last ``length`` values."""
        panel = to_panel(y)
        if panel.kind == "frame" and self.covariate_choice is None:
            raise UserError("covariates: expected none with model='esrnn', got a DataFrame with extra columns")
        lengths = [v.size for v in panel.values]
        spans = self.spans_of(panel)
        self.check_spans(spans)
        self.models, self.history, self._final = [], [], None
        if self.auto:
            self._search(spans, echo or (lambda line: None))
        self.models, self.history = fit_members(self, spans, echo)
        self.panel, self.lengths = spans, lengths
        return self

    def spans_of(self, panel: Panel) -> Panel:
        """Each series' last ``length`` values (default: the median length of the panel), what the hybrid fits."""
        span = self.length or int(numpy.median([v.size for v in panel.values]))
        return Panel(panel.ids, [v[-span:] for v in panel.values], panel.kind, panel.last_ds, panel.freq)

    def check_spans(self, panel: Panel) -> None:
        need = self.window + self.horizon
        for name, v in zip(panel.ids, panel.values):
            if v.size < need:
                raise UserError(f"series {name}: expected at least window {self.window} + horizon {self.horizon} = "
                                f"{need} values for model='esrnn', got {v.size}")
            check_series(numpy.asarray(v, dtype=DTYPE)[None], numpy.zeros(1, dtype=numpy.int64), [name],
                         self.seasonality == "multiplicative")

    def _search(self, spans: Panel, echo) -> None:
        per_epoch = sum(-(-len(ix) // self.batch_size) for _, ix in by_length(spans.values))
        held = self.horizon * 2 if len(spans.values) < 4 else self.horizon
        if min(v.size for v in spans.values) < self.window + self.horizon + held:
            self.max_steps, self.auto = max(EPOCHS * per_epoch, 100), ()
            self.selection = {"chosen": {"max_steps": self.max_steps}, "why": "series too short to hold out the "
                              "horizon and train before it: the default steps used"}
            echo(f"settings: {self.selection['why']} ({self.max_steps} steps)")
            return
        choose_settings(self, spans, echo)

    # -- forecasts --------------------------------------------------------------------------------------
    def forecast_values(self, values: list, rows, models=None) -> numpy.ndarray:
        """(n, horizon, Q): the members' median forecast after the whole of each ``values[i]`` (series
        ``rows[i]`` of the networks), the quantiles sorted; finite or one line naming the series."""
        models = self.models if models is None else models
        out = numpy.empty((len(values), self.horizon, len(self.quantiles)))
        rows = numpy.asarray(rows, dtype=numpy.int64)
        for _, group in by_length(values):
            for ix in numpy.array_split(group, -(-len(group) // CHUNK)):   # a bounded memory per forward
                Y = numpy.stack([values[i] for i in ix])
                fc = [numpy.asarray(m.forecast(Y, rows[ix]), dtype=numpy.float64) for m in models]
                out[ix] = numpy.sort(numpy.median(numpy.stack(fc), axis=0), axis=2) if len(fc) > 1 else fc[0]
        bad = ~numpy.isfinite(out)
        if bad.any():
            i = int(numpy.argmax(bad.any(axis=(1, 2))))
            raise UserError(f"series {self.panel.ids[int(rows[i])] if self.panel else int(rows[i])}: expected a "
                            f"finite forecast, got {float(out[bad][0])!r} (the series overflowed once re-levelled)")
        return out

    def final_forecast(self) -> numpy.ndarray:
        """(n_series, horizon, Q) after the end of every fitted series (computed once)."""
        if not self.models or self.panel is None:
            raise UserError("Forecaster.predict: expected a fitted forecaster (fit or load first), got none")
        if self._final is None:
            self._final = self.forecast_values(self.panel.values, range(len(self.panel.values)))
        return self._final

    def predict(self, h: int | None = None, ids=None, X_df=None):
        """As ``Forecaster.predict`` (no covariates): the next ``h`` (at most ``horizon``) values of each series."""
        h = self.horizon if h is None else check_steps(h)
        if h > self.horizon:
            raise UserError(f"h: expected at most the horizon {self.horizon} the forecaster was trained for, got {h}")
        if X_df is not None:
            raise UserError(f"X_df: expected none (model='esrnn' reads no covariates), got {type(X_df).__name__}")
        fq = self.final_forecast()
        panel = self._select(ids)
        assert self.panel is not None
        fq = fq[[self.panel.ids.index(i) for i in panel.ids], :h]
        cols = {"y_hat": fq[:, :, self.quantiles.index(0.5)]}
        cols.update({name: fq[:, :, k] for name, k in interval_columns(self.quantiles)})
        if panel.pandas:
            return self._frame(panel, cols, h)
        return {k: v[0] if panel.kind == "array" else v for k, v in cols.items()}

    def quantile_forecast(self, tails, starts, covs=None, steps=None, ids=None):
        raise UserError("quantile_forecast: expected the window model, got model='esrnn' (it reads whole series: "
                        "forecast_values, forecast_after)")

    def forecast_after(self, y, ends, h: int) -> numpy.ndarray:
        """(n_series, h, Q) after the first ``ends[i]`` values of each series of ``y`` (the fitted series, any
        layout), without refitting: each fitted span runs further (or less far) on ``y``'s values."""
        if not self.models or self.panel is None:
            raise UserError("forecast_after: expected a fitted forecaster, got none")
        panel = to_panel(y)
        ends = [int(e) for e in numpy.asarray(ends).reshape(-1)]
        if len(ends) != len(panel.ids):
            raise UserError(f"ends: expected one cut-off per series ({len(panel.ids)}), got {len(ends)}")
        rows, values = [], []
        for uid, v, end in zip(panel.ids, panel.values, ends):
            r = self._row(uid)
            start = self.lengths[r] - self.panel.values[r].size
            n = min(self.lengths[r], v.size) - start
            if n < 0 or not numpy.allclose(v[start:start + n], self.panel.values[r][:n], rtol=1e-9, atol=0):
                raise UserError(f"series {uid}: expected the series the forecaster was fitted on (extended), got "
                                f"other values")
            if not start + self.window <= end <= v.size:
                raise UserError(f"series {uid}: cut-off: expected from {start + self.window} to {v.size}, got {end}")
            rows.append(r)
            values.append(v[start:end])
        self.check_spans(Panel(panel.ids, [numpy.concatenate([x, x[:self.horizon]]) for x in values], panel.kind))
        return self.forecast_values(values, rows)[:, :h]

    def _row(self, uid) -> int:
        assert self.panel is not None
        if uid not in self.panel.ids:
            raise UserError(f"unique_id: expected ids the forecaster was fitted on, got {uid!r} (not fitted)")
        return self.panel.ids.index(uid)

    def held_out_score(self, model, full: Panel, part: Panel, backs: list) -> float:
        """selection.py's hook: the scaled MAE of ``model``'s median forecasts of the held-out values."""
        h, mid, truth, fcs = self.horizon, self.quantiles.index(0.5), [], []
        for b in backs:
            seen = [v[:v.size - b - h] for v in full.values]
            fcs.append(self.forecast_values(seen, range(len(seen)), [model])[:, :, mid])
            truth += [v[v.size - b - h:v.size - b] for v in full.values]
        return scaled_mae(truth, numpy.concatenate(fcs), part.values * len(backs), self.season)

    # -- stream, save, load -----------------------------------------------------------------------------
    def step_states(self) -> list:
        """A ``StepState`` per member, run over every fitted span (what a stream starts from)."""
        assert self.panel is not None
        states = []
        for m in self.models:
            state = StepState(m, m.scales)
            replay(state, self.panel.values)
            states.append(state)
        return states

    def stream(self):
        from gatedrnn.forecast.esrnn_stream import ESRNNStream
        return ESRNNStream(self)

    def meta(self) -> dict:
        from gatedrnn.forecast.esrnn_saved import saved_doc
        return {"forecaster": saved_doc(self)}

    @classmethod
    def load(cls, path) -> "ESRNNForecaster":
        from gatedrnn.forecast.esrnn_saved import load_folder
        return load_folder(cls, path)
