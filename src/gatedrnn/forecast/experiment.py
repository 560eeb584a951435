"""The whole forecasting experiment (``gatedrnn forecast``): train on the earlier part of a series, forecast the
held-out tail from one or more origins, compare with the baselines, print the table, write the run's files.

With ``horizon`` equal to the held-out length (the default) there is one origin, the end of the training part,
and the whole tail is forecast without seeing any of it. A shorter horizon gives rolling origins every
``horizon`` steps through the tail, each using the true values before it (no refitting, for any method). Nothing
of the held-out tail is seen in training or used to pick anything.

The model is the global ``Forecaster`` (the one engine of every forecasting command), fitted once on the training
part with the config's settings (``ForecastConfig.forecaster_settings``; the window, the size and the steps left at
none chosen from the training part alone, ``selection.py``) and moved forward to later origins without refitting
(``backtest.forecast_after``); its point forecast is the median output.

``run(cfg, out=OUT)`` writes the forecaster (``OUT/model``, ``OUT/model-K``: ``Forecaster.load(OUT)``, ``gatedrnn
stream OUT``, ``gatedrnn export OUT``), ``OUT/results.json``, ``OUT/config.json`` (the settings used, the chosen ones
included: ``gatedrnn forecast --config OUT/config.json --out OTHER`` re-runs it without the search, to identical
weights) and ``OUT/forecast.png`` (or ``figure``), the whole run or nothing (``gatedrnn.run_folder``).
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy

import gatedrnn.forecast.baselines_sf as baselines_sf
from gatedrnn.data.series import Series, split
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
from gatedrnn.forecast.backtest import forecast_after
from gatedrnn.forecast.baselines import naive2_forecast, naive_forecast, seasonal_naive_forecast
from gatedrnn.forecast.baselines_sf import SF_METHODS
from gatedrnn.forecast.config import ForecastConfig
from gatedrnn.forecast.forecaster import Forecaster
from gatedrnn.forecast.metrics import mae, rmse
from gatedrnn.forecast.plot import plot_forecast
from gatedrnn.forecast.result import COMMAND, RUN_FILES, ForecastResult, format_table, indented, input_files
from gatedrnn.output_paths import check_output
from gatedrnn.run_folder import check_finite
from gatedrnn.train.run_output import writing_run

# the baselines of a single-series run (``--baselines``), in the table's order
ORDER = ("naive", "snaive", "naive2", "arima", "autoarima", "autoets", "autotheta")


@dataclass
class Plan:
    """A config resolved against its series: the defaults filled in, the split made, the origins placed."""

    series: Series
    holdout: int
    horizon: int
    train: numpy.ndarray
    test: numpy.ndarray
    origins: list
    season: int | None            # the calendar season ARIMA differences away and the Forecaster reads

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
    """Load the series and resolve the held-out tail, horizon and origins (one-line errors when too short)."""
    series = cfg.load_series()
    holdout = cfg.holdout or series.holdout
    horizon = cfg.horizon or holdout
    if horizon > holdout:
        raise UserError(f"horizon: expected at most the held-out length {holdout}, got {horizon}")
    min_train = max((cfg.window or 0) + 2, horizon + 2, (series.period or 0) + 1, 10)
    if len(series) - holdout < min_train:
        raise UserError(f"series {series.name}: too short, expected at least {min_train + holdout} values "
                        f"({min_train} to train on for a horizon of {horizon}, + {holdout} held out), got {len(series)}")
    train, test = split(series.values, holdout, min_train=min_train)
    origins = list(range(len(train), len(series), horizon))
    return Plan(series, holdout, horizon, train, test, origins, cfg.season_of(series))


def _announce(cfg: ForecastConfig, p: Plan, settings: dict, echo) -> None:
    n_tr, n_te, n_o = len(p.train), len(p.test), len(p.origins)
    echo(f"{p.series.name}: {len(p.series)} values ({p.series.note}); {n_tr} to train on, the last {n_te} held out; "
         f"{p.horizon}-step forecasts from {n_o} origin{'s' if n_o > 1 else ''}")
    chosen = ", ".join(f"{k} {v}" for k, v in settings.items() if v is not None and k not in ("time_limit", "time_clock"))
    echo(f"1. the Forecaster on the training part ({chosen}; the rest chosen from the training part alone)")


def model_name(f: Forecaster) -> str:
    """How the tables name the fitted forecaster: ``LSTM (16 units)``, ``GRU (32 units x 2), median of 3``,
    ``ES-RNN (LSTM 40 units)``."""
    layers = '' if f.num_layers == 1 else f' x {f.num_layers}'
    if f.model == "esrnn":
        return f"ES-RNN ({f.cell.upper()} {f.hidden_size} units)" + ("" if f.n_models == 1 else f", median of {f.n_models}")
    return (f"{f.cell.upper()} ({f.hidden_size} units{layers}{', recursive' if f.strategy == 'recursive' else ''})"
            + ("" if f.n_models == 1 else f", median of {f.n_models}"))


def model_forecasts(f: Forecaster, p: Plan) -> numpy.ndarray:
    """The fitted ``f``'s median forecast from every origin of ``p``, over the held-out tail (no refitting)."""
    median = f.quantiles.index(0.5)
    values = p.series.values
    return p.by_origin(lambda hist, h: forecast_after(f, values, [len(hist)], p.horizon)[0, :h, median])


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


def _result(cfg, p: Plan, window: int, forecasts: dict, seconds: dict, **extra) -> ForecastResult:
    rows = [{"method": m, "rmse": rmse(f, p.test), "mae": mae(f, p.test)} for m, f in forecasts.items()]
    return ForecastResult(config=cfg.to_dict(), series=p.series.name, n_train=len(p.train), n_test=len(p.test),
                          horizon=p.horizon, window=window, origins=p.origins, rows=rows,
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


def save_run(folder, cfg: ForecastConfig, p: Plan, f: Forecaster, result: ForecastResult,
             figure=("forecast.png", None), echo=print) -> str:
    """Write the forecaster, the figure, results.json and config.json (``cfg`` with the chosen settings) of a run
    into the ``RunFolder`` ``folder`` (``figure``: ``figure_target``'s answer, or None for no figure); returns what
    was written, for the message."""
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
    f.save(folder.stage)
    return (f"wrote the forecaster to {folder.final('model')} (Forecaster.load, gatedrnn stream / export), "
            f"{folder.final('results.json')}, {folder.final('config.json')} (the settings used: re-run with --config)"
            f"{'' if result.figure is None else ', ' + result.figure}")


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


def run(cfg: ForecastConfig, out=None, figure=None, echo=print, *, overwrite: bool = False, inputs=(),
        progress: bool = True) -> ForecastResult:
    """The whole experiment: prints the table and returns the numbers; with ``out`` writes the run's files, the
    whole run or nothing (``gatedrnn.run_folder``; ``figure``: where the PNG goes instead of ``out/forecast.png``;
    ``overwrite``: replace what is there; ``inputs``: more files the run reads, e.g. its --config file). One
    process only: refused under an MPI launcher."""
    cfg.validate()
    reads = input_files(cfg, *inputs)
    with writing_run(out, COMMAND, known=RUN_FILES, overwrite=overwrite, inputs=reads) as folder:
        target = figure_target(folder, figure, reads, overwrite) if folder is not None and cfg.plot else None
        p, f, result = _experiment(cfg, echo, progress)
        if folder is not None:
            wrote = save_run(folder, cfg.chosen(f), p, f, result, target, echo=echo)
    if folder is not None:
        echo(wrote)
    return result


def _experiment(cfg: ForecastConfig, echo, progress: bool = True):
    """Plan, fit, forecast from every origin, run the baselines, print the table: (plan, forecaster, result)."""
    p = plan(cfg)
    names, note = selection(cfg, p.series.period)
    if "arima" in names:
        require_statsmodels()                       # say so before training, not after
        check_arima_input(len(p.train), p.season)
    f = Forecaster.from_config(cfg, horizon=p.horizon, season=p.season or 1)
    _announce(cfg, p, f.settings(), echo)
    seconds: dict = {}
    with one_blas_thread():
        t0 = time.perf_counter()
        f.fit(p.train, echo=indented(echo) if progress else None)
        seconds["train"] = time.perf_counter() - t0
        name = model_name(f)
        forecasts = {name: model_forecasts(f, p)}
        seconds[name] = time.perf_counter() - t0
        order, details = _baselines(names, p, forecasts, seconds, echo)
    if note:
        echo(note)
    loss = f.history[0]["train_loss"] if f.history else None
    result = _result(cfg.chosen(f), p, f.window, forecasts, seconds, arima_order=order, train_loss=loss, details=details)
    echo(format_table(result))
    return p, f, result
