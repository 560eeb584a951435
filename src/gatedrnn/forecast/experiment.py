"""The whole forecasting experiment (``gatedrnn forecast``): train on the earlier part of a series, forecast the
held-out tail from one or more origins, compare with the baselines, print the table, write the run's files.

With ``horizon`` equal to the held-out length (the default) there is one origin, the end of the training part,
and the whole tail is forecast without seeing any of it. A shorter horizon gives rolling origins every
``horizon`` steps through the tail, each using the true values before it (no refitting, for any method). Nothing
of the held-out tail is seen in training or used to pick anything.

``run(cfg, out=OUT)`` writes ``OUT/model`` (the checkpoint that ``gatedrnn stream`` and ``gatedrnn export``
read: its ``meta.json`` holds ``series`` with kind ``forecaster``, the window and the scaler),
``OUT/results.json``, ``OUT/config.json`` (``gatedrnn forecast --config OUT/config.json --out OTHER`` re-runs it
to identical weights) and ``OUT/forecast.png`` (or ``figure``), the whole run or nothing (``gatedrnn.run_folder``).
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy

import gatedrnn.forecast.baselines_sf as baselines_sf
from gatedrnn.data.series import Series, SeriesScaler, split
from gatedrnn.errors import UserError
from gatedrnn.forecast.arima import (
    ARIMA_MAX_P,
    ARIMA_MAX_Q,
    ORDER_SEARCH,
    arima_forecast,
    check_arima_input,
    fit_arima,
    one_blas_thread,
    require_statsmodels,
)
from gatedrnn.forecast.baselines import naive2_forecast, naive_forecast, seasonal_naive_forecast
from gatedrnn.forecast.baselines_sf import SF_METHODS
from gatedrnn.forecast.config import DEFAULT_WINDOW, EVALUATION_DEFAULTS, ForecastConfig
from gatedrnn.forecast.metrics import mae, rmse
from gatedrnn.forecast.model import model_forecast, train_model
from gatedrnn.forecast.plot import plot_forecast
from gatedrnn.forecast.result import COMMAND, RUN_FILES, ForecastResult, format_table, input_files
from gatedrnn.models.stream import Stream
from gatedrnn.output_paths import check_output
from gatedrnn.run_folder import check_finite
from gatedrnn.train.checkpoint import save_checkpoint
from gatedrnn.train.run_output import writing_run

# the baselines of a single-series run (``--baselines``), in the table's order
ORDER = ("naive", "snaive", "naive2", "arima", "autoarima", "autoets", "autotheta")


@dataclass
class Plan:
    """A config resolved against its series: the defaults filled in, the split made, the origins placed."""

    series: Series
    holdout: int
    window: int
    horizon: int
    train: numpy.ndarray
    test: numpy.ndarray
    origins: list
    season: int | None            # the calendar season ARIMA differences away

    def by_origin(self, fn) -> numpy.ndarray:
        """``fn(history, h)`` from every origin, concatenated over the held-out tail."""
        values = self.series.values
        return numpy.concatenate([fn(values[:o], min(self.horizon, len(values) - o)) for o in self.origins])


def _dataset(cfg: ForecastConfig) -> str:
    """The config's dataset (``validate()`` refuses a config without one, with this same line)."""
    if cfg.dataset is None:
        raise UserError("dataset: expected sunspots, co2 or a CSV file (--dataset, or in the --config file), got none")
    return cfg.dataset


def default_out(cfg: ForecastConfig) -> Path:
    """Where a run goes when no folder is given: ``runs/forecast-NAME-CELL``."""
    return Path("runs") / f"forecast-{Path(_dataset(cfg)).stem}-{cfg.cell}"


def plan(cfg: ForecastConfig) -> Plan:
    """Load the series and resolve window, held-out tail, horizon and origins (one-line errors when too short)."""
    series = cfg.load_series()
    holdout = cfg.holdout or series.holdout
    window = cfg.window or DEFAULT_WINDOW.get(series.name, 32)
    horizon = cfg.horizon or holdout
    if horizon > holdout:
        raise UserError(f"horizon: expected at most the held-out length {holdout}, got {horizon}")
    min_train = max(window + 2, (series.period or 0) + 1, 10)
    if len(series) - holdout < min_train:
        raise UserError(f"series {series.name}: too short, expected at least {min_train + holdout} values "
                        f"({min_train} to train on with window {window}, + {holdout} held out), got {len(series)}")
    train, test = split(series.values, holdout, min_train=min_train)
    origins = list(range(len(train), len(series), horizon))
    return Plan(series, holdout, window, horizon, train, test, origins, series.period if series.seasonal else None)


def _announce(cfg: ForecastConfig, p: Plan, echo) -> None:
    n_tr, n_te, n_o = len(p.train), len(p.test), len(p.origins)
    echo(f"{p.series.name}: {len(p.series)} values ({p.series.note}); {n_tr} to train on, the last {n_te} held out; "
         f"{p.horizon}-step forecasts from {n_o} origin{'s' if n_o > 1 else ''}")
    echo(f"1. training {cfg.model_name()} on {n_tr - 1 - p.window} windows of {p.window} steps: Adam lr {cfg.lr:g}, "
         f"cosine decay, clip {cfg.clip or 'off'}, batch {cfg.batch_size}, {cfg.max_steps} steps, seed {cfg.seed}")


def _timed(seconds: dict, key: str, fn):
    t0 = time.perf_counter()
    out = fn()
    seconds[key] = time.perf_counter() - t0
    return out


def _arima(p: Plan, forecasts: dict, seconds: dict, echo) -> str:
    """Choose and fit ARIMA on the training part, forecast from every origin; returns its order."""
    echo(f"   gatedrnn's ARIMA order search on the training part (ADF test for d, AIC over p <= {ARIMA_MAX_P}, "
         f"q <= {ARIMA_MAX_Q}{f', seasonal difference at lag {p.season}' if p.season else ''})")
    t0 = time.perf_counter()
    choice = fit_arima(p.train, p.season)
    name = f"{choice.label} ({ORDER_SEARCH})"
    forecasts[name] = p.by_origin(lambda hist, h: arima_forecast(choice, hist, h))
    seconds[name] = time.perf_counter() - t0
    echo(f"   {choice.label}, AIC {choice.aic:.1f} ({choice.fits} fits, ADF p-values "
         f"{', '.join(f'{v:.3g}' for v in choice.adf_p)}; {seconds[name]:.0f}s)")
    return choice.label


def _statsforecast(method: str, p: Plan, forecasts: dict, seconds: dict, details: dict, echo) -> None:
    """statsforecast's ``method`` fitted once on the training part, forecast from every origin (``forward`` from
    the later ones: the parameters kept, no refit)."""
    name, season = baselines_sf.row_name(method), p.season or 1
    t0 = time.perf_counter()
    model = baselines_sf.fit_one(method, p.train, season)
    forecasts[name] = p.by_origin(model.forecast)
    seconds[name] = time.perf_counter() - t0
    details[name] = model.detail
    echo(f"   {name}, season {season}: {model.detail or 'fitted'} ({seconds[name]:.1f}s)")


def _baselines(names: list, p: Plan, forecasts: dict, seconds: dict, echo) -> tuple[str | None, dict[str, str]]:
    """Every baseline of ``names`` (``selection``) from every origin; returns the hand-written ARIMA's order (or
    None) and what statsforecast's searches chose."""
    period = p.series.period or 1                    # ``selection`` keeps snaive and naive2 to series with one
    order: str | None = None
    details: dict[str, str] = {}
    cheap = {"naive": ("naive (last value)", naive_forecast),
             "snaive": (f"seasonal naive (period {period})", lambda hist, h: seasonal_naive_forecast(hist, h, period)),
             "naive2": (f"Naive2 (period {period})", lambda hist, h: naive2_forecast(hist, h, period))}
    if any(n in SF_METHODS or n == "arima" for n in names):
        echo("2. baselines fitted on the training part, forecast from every origin without refitting")
    for n in names:
        if n in cheap:
            label, fn = cheap[n]
            forecasts[label] = _timed(seconds, label, lambda fn=fn: p.by_origin(fn))
        elif n == "arima":
            order = _arima(p, forecasts, seconds, echo)
        else:
            _statsforecast(n, p, forecasts, seconds, details, echo)
    return order, details


def _result(cfg, p: Plan, forecasts: dict, seconds: dict, **extra) -> ForecastResult:
    rows = [{"method": m, "rmse": rmse(f, p.test), "mae": mae(f, p.test)} for m, f in forecasts.items()]
    return ForecastResult(config=cfg.to_dict(), series=p.series.name, n_train=len(p.train), n_test=len(p.test),
                          horizon=p.horizon, window=p.window, origins=p.origins, rows=rows,
                          forecasts={m: [float(v) for v in f] for m, f in forecasts.items()},
                          truth=[float(v) for v in p.test], seconds=seconds, **extra)


def figure_target(folder, figure, inputs, overwrite: bool) -> tuple[str | None, Path | None]:
    """Where the forecast figure goes, checked before anything is trained: (its name in the run folder, None), or
    (None, a path outside the folder) for a ``figure`` elsewhere (``check_output``: never an input, a special file,
    a file in the run's own files or an existing file the command did not write, unless ``overwrite``)."""
    if figure is None:
        return "forecast.png", None
    figure, written = Path(figure), folder.written_before()
    if os.path.realpath(figure.parent) == os.path.realpath(folder.out):
        if figure.name in ("model", "results.json", "config.json") or figure.name.startswith("."):
            raise UserError(f"--figure {figure}: expected a path other than the run's own files, got one of them")
        check_output(figure, inputs=inputs, written=written, overwrite=overwrite, flag="--figure")
        return figure.name, None
    return None, check_output(figure, inputs=inputs, protected=[folder.out], written=written, overwrite=overwrite,
                              flag="--figure")


def _cause(p: Plan) -> str:
    v = p.series.values
    return f"series {p.series.name} holds values from {v.min():.3g} to {v.max():.3g}"


def save_run(folder, cfg: ForecastConfig, p: Plan, model, scaler: SeriesScaler, result: ForecastResult,
             figure=("forecast.png", None), echo=print) -> str:
    """Write the checkpoint, the figure, results.json and config.json of a run into the ``RunFolder`` ``folder``
    (``figure``: ``figure_target``'s answer, or None for no figure); returns what was written, for the message."""
    meta = {"series": {"kind": "forecaster", "dataset": cfg.dataset, "name": p.series.name, "window": p.window,
                       "horizon": p.horizon, "holdout": p.holdout, "scaler": scaler.to_dict(),
                       "inputs": ["standardised level", "standardised change"],
                       "output": "standardised next change"},
            "training": cfg.to_dict(), "results": result.rows}
    check_finite(folder.final("results.json"), asdict(result), _cause(p))   # before any file, here or elsewhere
    result.checkpoint = str(folder.final("model"))
    if figure is not None:
        name, outside = figure
        if plot_forecast(result, p.series, folder.path(name) if name else outside, echo=echo) is not None:
            result.figure = str(folder.final(name) if name else outside)
            if outside is not None:
                folder.add_outside(outside)
    folder.write_json("results.json", asdict(result), _cause(p))
    folder.write_json("config.json", cfg.to_dict())
    save_checkpoint(folder.path("model"), model, meta=meta)
    return (f"wrote {result.checkpoint} (for gatedrnn stream / export), {folder.final('results.json')}, "
            f"{folder.final('config.json')} (re-run with --config){'' if result.figure is None else ', ' + result.figure}")


def selection(cfg: ForecastConfig, period: int | None) -> tuple[list, str | None]:
    """The baselines of a run on a series with ``period`` (or None), in table order, and a note when ``auto``
    leaves statsforecast's out. ``auto``: naive, seasonal naive (with a period), gatedrnn's ARIMA order search and,
    when statsforecast is installed, its AutoARIMA, AutoETS and AutoTheta. Naive is always computed (the table's
    verdict); ``--no-arima`` drops the order search from any list; a named statsforecast method needs
    statsforecast (``MissingDependency`` before any training)."""
    asked = set(cfg.baseline_list())
    names, note = asked | {"naive"}, None
    if "auto" in asked:
        names |= {"arima"} | ({"snaive"} if period else set())
        if baselines_sf.available():
            names |= set(SF_METHODS)
        else:
            note = baselines_sf.MISSING_NOTE
    if asked & set(SF_METHODS):
        baselines_sf.require_installed()
    seasonal = sorted(names & {"snaive", "naive2"})
    if seasonal and not period:
        raise UserError(f"baselines: expected a series with a period for {', '.join(seasonal)} (--period for a "
                        "CSV), got one without")
    if not cfg.arima:
        names.discard("arima")
    return [n for n in ORDER if n in names], note


def run(cfg: ForecastConfig, out=None, figure=None, echo=print, *, overwrite: bool = False, inputs=()) -> ForecastResult:
    """The whole experiment: prints the table and returns the numbers; with ``out`` writes the run's files, the
    whole run or nothing (``gatedrnn.run_folder``; ``figure``: where the PNG goes instead of ``out/forecast.png``;
    ``overwrite``: replace what is there; ``inputs``: more files the run reads, e.g. its --config file). One
    process only: refused under an MPI launcher."""
    cfg.validate()
    # the held-out evaluation's model has no settings search: its fallbacks, recorded in config.json
    cfg = cfg.replace(**{k: getattr(cfg, k) or v for k, v in EVALUATION_DEFAULTS.items()})
    reads = input_files(cfg, *inputs)
    with writing_run(out, COMMAND, known=RUN_FILES, overwrite=overwrite, inputs=reads) as folder:
        target = figure_target(folder, figure, reads, overwrite) if folder is not None and cfg.plot else None
        p, model, scaler, result = _experiment(cfg, echo)
        if folder is not None:
            wrote = save_run(folder, cfg, p, model, scaler, result, target, echo=echo)
    if folder is not None:
        echo(wrote)
    return result


def _experiment(cfg: ForecastConfig, echo):
    """Plan, train, forecast from every origin, run the baselines, print the table: (plan, model, scaler, result)."""
    p = plan(cfg)
    names, note = selection(cfg, p.series.period)
    if "arima" in names:
        require_statsmodels()                       # say so before training, not after
        check_arima_input(len(p.train), p.season)
    scaler = SeriesScaler.fit(p.train)               # finite statistics, and every value on their scale,
    scaler.check(p.series.values, f"series {p.series.name}")    # before anything is printed or trained
    _announce(cfg, p, echo)
    seconds, name = {}, cfg.model_name()
    with one_blas_thread():
        t0 = time.perf_counter()
        model, loss, _ = train_model(cfg, p.train, p.window, scaler, echo=echo)
        seconds["train"] = time.perf_counter() - t0
        stream = Stream(model)
        forecasts = {name: p.by_origin(lambda hist, h: model_forecast(model, scaler, hist, h, p.window, stream))}
        seconds[name] = time.perf_counter() - t0
        order, details = _baselines(names, p, forecasts, seconds, echo)
    if note:
        echo(note)
    result = _result(cfg, p, forecasts, seconds, arima_order=order, train_loss=loss, details=details)
    echo(format_table(result))
    return p, model, scaler, result
