"""``Forecaster``: one global recurrent model over one or many series, with fit / predict / save / load.

    from gatedrnn.forecast import Forecaster
    f = Forecaster(cell="lstm", horizon=48, season=24, window=96, max_steps=600, seed=0).fit(df)  # unique_id, ds, y
    f.predict()            # DataFrame unique_id, ds, y_hat, lo-80, hi-80, lo-95, hi-95 (arrays for array input)
    f.predict(X_df=future) # with covariates: future = DataFrame unique_id, ds, <covariates> over the horizon
    f.save("runs/m4");  Forecaster.load("runs/m4").predict()

Training windows are drawn from every series into one training set (``features.WindowBatches``); each window is
normalised by its own level and scale, and the position in the season is an input (``features.inputs``). The
network (a many-to-one ``SequenceRegressor``) reads the window and outputs the next ``horizon`` values directly, at
every quantile level (0.5 and ``quantiles``), trained by the ``Trainer`` with the pinball loss. The outputs are
added to a base (``base="auto"``: the window's seasonal naive forecast when a season is given, else its last value;
``"none"``: 0), so the network learns the correction to it (a skip connection, in the spirit of ES-RNN's
de-seasonalisation). The point forecast
``y_hat`` is the median output; the intervals are the quantile outputs (lo-80/hi-80: levels 0.1/0.9, lo-95/hi-95:
0.025/0.975), sorted per step so that they never cross. With ``n_models=K`` K networks are trained with seeds
``seed .. seed + K - 1`` and their outputs combined by the median.

``strategy="direct"`` (the default) is the above. ``strategy="recursive"`` trains a one-step network (one output
per quantile, the base and normalisation as for direct with horizon 1) and applies it ``h`` times (any ``h``),
feeding its median back as the newest value (the window slides by one); its intervals are the one-step quantiles
along the median path, which understate the uncertainty of the later steps.

Covariates (direct only): exogenous variables known in advance, as extra numeric columns of a long DataFrame
(``unique_id, ds, y, x1, ...``). ``covariates=None`` (the default) uses every column other than ``unique_id``,
``ds``, ``y``; a list uses those columns (``[]``: none); after ``fit``, ``self.covariates`` is the list used (empty
when none). Each covariate is normalised by its mean and standard deviation over all training values (kept in the
saved meta), and the network reads the window followed by the ``horizon`` future steps (target input 0 and a 0/1
"known" flag there, the covariates on every step; ``covariates.py``); it is many-to-many, its quantile outputs at
future step k being the forecast of step k (added to the same base). ``predict(h, X_df=...)`` takes the
covariates of the ``h`` future steps of each series from ``X_df`` (``unique_id, ds, <covariates>``, statsforecast's
name); a missing row, column or value is a one-line error naming the series.

``save(path)`` writes ``path/model`` (the first network; its ``meta`` holds ``forecaster``: the settings, the
series ids, the last ``window`` values and the length of every series, the last timestamps and the frequency, and
with covariates their mean, standard deviation and last ``window`` rows) and ``path/model-K`` for the other
members; ``Forecaster.load(path)`` and ``gatedrnn.load(path)`` return the forecaster with all members, which
predicts without the data (``Forecaster.from_model(network)`` builds one from a single network).

Settings from the data: ``window``, ``hidden_size`` and ``max_steps`` left at None are chosen at ``fit`` by a
small search on the last ``horizon`` values of each series held out, with early stopping, within ``time_limit``
seconds (``selection.py``), then the network is refitted on all the data; ``selection`` holds the candidates'
scores and ``settings()`` the chosen values (a forecaster built from them fits the same network, bit for bit).
Any panel: a series shorter than ``window + horizon`` is padded on the left with a mask input (``panel.py``);
``season=1`` means no season.

Every input array and every returned forecast passes ``checks.py`` (finite, real, unmasked, within ±1e100; sizes
bounded); what ``load`` reads passes ``saved.py`` (one line per problem of a tampered or foreign meta.json).
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy

from gatedrnn.checkpoint_io import locate_checkpoint
from gatedrnn.data.arrays import real_array
from gatedrnn.errors import UserError, require
from gatedrnn.forecast.checks import TARGET_LIMIT, check_forecast, check_steps, check_values, select_ids
from gatedrnn.forecast.covariates import covariate_inputs, covariate_stats, frame_covariates, future_covariates
from gatedrnn.forecast.esrnn_choice import ModelChoice, hybrid, hybrid_saved
from gatedrnn.forecast.features import PURPOSE, Panel, base_values, inputs, normalise, to_panel
from gatedrnn.forecast.members import train_members
from gatedrnn.forecast.panel import last_windows, resolve_mask
from gatedrnn.forecast.saved import check_members, check_networks, saved_entry, saved_panel, saved_settings
from gatedrnn.forecast.selection import choose_settings
from gatedrnn.forecast.settings import ForecasterSettings, settings_doc, settings_signature
from gatedrnn.models.io import load_checkpoint, resolve_checkpoint

# what settings() returns and a save holds (the window model's saves name no model)
SETTINGS = tuple(f.name for f in fields(ForecasterSettings) if f.name != "model")


def interval_columns(qs: list) -> list:
    """[(name, quantile index)]: ``lo-L``/``hi-L`` for every pair q, 1 - q (L = 100 (1 - 2q)), widest last."""
    cols = []
    for i, q in enumerate(qs):
        j = next((j for j, p in enumerate(qs) if abs(p - (1 - q)) < 1e-9), None)
        if q < 0.5 and j is not None:
            level = round(100 * (1 - 2 * q))
            cols.append((level, i, j))
    return [(f"{side}-{lv}", k) for lv, i, j in sorted(cols) for side, k in (("lo", i), ("hi", j))]


class Forecaster(ModelChoice):
    """A global quantile forecaster (module docstring). ``window``, ``hidden_size``, ``max_steps`` and ``strategy``
    left at None are chosen from the data at ``fit`` (``selection.py``, within ``time_limit`` seconds on ``time_clock``);
    ``season=1`` means no season; ``mask``: ``panel.py``. ``stream()``: forecasts after each new value, in fixed
    memory (``live.ForecastStream``). ``model``: "window" (this network) or "esrnn" (``esrnn_forecaster.py``).

    ``Forecaster(**settings)`` or ``Forecaster.from_config(cfg)``: the settings are the fields of
    ``forecast.settings.ForecasterSettings``, each with its one default and its one check:

{SETTINGS}
    """

    __doc__ = (__doc__ or "").replace("{SETTINGS}", settings_doc(ForecasterSettings))   # python -OO: none
    __signature__ = settings_signature(ForecasterSettings)
    # the settings as the network uses them (``__init__``: ``ForecasterSettings.window_model``)
    cell: str
    horizon: int
    season: int | None
    window: int
    hidden_size: int
    num_layers: int
    max_steps: int
    batch_size: int
    lr: float
    clip: float
    seed: int
    n_models: int
    quantiles: list
    base: str
    strategy: str
    time_limit: float
    time_clock: str
    covariate_choice: list | None
    mask_choice: bool | None

    def __init__(self, **settings: Any) -> None:
        s = ForecasterSettings.from_dict(settings)      # each field's one check, then those of several together
        vars(self).update(s.window_model())             # the attributes annotated above
        self.auto = s.searched()
        self.mask = bool(s.mask)                        # resolved at fit (panel.py)
        self.selection: dict | None = None              # what the settings search chose, and why
        self.covariates: list = list(self.covariate_choice or [])   # covariate_choice None: every extra column
        self.cov_mean = self.cov_std = numpy.zeros(0)
        self.models: list = []
        self.panel: Panel | None = None
        self.history: list = []

    def settings(self) -> dict:
        """The constructor's arguments (once fitted: the settings chosen from the data, ``covariates`` the columns
        used and ``mask`` resolved; before: the choices given, None for what ``fit`` will choose)."""
        doc = {k: getattr(self, k) for k in SETTINGS}
        doc["covariates"] = list(self.covariates) if self.models else self.covariate_choice
        if not self.models:
            doc.update({k: None for k in self.auto}, mask=self.mask_choice)
        return doc

    @property
    def input_size(self) -> int:
        base = (3 if self.season else 1) + (1 if self.mask else 0)
        return base + 1 + len(self.covariates) if self.covariates else base

    @property
    def output_horizon(self) -> int:
        """The steps the network outputs: ``horizon`` (direct) or 1 (recursive)."""
        return self.horizon if self.strategy == "direct" else 1

    # -- fit ------------------------------------------------------------------------------------------
    def fit(self, y, echo=None) -> "Forecaster":
        """Train on every window of every series of ``y`` (any layout of ``features.to_panel``; a long DataFrame's
        extra columns, or those named by ``covariates``, are the covariates). Settings left at None are chosen
        first (``selection.choose_settings``); a series shorter than the window is padded (``panel.py``)."""
        panel = to_panel(y)
        names, covs = self._covariates_of(y, panel)
        panel.covs = covs
        self.covariates = names
        self.cov_mean, self.cov_std = covariate_stats(covs) if names else (numpy.zeros(0), numpy.zeros(0))
        self.models, self.history = [], []
        if self.auto:
            choose_settings(self, panel, echo or (lambda line: None))
            if self.model == "esrnn":          # model="auto" chose the hybrid: it refits (auto_model.py)
                return self.fit(y, echo)
        out = self.output_horizon
        self.mask = resolve_mask(self.mask_choice, panel, self.window, out, f"window {self.window} + " +
                                 (f"horizon {out}" if self.strategy == "direct" else "1 step (recursive)"))
        if self.mask and names:
            raise UserError(f"series: expected every series at least window {self.window} + horizon {out} long with "
                            f"covariates (short series are padded without covariates only), got a shorter one")
        self.auto = ()
        self.models, self.history = train_members(self, panel, echo)     # batched when it applies (members.py)
        self.panel = panel
        return self

    def _covariates_of(self, y, panel: Panel) -> tuple[list, list]:
        choice = self.covariate_choice
        if panel.kind != "frame":
            if choice:
                raise UserError(f"covariates: expected a long DataFrame with the columns {choice}, got "
                                f"{type(y).__name__}")
            return [], []
        names, covs = frame_covariates(y, choice)
        if names and self.strategy == "recursive":
            raise UserError(f"covariates: expected none with strategy 'recursive' (covariates need the direct "
                            f"strategy; covariates=[] ignores the extra columns), got {names}")
        return names, covs if names else []

    # -- predict --------------------------------------------------------------------------------------
    def _tails(self, panel: Panel) -> tuple[numpy.ndarray, numpy.ndarray]:
        return last_windows(panel.values, self.window)

    def _inputs(self, tails, starts, covs) -> tuple:
        """``tails`` (n, window) float64 within ``checks.VALUE_LIMIT``, ``starts`` (n,) int64, and with covariates
        ``covs`` (n, window + horizon, C) normalised (within ``checks.TARGET_LIMIT``, else float32 overflows)."""
        tails = check_values("tails", real_array("tails", tails))
        if tails.ndim != 2 or tails.shape[0] < 1 or tails.shape[1] != self.window:
            raise UserError(f"tails: expected shape (n >= 1, {self.window}) (the last window of each series), got "
                            f"{tails.shape}")
        starts = real_array("starts", starts, numpy.int64)
        if starts.shape != (len(tails),):
            raise UserError(f"starts: expected shape {(len(tails),)} (one per row of tails), got {starts.shape}")
        if not self.covariates:
            if covs is not None:
                raise UserError("covs: expected none (the forecaster was fitted without covariates), got some")
            return tails, starts, None
        want = (len(tails), self.window + self.horizon, len(self.covariates))
        c = None if covs is None else real_array("covs", covs)
        if c is None or c.shape != want:
            raise UserError(f"covs: expected shape {want} (the covariates of the window and the horizon), got "
                            f"{None if c is None else c.shape}")
        with numpy.errstate(over="ignore", invalid="ignore"):
            c = (c - self.cov_mean) / self.cov_std
        bad = ~(numpy.abs(c) <= TARGET_LIMIT)
        if bad.any():
            i, k, j = numpy.unravel_index(int(numpy.argmax(bad)), bad.shape)
            raise UserError(f"covariate {self.covariates[j]!r}: expected values within {TARGET_LIMIT:g} standard "
                            f"deviations of its training mean (the network computes in float32), got "
                            f"{float(numpy.asarray(covs, dtype=float)[i, k, j])!r} in row {i}, step {k}")
        return tails, starts, c

    def network_forecast(self, tails: numpy.ndarray, starts: numpy.ndarray, covs=None) -> numpy.ndarray:
        """(n, output_horizon, Q): the networks' forecasts in the series' units after each row of ``tails``
        (n, window) (``starts``: the index of each row's first value in its series; ``covs`` (n, window +
        horizon, C): the raw covariates of the window and the horizon, with covariates only): the median of the
        members, sorted along the quantile axis."""
        tails, starts, c = self._inputs(tails, starts, covs)
        return check_forecast(self._network(tails, starts, c), tails)

    def _network(self, tails: numpy.ndarray, starts: numpy.ndarray, c) -> numpy.ndarray:
        level, scale = normalise(tails)
        out, outs = self.output_horizon, []
        for model in self.models:
            dtype = model.params[0].dtype
            x = (inputs(tails, starts, self.season, level, scale, dtype, self.mask) if c is None else
                 covariate_inputs(tails, starts, self.season, level, scale, c, self.horizon, dtype))
            y = numpy.asarray(model.forward(x)[0], dtype=numpy.float64)
            outs.append(y[:, -out:] if c is not None else y.reshape(len(tails), out, -1))
        z = numpy.median(numpy.stack(outs), axis=0) if len(outs) > 1 else outs[0]
        zw = (tails - level[:, None]) / scale[:, None]
        z = z + base_values(zw, self.season, out, self.base)[:, :, None]
        with numpy.errstate(over="ignore", invalid="ignore"):
            return numpy.sort(z * scale[:, None, None] + level[:, None, None], axis=2)

    def quantile_forecast(self, tails: numpy.ndarray, starts: numpy.ndarray, covs=None,
                          steps: int | None = None, ids=None) -> numpy.ndarray:
        """(n, steps, Q) forecasts in the series' units after each row of ``tails`` (n, window) (``steps``:
        default ``horizon``; at most ``horizon`` for the direct strategy, ``checks.MAX_STEPS_AHEAD`` for the
        recursive one). Direct: ``network_forecast``.
        Recursive: the one-step network applied ``steps`` times, its median fed back as the newest value each
        time (the window slides by one); the quantiles at each step are the one-step quantiles along the median
        path, so they understate the uncertainty of the later steps (the errors of earlier steps are not
        propagated). Every forecast is finite (``checks.check_forecast``; ``ids`` name the rows in its message)."""
        steps = self.horizon if steps is None else check_steps(steps)
        if self.strategy == "direct" and steps > self.horizon:
            raise UserError(f"h: expected at most the horizon {self.horizon} the forecaster was trained for, got {steps}")
        tails, starts, c = self._inputs(tails, starts, covs)
        if self.strategy == "direct":
            return check_forecast(self._network(tails, starts, c)[:, :steps], tails, ids)
        mid = self.quantiles.index(0.5)
        w = tails
        out = numpy.empty((len(tails), steps, len(self.quantiles)))
        for k in range(steps):
            out[:, k] = self._network(w, starts, None)[:, 0]
            w = numpy.concatenate([w[:, 1:], out[:, k, mid:mid + 1]], axis=1)
            starts = starts + 1
        return check_forecast(out, tails, ids)

    def _select(self, ids) -> Panel:
        if not self.models or self.panel is None:
            raise UserError("Forecaster.predict: expected a fitted forecaster (fit or load first), got none")
        p = self.panel
        if ids is None:
            return p
        ids = select_ids(ids)
        unknown = [i for i in ids if i not in p.ids]
        if unknown:
            raise UserError(f"unique_id: expected ids the forecaster was fitted on, got {unknown[:5]} (not fitted)")
        pick = [p.ids.index(i) for i in ids]
        return Panel(ids, [p.values[k] for k in pick], p.kind, [p.last_ds[k] for k in pick] if p.last_ds else [],
                     p.freq, [p.covs[k] for k in pick] if p.covs else [])

    def _covariate_rows(self, panel: Panel, X_df, h: int):
        """(n, window + horizon, C) raw covariates of each series' last window and of its horizon (``X_df``)."""
        if not self.covariates:
            if X_df is not None:
                raise UserError("X_df: expected none (the forecaster was fitted without covariates), got "
                                f"{type(X_df).__name__}")
            return None
        pd = require("pandas", PURPOSE, "forecast")
        future = future_covariates(X_df, panel, self.covariates, h, self.horizon, pd)
        return numpy.concatenate([numpy.stack([c[-self.window:] for c in panel.covs]), future], axis=1)

    def predict(self, h: int | None = None, ids=None, X_df=None):
        """The next ``h`` (default ``horizon``; at most ``horizon`` for the direct strategy) values after the end
        of each fitted series (``ids``: some of them). With covariates, ``X_df`` (a DataFrame ``unique_id, ds,
        <covariates>``) gives them over the ``h`` future steps of each series. pandas input: a DataFrame
        ``unique_id, ds, y_hat, lo-80, hi-80, lo-95, hi-95``; otherwise a dict of arrays with those keys ((h,)
        for one array, (n_series, h) for a list)."""
        h = self.horizon if h is None else check_steps(h)
        if h > self.horizon and self.strategy == "direct":
            raise UserError(f"h: expected at most the horizon {self.horizon} the forecaster was trained for, got {h}")
        panel = self._select(ids)
        tails, starts = self._tails(panel)
        fq = self.quantile_forecast(tails, starts, self._covariate_rows(panel, X_df, h), steps=h, ids=panel.ids)
        cols = {"y_hat": fq[:, :, self.quantiles.index(0.5)]}
        cols.update({name: fq[:, :, k] for name, k in interval_columns(self.quantiles)})
        if panel.pandas:
            return self._frame(panel, cols, h)
        return {k: v[0] if panel.kind == "array" else v for k, v in cols.items()}

    def _frame(self, panel: Panel, cols: dict, h: int):
        pd = require("pandas", PURPOSE, "forecast")
        ds = [pd.date_range(last, periods=h + 1, freq=panel.freq)[1:] for last in panel.last_ds]
        out = {"unique_id": numpy.repeat(panel.ids, h), "ds": numpy.concatenate([d.to_numpy() for d in ds])}
        out.update({k: v.reshape(-1) for k, v in cols.items()})
        return pd.DataFrame(out)

    def stream(self):
        from gatedrnn.forecast.live import ForecastStream
        return ForecastStream(self)
    # -- save / load ----------------------------------------------------------------------------------
    def meta(self) -> dict:
        p = self.panel
        if p is None:
            raise UserError("Forecaster.save: expected a fitted forecaster, got none")
        doc = {"settings": self.settings(), "ids": p.ids, "kind": p.kind, "freq": p.freq,
               "tails": self._tails(p)[0].tolist(), "lengths": [int(v.size) for v in p.values],
               "last_ds": [str(d) for d in p.last_ds], "history": self.history}
        if self.selection is not None:
            doc["selection"] = self.selection
        if self.covariates:
            doc["covariate_stats"] = {"mean": self.cov_mean.tolist(), "std": self.cov_std.tolist()}
            doc["covariate_tails"] = [c[-self.window:].tolist() for c in p.covs]
        return {"forecaster": doc}

    def save(self, path) -> Path:
        """``path/model`` (+ ``path/model-K`` for the other ensemble members); returns ``path``."""
        path = Path(path)
        meta = self.meta()
        for k, model in enumerate(self.models):
            model.save(path / ("model" if k == 0 else f"model-{k}"), meta={**meta, "member": k})
        return path

    @classmethod
    def from_config(cls, cfg, horizon: int | None = None, season: int | None = None) -> "Forecaster":
        """The forecaster of a ``ForecasterSettings`` (its fields), or of a ``ForecastConfig``
        (``cfg.forecaster_settings``: its fields, None searched; ``horizon``, ``season``: the run's resolved)."""
        if isinstance(cfg, ForecasterSettings):
            return cls(**cfg.to_dict())
        return cls(**cfg.forecaster_settings(horizon, season))

    @classmethod
    def from_model(cls, model, members=(), where: str = "Forecaster meta.json") -> "Forecaster":
        """The forecaster of a network read from a ``Forecaster.save`` checkpoint (its ``meta`` holds
        ``forecaster``, checked by ``saved.py``: one line per problem)."""
        doc = saved_entry(getattr(model, "meta", None) or {}, where)
        settings = saved_settings(doc, where, SETTINGS)
        f = cls(**settings)                # the constructor's own one-line checks of every setting
        f.models, f.history, f.selection = [model, *members], doc.get("history", []), doc.get("selection")
        f.panel = saved_panel(f, doc, where)
        check_networks(f, f.models, where)
        return f

    @classmethod
    def load(cls, path) -> "Forecaster":
        """Read what ``save`` wrote (every ensemble member)."""
        path = Path(path)
        found = resolve_checkpoint(path)
        first, meta, _ = load_checkpoint(found)
        first.meta = meta
        if hybrid_saved(first):                  # model="esrnn" reads its own entry (esrnn_saved.py)
            return hybrid().load(path)
        where = f"Forecaster {found / 'meta.json'}"
        n = saved_settings(saved_entry(meta, where), where, SETTINGS)["n_models"]
        missing = [f"model-{k}" for k in range(1, n) if locate_checkpoint(path / f"model-{k}") is None]
        if missing:
            raise UserError(f"{where}: settings: n_models: expected {n} members in {path}, got none for {missing[:3]}")
        loaded = [load_checkpoint(path / f"model-{k}") for k in range(1, n)]
        check_members(meta["forecaster"], [m for _, m, _ in loaded], where)
        return cls.from_model(first, [m for m, _, _ in loaded], where)
