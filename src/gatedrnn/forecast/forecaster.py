"""``Forecaster``: one global recurrent model over one or many series, with fit / predict / save / load.

    from gatedrnn.forecast import Forecaster
    f = Forecaster(cell="lstm", horizon=48, season=24, window=96, max_steps=600, seed=0).fit(df)  # unique_id, ds, y
    f.predict()            # DataFrame unique_id, ds, y_hat, lo-80, hi-80, lo-95, hi-95 (arrays for array input)
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

``save(path)`` writes ``path/model`` (the first network; ``gatedrnn.load(path)`` returns it, its ``meta`` holds
``forecaster``: the settings, the series ids, the last ``window`` values and the length of every series, the last
timestamps and the frequency) and ``path/model-K`` for the other members; ``Forecaster.load(path)`` (or
``Forecaster.from_model(gatedrnn.load(path))`` for one member) predicts from it without the data.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy

from gatedrnn.errors import UserError, check_choice, check_int, check_positive, require
from gatedrnn.forecast.features import (
    PURPOSE,
    Panel,
    Pinball,
    WindowBatches,
    base_values,
    check_lengths,
    inputs,
    normalise,
    to_panel,
)
from gatedrnn.layers import CELLS
from gatedrnn.models import SequenceRegressor
from gatedrnn.optim import Adam
from gatedrnn.optim.schedules import CosineDecay
from gatedrnn.train.checkpoint import load_checkpoint, resolve_checkpoint
from gatedrnn.train.trainer import Trainer

SETTINGS = ("cell", "horizon", "season", "window", "hidden_size", "num_layers", "max_steps", "batch_size", "lr",
            "clip", "seed", "n_models", "quantiles", "base")


def _check_quantiles(quantiles) -> list:
    qs = sorted({0.5, *(float(q) for q in quantiles)})
    if not all(0 < q < 1 for q in qs):
        raise UserError(f"quantiles: expected levels strictly between 0 and 1, got {list(quantiles)}")
    return qs


def interval_columns(qs: list) -> list:
    """[(name, quantile index)]: ``lo-L``/``hi-L`` for every pair q, 1 - q (L = 100 (1 - 2q)), widest last."""
    cols = []
    for i, q in enumerate(qs):
        j = next((j for j, p in enumerate(qs) if abs(p - (1 - q)) < 1e-9), None)
        if q < 0.5 and j is not None:
            level = round(100 * (1 - 2 * q))
            cols.append((level, i, j))
    return [(f"{side}-{lv}", k) for lv, i, j in sorted(cols) for side, k in (("lo", i), ("hi", j))]


class Forecaster:
    """A global quantile forecaster (module docstring). ``window`` defaults to twice the longer of the season and
    the horizon."""

    def __init__(self, cell: str = "lstm", horizon: int = 1, season: int | None = None, window: int | None = None,
                 hidden_size: int = 32, num_layers: int = 1, max_steps: int = 500, batch_size: int = 64,
                 lr: float = 3e-3, clip: float = 1.0, seed: int = 0, n_models: int = 1,
                 quantiles=(0.1, 0.9, 0.025, 0.975), base: str = "auto"):
        if cell not in CELLS:
            raise UserError(f"cell: expected one of {', '.join(CELLS)}, got {cell!r}")
        check_int("horizon", horizon)
        check_int("season", season, 2, none_ok=True)
        window = window if window is not None else 2 * max(season or 0, horizon)
        check_int("window", window, 2)
        base = ("snaive" if season else "naive") if base == "auto" else base
        check_choice("base", base, ("snaive", "naive", "none"))
        if base == "snaive":
            if season is None:
                raise UserError("base: expected a season for the seasonal naive base, got season None")
            seasons = math.ceil(horizon / season)
            if window < season * seasons:
                raise UserError(f"window: expected at least {season * seasons} (the seasonal naive base needs "
                                f"{seasons} season(s) of {season}), got {window}")
        for name, v in (("hidden_size", hidden_size), ("num_layers", num_layers), ("max_steps", max_steps),
                        ("batch_size", batch_size), ("n_models", n_models)):
            check_int(name, v)
        check_int("seed", seed, 0)
        check_positive("lr", lr)
        check_positive("clip", clip, zero_ok=True)
        self.cell, self.horizon, self.season, self.window = cell, horizon, season, window
        self.hidden_size, self.num_layers, self.max_steps, self.batch_size = hidden_size, num_layers, max_steps, batch_size
        self.lr, self.clip, self.seed, self.n_models = float(lr), float(clip), seed, n_models
        self.quantiles = _check_quantiles(quantiles)
        self.base = base
        self.models: list = []
        self.panel: Panel | None = None
        self.history: list = []

    def settings(self) -> dict:
        return {k: getattr(self, k) for k in SETTINGS}

    @property
    def input_size(self) -> int:
        return 3 if self.season else 1

    # -- fit ------------------------------------------------------------------------------------------
    def fit(self, y, echo=None) -> "Forecaster":
        """Train on every window of every series of ``y`` (any layout of ``features.to_panel``)."""
        panel = to_panel(y)
        check_lengths(panel, self.window + self.horizon, f"window {self.window} + horizon {self.horizon}")
        self.models, self.history = [], []
        for k in range(self.n_models):
            self.models.append(self._train_one(panel, self.seed + k, echo))
        self.panel = panel
        return self

    def _train_one(self, panel: Panel, seed: int, echo):
        qs = self.quantiles
        model = SequenceRegressor(self.input_size, self.hidden_size, self.horizon * len(qs), self.num_layers,
                                  cell=self.cell, many_to_one=True, seed=seed)
        dtype = model.params[0].dtype
        data = WindowBatches(panel, self.window, self.horizon, self.season, self.batch_size, self.max_steps, seed,
                             dtype, self.base)
        opt = Adam(model.params, model.grads, lr=self.lr)
        trainer = Trainer(model, Pinball(qs), opt, train_data=data.epoch, clip=self.clip or None,
                          schedule=CosineDecay(opt, total_steps=self.max_steps), carry_state=False, epochs=1,
                          max_steps=self.max_steps, progress=False, plot=False, log_every=self.max_steps,
                          echo=echo or (lambda line: None))
        summary = trainer.fit()
        self.history.append({"seed": seed, "train_loss": trainer.history[-1]["train_loss"] if trainer.history
                             else None, "steps": summary.get("step")})
        return model.eval()

    # -- predict --------------------------------------------------------------------------------------
    def _tails(self, panel: Panel) -> tuple[numpy.ndarray, numpy.ndarray]:
        tails = numpy.stack([v[-self.window:] for v in panel.values])
        starts = numpy.array([v.size - self.window for v in panel.values])
        return tails, starts

    def quantile_forecast(self, tails: numpy.ndarray, starts: numpy.ndarray) -> numpy.ndarray:
        """(n, horizon, Q) forecasts in the series' units after each row of ``tails`` (n, window): the median of
        the members, sorted along the quantile axis."""
        level, scale = normalise(tails)
        outs = []
        for model in self.models:
            x = inputs(tails, starts, self.season, level, scale, model.params[0].dtype)
            y, _ = model.forward(x)
            outs.append(numpy.asarray(y, dtype=numpy.float64).reshape(len(tails), self.horizon, -1))
        z = numpy.median(numpy.stack(outs), axis=0) if len(outs) > 1 else outs[0]
        zw = (tails - level[:, None]) / scale[:, None]
        z = z + base_values(zw, self.season, self.horizon, self.base)[:, :, None]
        return numpy.sort(z * scale[:, None, None] + level[:, None, None], axis=2)

    def _select(self, ids) -> Panel:
        if not self.models or self.panel is None:
            raise UserError("Forecaster.predict: expected a fitted forecaster (fit or load first), got none")
        p = self.panel
        if ids is None:
            return p
        ids = [str(i) for i in ([ids] if isinstance(ids, (str, int)) else ids)]
        unknown = [i for i in ids if i not in p.ids]
        if unknown:
            raise UserError(f"unique_id: expected ids the forecaster was fitted on, got {unknown[:5]} (not fitted)")
        pick = [p.ids.index(i) for i in ids]
        return Panel(ids, [p.values[k] for k in pick], p.kind, [p.last_ds[k] for k in pick] if p.last_ds else [],
                     p.freq)

    def predict(self, h: int | None = None, ids=None):
        """The next ``h`` (default and at most ``horizon``) values after the end of each fitted series (``ids``:
        some of them). pandas input: a DataFrame ``unique_id, ds, y_hat, lo-80, hi-80, lo-95, hi-95``; otherwise a
        dict of arrays with those keys ((h,) for one array, (n_series, h) for a list)."""
        h = self.horizon if h is None else check_int("h", h)
        if h > self.horizon:
            raise UserError(f"h: expected at most the horizon {self.horizon} the forecaster was trained for, got {h}")
        panel = self._select(ids)
        fq = self.quantile_forecast(*self._tails(panel))[:, :h]
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

    # -- save / load ----------------------------------------------------------------------------------
    def meta(self) -> dict:
        p = self.panel
        if p is None:
            raise UserError("Forecaster.save: expected a fitted forecaster, got none")
        return {"forecaster": {"settings": self.settings(), "ids": p.ids, "kind": p.kind, "freq": p.freq,
                               "tails": [v[-self.window:].tolist() for v in p.values],
                               "lengths": [int(v.size) for v in p.values],
                               "last_ds": [str(d) for d in p.last_ds], "history": self.history}}

    def save(self, path) -> Path:
        """``path/model`` (+ ``path/model-K`` for the other ensemble members); returns ``path``."""
        path = Path(path)
        meta = self.meta()
        for k, model in enumerate(self.models):
            model.save(path / ("model" if k == 0 else f"model-{k}"), meta={**meta, "member": k})
        return path

    @classmethod
    def from_model(cls, model, members=()) -> "Forecaster":
        """The forecaster of a network read by ``gatedrnn.load`` (its ``meta`` holds ``forecaster``)."""
        doc = (getattr(model, "meta", None) or {}).get("forecaster")
        if not isinstance(doc, dict):
            raise UserError("Forecaster: expected a checkpoint written by Forecaster.save (meta 'forecaster'), got none")
        f = cls(**doc["settings"])
        f.models, f.history = [model, *members], doc.get("history", [])
        values = [_padded(t, n) for t, n in zip(doc["tails"], doc["lengths"])]
        last = []
        if doc["last_ds"]:
            pd = require("pandas", PURPOSE, "forecast")
            last = [pd.Timestamp(d) for d in doc["last_ds"]]
        f.panel = Panel(list(doc["ids"]), values, doc["kind"], last, doc["freq"])
        return f

    @classmethod
    def load(cls, path) -> "Forecaster":
        """Read what ``save`` wrote (every ensemble member)."""
        path = Path(path)
        first, meta, _ = load_checkpoint(resolve_checkpoint(path))
        first.meta = meta
        n = int(meta.get("forecaster", {}).get("settings", {}).get("n_models", 1))
        members = [load_checkpoint(path / f"model-{k}")[0] for k in range(1, n)]
        return cls.from_model(first, members)


def _padded(tail, n: int) -> numpy.ndarray:
    """A series of length ``n`` whose last values are ``tail`` (only the tail and the length matter to predict:
    the earlier values are NaN so that any use of them shows)."""
    v = numpy.full(n, math.nan)
    v[n - len(tail):] = tail
    return v
