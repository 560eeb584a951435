"""statsforecast's automatic methods as baselines (an optional extra: ``pip install 'gatedrnn[baselines]'``).

Both read only the ``baselines.recent`` part of each series (the last 10,000 values: a size rule). One series
(``gatedrnn forecast --dataset sunspots|co2|FILE.csv``): ``fit_one(method, train, season)`` fits the
method on the training part once and returns ``SfModel``, whose ``forecast(history, h)`` forecasts from the end of
``history``: statsforecast's ``predict`` when ``history`` is the training part, its ``forward`` (the fitted model
and parameters kept, the longer data filtered through them, no refit) from a later origin.

Many series (M4): ``sf_forecasts(methods, ids, train, h, season, cache, shas)`` -> {name: ((n, h) forecasts, seconds)}: each method
is read from ``cache/<method>-<sha12>.json`` when a run on the same files (their SHA-256 in the file) computed it
before, else fitted with one job and written there (atomically). The slow ones (AutoARIMA with season 24 takes
longer than the network) are only run when ``--baselines`` names them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy

from gatedrnn.atomic import write_text_atomic
from gatedrnn.errors import require
from gatedrnn.forecast.baselines import recent

SF_METHODS = ("autoets", "autotheta", "autoarima")
CLASSES = {"autoets": "AutoETS", "autotheta": "AutoTheta", "autoarima": "AutoARIMA"}
PURPOSE = "the statsforecast baselines (--baselines autoets,autotheta,autoarima)"
# AutoARIMA with approximation=None: R's auto.arima rule (the search by conditional sums of squares when the
# series is longer than 150 or the season longer than 12, the chosen order then refitted by exact likelihood).
# statsforecast's class default (False) ran past 10 minutes on co2's 2180 weeks with season 52 (~30 s this way),
# and past 17 minutes per core on M4 Hourly's 414 series with season 24. Used for one series and for M4.
MODEL_ARGS = {"autoarima": {"approximation": None}}
MISSING_NOTE = ("note: AutoARIMA, AutoETS and AutoTheta (statsforecast) skipped: statsforecast is not installed "
                "(pip install 'gatedrnn[baselines]' adds them)")


def available() -> bool:
    """Whether statsforecast can be imported (without importing it: numba makes that slow)."""
    return importlib.util.find_spec("statsforecast") is not None


def require_installed() -> None:
    """Raise ``MissingDependency`` (one line: how to install it) when statsforecast cannot be imported."""
    require("statsforecast", PURPOSE, "baselines")


def row_name(method: str) -> str:
    """How the tables name a statsforecast method: ``AutoARIMA (statsforecast)``."""
    return f"{CLASSES[method]} (statsforecast)"


def _cache_path(cache, method: str, shas: dict) -> Path:
    """``cache/<method>-<sha12>.json``, the key hashing the data files' SHA-256 and the method's arguments (when
    it has any: a change of setting computes it again)."""
    doc = {**shas, **({"args": MODEL_ARGS[method]} if method in MODEL_ARGS else {})}
    return Path(cache) / f"{method}-{hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:12]}.json"


def _read_cache(path: Path, shas: dict, ids: list):
    if not path.is_file():
        return None
    doc = json.loads(path.read_text())
    if doc.get("sha256") != shas or doc.get("ids") != ids:
        return None
    return numpy.array(doc["forecasts"], dtype=numpy.float64), float(doc["seconds"])


def _fit(method: str, ids: list, train: list, h: int, season: int):
    pd = require("pandas", PURPOSE, "baselines")
    sf = require("statsforecast", PURPOSE, "baselines")
    models = require("statsforecast.models", PURPOSE, "baselines")
    model = getattr(models, CLASSES[method])(season_length=season, **MODEL_ARGS.get(method, {}))
    train = [recent(x, season) for x in train]           # the size rule of ``baselines.recent``
    df = pd.DataFrame({"unique_id": numpy.repeat(ids, [len(x) for x in train]),
                       "ds": numpy.concatenate([numpy.arange(len(x)) for x in train]),
                       "y": numpy.concatenate(train)})
    t0 = time.perf_counter()
    fc = sf.StatsForecast(models=[model], freq=1, n_jobs=1).forecast(df=df, h=h)
    seconds = time.perf_counter() - t0
    fc = fc.reset_index() if "unique_id" not in fc.columns else fc
    col = [c for c in fc.columns if c not in ("unique_id", "ds", "index")][0]
    by_id = {u: g[col].to_numpy(dtype=numpy.float64) for u, g in fc.groupby("unique_id", sort=False)}
    return numpy.stack([by_id[i] for i in ids]), seconds


def require_uncached(methods, ids: list, cache, shas: dict) -> None:
    """Raise ``MissingDependency`` now (before any training) when a method is not cached and statsforecast is
    not installed."""
    if any(_read_cache(_cache_path(cache, m, shas), shas, ids) is None for m in methods):
        require("statsforecast", PURPOSE, "baselines")


def sf_forecasts(methods, ids: list, train: list, h: int, season: int, cache, shas: dict, echo=print) -> dict:
    """{CLASS name: (forecasts, seconds)} for every method of ``methods`` (module docstring)."""
    out = {}
    for method in methods:
        path = _cache_path(cache, method, shas)
        got = _read_cache(path, shas, ids)
        if got is None:
            echo(f"fitting statsforecast {CLASSES[method]} on {len(ids)} series (cached in {path}) ...")
            got = _fit(method, ids, train, h, season)
            path.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(path, json.dumps({"sha256": shas, "ids": ids, "method": method, "seconds": got[1],
                                                "args": MODEL_ARGS.get(method, {}), "forecasts": got[0].tolist()}))
        else:
            echo(f"statsforecast {CLASSES[method]}: read from the cache {path} (computed in {got[1]:.0f} s)")
        out[row_name(method)] = got
    return out


@dataclass
class SfModel:
    """One statsforecast model fitted to one series: ``forecast(history, h)`` and what was chosen (``detail``)."""

    model: Any              # the fitted statsforecast model
    n_fit: int              # the length of the training part (it was fitted to its ``recent`` part)
    detail: str
    season: int = 1

    def forecast(self, history: numpy.ndarray, h: int) -> numpy.ndarray:
        """The mean forecast of ``h`` steps after ``history`` (module docstring: predict, else forward)."""
        if len(history) == self.n_fit:
            out = self.model.predict(h=h)
        else:
            out = self.model.forward(y=recent(history, self.season), h=h)
        return numpy.asarray(out["mean"], dtype=numpy.float64)


def _detail(method: str, model) -> str:
    """What the automatic search chose: the ARIMA order, the ETS components, the Theta variant ('' if unknown)."""
    fitted = getattr(model, "model_", None)
    if method == "autoarima":
        arima = require("statsforecast.arima", PURPOSE, "baselines")
        return str(arima.arima_string(fitted)).strip() if hasattr(arima, "arima_string") else ""
    key = "method" if method == "autoets" else "modeltype"      # ETS(A,N,N); STM, OTM, DSTM or DOTM
    return str(fitted.get(key, "")) if isinstance(fitted, dict) else ""


def fit_one(method: str, train: numpy.ndarray, season: int) -> SfModel:
    """statsforecast's ``method`` (a key of ``CLASSES``) fitted once to ``train`` with ``season_length=season``
    (and ``MODEL_ARGS`` options), on its ``baselines.recent`` part (the detail says so when that drops values)."""
    models = require("statsforecast.models", PURPOSE, "baselines")
    y = recent(train, season)
    model = getattr(models, CLASSES[method])(season_length=season, **MODEL_ARGS.get(method, {})).fit(y)
    cut = f" (on the last {y.size:,} of {len(train):,} values)" if y.size < len(train) else ""
    return SfModel(model, len(train), _detail(method, model) + cut, season)
