"""``gatedrnn forecast --dataset X --predict H``: the future after a single series' end, with intervals, as CSV and
a plot.

A ``Forecaster`` (horizon ``H``, the config's season or the series' calendar season, its cell, sizes, steps, seed) is
trained on the whole series, none of it held out, and its forecast of the next ``H`` values is written to
``OUT/future.csv``: ``step``, the time, ``y_hat``, ``lo-80``, ``hi-80``, ``lo-95``, ``hi-95`` (the quantile
outputs). The time column is the CSV's date column continued at its inferred frequency, in ISO format
(``2021-03-01``, or ``2021-03-01T13:00:00`` when the timestamps have a time of day), named like that column; without
dates it is the series' axis continued by its last step (years for sunspots and co2, row numbers for a CSV).
``OUT/future.png`` shows the last few seasons of the series, the forecast and its 80/95 % bands (matplotlib is
optional: without it a one-line note, no figure; ``--no-plot`` skips it). The trained forecaster goes to
``OUT/forecaster`` (``Forecaster.load``). The window, the size and the steps not given are chosen from the data
(``selection.py``: the last ``H`` values held out, a few candidates with early stopping within ``--time-limit``
seconds, then a refit on the whole series); ``OUT/config.json`` records the settings used, the chosen ones
included, so that ``gatedrnn forecast --config OUT/config.json --predict H --out OTHER`` skips the search and fits
the same network bit for bit; the candidates' scores are printed and saved with the forecaster
(``Forecaster.selection``). Bad input (a gap with ``--fill error``, a series too short) is refused
before anything is written; the run is written whole or not at all (``gatedrnn.run_folder``).
"""

from __future__ import annotations

from pathlib import Path

import numpy

from gatedrnn.data.dates import PURPOSE, iso
from gatedrnn.errors import check_int, require
from gatedrnn.forecast.forecaster import Forecaster
from gatedrnn.forecast.plot import plot_future
from gatedrnn.forecast.result import COMMAND, RUN_FILES, indented, input_files
from gatedrnn.train.run_output import writing_run


def future_time(series, h: int) -> tuple[numpy.ndarray, list]:
    """The ``h`` times after the series' end: (values for a plot's x axis, texts for the CSV). Dates continue at
    the series' frequency; a numeric axis by its last step."""
    if series.dates is not None and series.freq is not None:
        pd = require("pandas", PURPOSE, "forecast")
        stamps = pd.date_range(pd.Timestamp(series.dates[-1]), periods=h + 1, freq=series.freq)[1:]
        return stamps.to_numpy(), iso(stamps)
    t = series.time
    dt = float(t[-1] - t[-2]) if len(t) > 1 else 1.0
    time = t[-1] + dt * numpy.arange(1, h + 1)
    return time, [f"{v:.6g}" for v in time]


def predict_future(cfg, h: int, *, out, overwrite: bool = False, inputs=(), echo=print, progress: bool = True) -> Path:
    """Train on the whole series of ``cfg`` (a ``ForecastConfig``), write ``OUT/future.csv``, ``OUT/future.png``
    and ``OUT/forecaster`` (the whole run or nothing: ``gatedrnn.run_folder``); returns the CSV's path."""
    check_int("--predict", h)
    with writing_run(out, COMMAND, known=RUN_FILES, overwrite=overwrite, inputs=input_files(cfg, *inputs)) as folder:
        series = cfg.load_series()
        settings = cfg.forecaster_settings(h, cfg.season_of(series) or 1)
        echo(f"{series.name}: {len(series)} values ({series.note}); forecasting the next {h} with {settings}")
        f = Forecaster(**settings).fit(series.values, echo=indented(echo) if progress else None)
        p = f.predict()
        x, texts = future_time(series, h)
        cols = list(p)
        rows = [[str(k + 1), texts[k], *(float(p[c][k]) for c in cols)] for k in range(h)]
        cause = f"series {series.name} holds values from {series.values.min():.3g} to {series.values.max():.3g}"
        path = folder.write_csv("future.csv", ["step", series.time_label, *cols], rows, cause)
        f.save(folder.path("forecaster"))
        folder.write_json("config.json", cfg.chosen(f).to_dict())
        figure = plot_future(series, p, x, folder.path("future.png"), echo=echo) if cfg.plot else None
    shown = "" if figure is None else f", {folder.final('future.png')}"
    echo(f"wrote {path}{shown}, {folder.final('config.json')} (the settings used: re-run with --config) and the "
         f"forecaster to {folder.final('forecaster')}")
    return path
