"""``gatedrnn forecast --dataset X --predict H``: the future after a single series' end, with intervals, as CSV.

A ``Forecaster`` (horizon ``H``, the series' period as the season, the config's cell, sizes, steps and seed) is
trained on the whole series, none of it held out, and its forecast of the next ``H`` values is written to
``OUT/future.csv``: ``step``, the time (the series' axis continued by its last step: years for sunspots and co2,
row numbers for a CSV), ``y_hat``, ``lo-80``, ``hi-80``, ``lo-95``, ``hi-95`` (the quantile outputs).
"""

from __future__ import annotations

from pathlib import Path

import numpy

from gatedrnn.atomic import write_text_atomic
from gatedrnn.data.series import load_series
from gatedrnn.errors import check_int
from gatedrnn.forecast.config import DEFAULT_WINDOW
from gatedrnn.forecast.forecaster import Forecaster


def future_settings(cfg, h: int, period: int | None, n_models: int) -> dict:
    base_window = cfg.window or DEFAULT_WINDOW.get(str(cfg.dataset), 32)
    need = period * -(-h // period) if period else 1
    return {"cell": cfg.cell, "horizon": h, "season": period, "window": max(base_window, need),
            "hidden_size": cfg.hidden_size, "num_layers": cfg.num_layers, "max_steps": cfg.max_steps,
            "batch_size": cfg.batch_size, "lr": cfg.lr, "clip": cfg.clip, "seed": cfg.seed, "n_models": n_models}


def predict_future(cfg, h: int, *, out, n_models: int = 1, echo=print) -> Path:
    """Train on the whole series of ``cfg`` (a ``ForecastConfig``), write ``OUT/future.csv``; returns its path."""
    check_int("--predict", h)
    series = load_series(str(cfg.dataset), cfg.column, period=cfg.period)
    settings = future_settings(cfg, h, series.period, n_models)
    echo(f"{series.name}: {len(series)} values; forecasting the next {h} with {settings}")
    f = Forecaster(**settings).fit(series.values, echo=lambda line: echo("   " + line))
    p = f.predict()
    t = series.time
    dt = float(t[-1] - t[-2]) if len(t) > 1 else 1.0
    time = t[-1] + dt * numpy.arange(1, h + 1)
    cols = list(p)
    lines = [",".join(["step", series.time_label, *cols])]
    lines += [",".join([str(k + 1), f"{time[k]:.6g}", *(f"{p[c][k]:.6g}" for c in cols)]) for k in range(h)]
    path = Path(out) / "future.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, "\n".join(lines) + "\n")
    f.save(Path(out) / "forecaster")
    echo(f"wrote {path} (and the forecaster to {Path(out) / 'forecaster'})")
    return path
