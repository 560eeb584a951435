"""The Forecaster's defaults on single short series against AutoARIMA, over many forecast origins (issue 21's goal
"on a single short series the defaults are at least as good as statsforecast's AutoARIMA on the same backtest").

    python -m venv /work/venv-sf && /work/venv-sf/bin/pip install -e . 'statsforecast>=2.0' statsmodels 'pandas<3'
    OPENBLAS_NUM_THREADS=1 nice -n 10 /work/venv-sf/bin/python benchmarks/forecast_origins.py      # full: 3 seeds
    python benchmarks/forecast_origins.py --size small                                             # 1 seed, 5 origins

The series (statsmodels' datasets, the last 300 values of each; Nile has only 100), with the horizon h and season s:

* sunspots: yearly mean sunspot numbers; h 10, no season (the solar cycle is about 11 years but its length varies
  from 9 to 14, so it is no fixed season: the network and ARIMA have to find it in the values).
* co2: Mauna Loa's weekly CO2, resampled to monthly means (the 5 empty months, all before 1965, interpolated
  linearly); h 12, s 12 (a yearly cycle).
* nile: the Nile's yearly flow at Aswan, 1871-1970 (100 values); h 10, no season.
* elnino: the monthly sea surface temperature of the El Nino region, 1950-2010, flattened year after year into
  one monthly series; h 12, s 12.

The split: the last ``n_test = max(round(0.2 n), 20 + h - 1)`` values are the test part; the origins are every
step from its start to ``n - h`` (so each origin has h values after it: at least 20 origins; 49 to 51 for the
300-value series, 20 for Nile). Everything is fitted ONCE, on the values before the first origin, then only moved
forward (no refit): ``Forecaster(horizon=h, season=s, seed=k)`` with no other argument (its settings search, its
default time limit) for the seeds 0, 1, 2, forecasting from each origin's history through
``backtest.forecast_after`` (the same forecasts as ``backtest(..., step=1, refit=False)``); statsforecast's
AutoARIMA with its class defaults and ``season_length`` s or 1 (``--approximation-none``: R's rule, as
``baselines_sf`` sets it for long series), its ``forward`` from the later origins (``baselines_sf.SfModel``); the
naive and the seasonal naive forecasts. Without statsforecast the script says so and uses gatedrnn's own ARIMA
(``forecast/arima.py``: its order search, ``results.apply`` from the later origins) in AutoARIMA's place.

Scores: one-step (the first forecast from each origin) and multi-step (all h from each origin): RMSE and MAE over
every scored value, MASE = MAE / the mean absolute (seasonal, lag s or 1) difference of the training part. The
table gives the Forecaster's mean ± standard deviation over the seeds and marks it ``win`` or ``LOSS`` against
AutoARIMA and against the better naive (``~``: the difference is within one standard deviation of the seeds).

``--size small`` (1 seed, the first 5 origins, and a tiny Forecaster: window 2 max(h, s), 8 units, 20 steps, no
search) checks the plumbing in seconds; its figures mean nothing. ``--set KEY=VALUE`` gives the Forecaster an
argument over its defaults (a diagnostic: what another default would score; the goal's run has none).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings

import numpy as np

from gatedrnn.forecast.backtest import forecast_after
from gatedrnn.forecast.baselines import naive_forecast, seasonal_naive_forecast
from gatedrnn.forecast.forecaster import SETTINGS, Forecaster
from gatedrnn.forecast.metrics import seasonal_scale

LAST = 300
SERIES = {"sunspots": (10, None), "co2": (12, 12), "nile": (10, None), "elnino": (12, 12)}   # name: (h, season)
MIN_ORIGINS = 20
SMALL = {"seeds": (0,), "origins": 5, "forecaster": {"hidden_size": 8, "max_steps": 20}}
FULL = {"seeds": (0, 1, 2), "origins": None, "forecaster": {}}
METRICS = ("rmse", "mae", "mase")
PARTS = ("one-step", "multi-step")


# -- data ----------------------------------------------------------------------------------------------------
def load(name: str) -> np.ndarray:
    """The last ``LAST`` values of a statsmodels dataset as float64 (module docstring)."""
    import statsmodels.datasets as sd

    if name == "sunspots":
        y = sd.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy()
    elif name == "co2":
        weekly = sd.co2.load_pandas().data["co2"]
        y = weekly.resample("MS").mean().interpolate(method="linear").to_numpy()
    elif name == "nile":
        y = sd.nile.load_pandas().data["volume"].to_numpy()
    elif name == "elnino":
        y = sd.elnino.load_pandas().data.drop(columns="YEAR").to_numpy().reshape(-1)
    else:
        raise SystemExit(f"series: expected one of {list(SERIES)}, got {name!r}")
    y = np.asarray(y, dtype=np.float64)[-LAST:]
    if not np.isfinite(y).all():
        raise SystemExit(f"{name}: expected finite values, got {int((~np.isfinite(y)).sum())} missing")
    return y


def origins_of(n: int, h: int, limit: int | None) -> list:
    """Every origin (values seen) from the start of the test part to ``n - h`` (the first ``limit`` of them)."""
    n_test = max(round(0.2 * n), MIN_ORIGINS + h - 1)
    out = list(range(n - n_test, n - h + 1))
    return out[:limit] if limit else out


# -- forecasts from every origin (n_origins, h) ---------------------------------------------------------------
def forecaster_paths(f: Forecaster, y: np.ndarray, origins: list, h: int) -> np.ndarray:
    """The fitted ``f``'s median forecasts after each origin, without refitting (``forecast_after`` on one copy
    of the series per origin, all in one batch)."""
    fq = forecast_after(f, [y] * len(origins), origins, h)
    return fq[:, :, f.quantiles.index(0.5)]


def fit_arima_model(train: np.ndarray, season, use_sf: bool, approximation_none: bool = False):
    """(row name, detail, forecast(history, h)) of statsforecast's AutoARIMA (its class defaults, or
    ``approximation=None``: R's auto.arima rule, as ``baselines_sf`` uses it) or, without it, gatedrnn's ARIMA."""
    if use_sf:
        from statsforecast.arima import arima_string
        from statsforecast.models import AutoARIMA

        from gatedrnn.forecast.baselines_sf import SfModel

        args = {"approximation": None} if approximation_none else {}
        model = AutoARIMA(season_length=season or 1, **args).fit(train)
        m = SfModel(model, len(train), str(arima_string(model.model_)).strip(), season or 1)
        return "AutoARIMA (statsforecast" + (", approximation=None)" if args else ")"), m.detail, m.forecast
    from gatedrnn.forecast.arima import arima_forecast, fit_arima

    choice = fit_arima(train, season, echo=print)
    return "ARIMA (gatedrnn's order search)", choice.label, lambda hist, h: arima_forecast(choice, hist, h)


def paths_of(forecast, y: np.ndarray, origins: list, h: int) -> np.ndarray:
    return np.stack([forecast(y[:o], h) for o in origins])


def arima_scores(doc: dict, y, train, origins: list, h: int, season, scale: float, args, echo) -> None:
    """Fit the ARIMA once on ``train``, forecast from every origin (forward), score it into ``doc``; the
    optimiser's warnings (statsforecast's "possible convergence problem") are counted, not printed."""
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        label, detail, forecast = fit_arima_model(train, season, args.use_sf, args.approximation_none)
        doc["baselines"]["arima"] = scores(paths_of(forecast, y, origins, h), y, origins, h, scale)
    doc["arima_label"], doc["arima_detail"], doc["arima_warnings"] = label, detail, len(caught)
    note = f", {len(caught)} optimiser warnings" if caught else ""
    echo(f"   {label}: {detail} ({time.perf_counter() - t0:.1f} s with the {len(origins)} forwards{note})")


# -- scores ---------------------------------------------------------------------------------------------------
def scores(paths: np.ndarray, y: np.ndarray, origins: list, h: int, scale: float) -> dict:
    """{"one-step": {rmse, mae, mase}, "multi-step": {...}} of the forecasts ``paths`` (n_origins, h)."""
    truth = np.stack([y[o:o + h] for o in origins])
    if not np.isfinite(paths).all():
        raise SystemExit("a forecast is not finite")
    out = {}
    for part, e in (("one-step", paths[:, 0] - truth[:, 0]), ("multi-step", paths - truth)):
        a = float(np.mean(np.abs(e)))
        out[part] = {"rmse": float(np.sqrt(np.mean(e ** 2))), "mae": a, "mase": a / scale}
    return out


def search_note(selection) -> str:
    """How the settings search's candidates stopped (early stopping, the time limit, ...), when it ran."""
    cands = (selection or {}).get("candidates") or []
    stops = [str(c.get("stopped") or c.get("why") or "?") for c in cands]
    return f"; candidates stopped by: {', '.join(f'{s} x{stops.count(s)}' for s in sorted(set(stops)))}" if stops else ""


def run_series(name: str, size: dict, args, echo=print) -> dict:
    """Fit everything once on the training part of ``name`` and score it from every origin."""
    h, season = SERIES[name]
    y = load(name)
    origins = origins_of(y.size, h, size["origins"])
    train = y[:origins[0]]
    scale = seasonal_scale(train, season or 1)
    echo(f"{name}: {y.size} values, h {h}, season {season or 'none'}; fitted on the first {train.size}, "
         f"{len(origins)} origins ({origins[0]}..{origins[-1]}), no refit")
    doc = {"n": int(y.size), "h": h, "season": season, "train": int(train.size), "origins": len(origins),
           "forecaster": [], "baselines": {}}
    small = size["forecaster"]
    for seed in size["seeds"]:
        extra = {**small, "window": 2 * max(h, season or 0)} if small else {}
        extra.update(args.extra)
        t0 = time.perf_counter()
        f = Forecaster(horizon=h, season=season, seed=seed, **extra).fit(train)
        took = time.perf_counter() - t0
        chosen = {k: f.settings()[k] for k in ("window", "hidden_size", "max_steps")}
        doc["forecaster"].append({"seed": seed, "seconds": round(took, 1), "chosen": chosen, "selection": f.selection,
                                  **scores(forecaster_paths(f, y, origins, h), y, origins, h, scale)})
        echo(f"   Forecaster seed {seed}: {took:.0f} s, chose {chosen}{search_note(f.selection)}")
    arima_scores(doc, y, train, origins, h, season, scale, args, echo)
    doc["baselines"]["naive"] = scores(paths_of(naive_forecast, y, origins, h), y, origins, h, scale)
    if season:
        snaive = paths_of(lambda hist, k: seasonal_naive_forecast(hist, k, season), y, origins, h)
        doc["baselines"]["snaive"] = scores(snaive, y, origins, h, scale)
    return doc


# -- the table ------------------------------------------------------------------------------------------------
def seed_stats(doc: dict, part: str, metric: str) -> tuple[float, float]:
    v = [r[part][metric] for r in doc["forecaster"]]
    return float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0


def mark(mean: float, sd: float, other: float) -> str:
    """``win`` / ``LOSS`` of the Forecaster's mean against ``other`` (ties win: "at least as good"); ``~`` when
    the difference is within one standard deviation of the seeds."""
    word = "win" if mean <= other else "LOSS"
    return word + ("~" if sd > 0 and abs(mean - other) <= sd else "")


def _fmt(x: float) -> str:
    return f"{x:.4g}" if abs(x) < 1e4 else f"{x:.0f}"


def table(results: dict, metric: str) -> list:
    """A markdown table of ``metric``: series x {Forecaster, ARIMA, naive, seasonal naive, marks} x parts."""
    head = ["series (h, s)"]
    for part in PARTS:
        head += [f"{part}: Forecaster", "ARIMA", "naive", "snaive", "vs ARIMA", "vs naive"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, doc in results.items():
        row = [f"{name} ({doc['h']}, {doc['season'] or '-'})"]
        for part in PARTS:
            mean, sd = seed_stats(doc, part, metric)
            b = {k: v[part][metric] for k, v in doc["baselines"].items()}
            best_naive = min(b["naive"], b.get("snaive", math.inf))
            row += [f"{_fmt(mean)} ± {_fmt(sd)}", _fmt(b["arima"]), _fmt(b["naive"]),
                    _fmt(b["snaive"]) if "snaive" in b else "-", mark(mean, sd, b["arima"]),
                    mark(mean, sd, best_naive)]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def tally(results: dict, metric: str) -> str:
    """How many (series, part) cells the Forecaster wins against ARIMA on ``metric``."""
    cells = [(mark(*seed_stats(d, p, metric), d["baselines"]["arima"][p][metric]), n, p)
             for n, d in results.items() for p in PARTS]
    losses = [f"{n} {p}" for m, n, p in cells if m.startswith("LOSS")]
    return (f"{metric.upper()}: {len(cells) - len(losses)} of {len(cells)} at least as good as ARIMA"
            + (f"; LOSSES: {', '.join(losses)}" if losses else ""))


# -- main -----------------------------------------------------------------------------------------------------
def statsforecast_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("statsforecast") is not None


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True


def parse(argv) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--size", choices=("full", "small"), default="full",
                   help="full: 3 seeds, every origin; small: 1 seed, 5 origins, a tiny Forecaster (plumbing only)")
    p.add_argument("--series", default=",".join(SERIES), help=f"comma-separated, from {','.join(SERIES)}")
    p.add_argument("--no-statsforecast", action="store_true",
                   help="use gatedrnn's ARIMA even where statsforecast is installed")
    p.add_argument("--approximation-none", action="store_true",
                   help="AutoARIMA(approximation=None), R's auto.arima rule (baselines_sf's setting for long series), "
                        "instead of statsforecast's class default")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a Forecaster argument over the defaults (a diagnostic, not the goal's run), e.g. "
                        "--set max_steps=1000; VALUE is read as JSON, else as a string")
    p.add_argument("--json", help="also write every figure to this JSON file")
    args = p.parse_args(argv)
    args.names = [s.strip() for s in args.series.split(",") if s.strip()]
    args.extra = {}
    for item in args.set:
        key, eq, value = item.partition("=")
        if not eq or not key:
            p.error(f"--set: expected KEY=VALUE, got {item!r}")
        if key not in SETTINGS or key in ("horizon", "season", "seed"):
            p.error(f"--set: expected a Forecaster argument other than horizon, season, seed, got {key!r}")
        args.extra[key] = json.loads(value) if _is_json(value) else value
    unknown = [s for s in args.names if s not in SERIES]
    if unknown or not args.names:
        p.error(f"--series: expected names from {','.join(SERIES)}, got {args.series!r}")
    return args


def main(argv=None) -> dict:
    args = parse(argv)
    use_sf = args.use_sf = statsforecast_available() and not args.no_statsforecast
    if not use_sf:
        why = "--no-statsforecast" if args.no_statsforecast else "statsforecast is not installed"
        print(f"note: {why}: gatedrnn's own ARIMA (forecast/arima.py) stands in for AutoARIMA")
    size = SMALL if args.size == "small" else FULL
    results = {name: run_series(name, size, args) for name in args.names}
    label = next(iter(results.values()))["arima_label"]
    given = "".join(f", {k}={v!r}" for k, v in args.extra.items())
    print(f"\nForecaster(horizon=h, season=s, seed=k{given})" + (" (the small size's tiny settings)" if
                                                                  args.size == "small" else ""))
    print(f"ARIMA = {label}; Forecaster = mean ± sd over seeds {list(size['seeds'])}; marks: the Forecaster's "
          f"mean against ARIMA and against the better of naive and seasonal naive (~: within one sd)")
    for metric in METRICS:
        print(f"\n{metric.upper()}\n")
        print("\n".join(table(results, metric)))
    print()
    for metric in METRICS:
        print(tally(results, metric))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"size": args.size, "set": args.extra, "arima": label, "results": results}, fh, indent=1,
                      default=float)
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
