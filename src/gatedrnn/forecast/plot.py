"""The forecast figure (the last stretch of the series, the held-out tail and every method's forecast of it) and
the future figure of ``--predict`` (the last few seasons, the forecast and its 80/95 % bands). A series with dates
(a CSV with a date column) is drawn over its dates, else over its time axis (years, or rows).

matplotlib is optional: without it a note is printed and no figure is written. The figure uses matplotlib's
object API on the Agg canvas (no pyplot, no global state) and is written through a temporary file and a rename.
"""

from __future__ import annotations

import importlib.util
import os

from gatedrnn.atomic import atomic_file

MISSING_NOTE = "note: matplotlib is not installed, so no plot is written (pip install 'gatedrnn[plot]')"
STYLES = {"naive": ("tab:gray", ":"), "seasonal": ("tab:olive", ":"), "ARIMA": ("tab:blue", "--"),
          "AutoARIMA": ("tab:purple", "-."), "AutoETS": ("tab:green", "-."), "AutoTheta": ("tab:brown", "-.")}


def _new_figure(figsize, echo):
    if importlib.util.find_spec("matplotlib") is None:
        echo(MISSING_NOTE)
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def _axis(series):
    """The x values of a series: its dates when it has some, else its time axis."""
    return series.dates if series.dates is not None else series.time


def plot_forecast(result, series, path, echo=print) -> str | None:
    """Draw ``result`` (a ``ForecastResult``) over ``series`` into the PNG ``path``; returns the path, or None
    when matplotlib is missing."""
    fig = _new_figure((9, 4.2), echo)
    if fig is None:
        return None
    ax = fig.add_subplot(1, 1, 1)
    n_tr, n_te = result.n_train, result.n_test
    lo = max(0, n_tr - 4 * n_te)
    t = _axis(series)
    ax.plot(t[lo:], series.values[lo:], color="black", lw=1.4, label="observed")
    for r in result.rows:
        m = r["method"]
        color, ls = next((v for k, v in STYLES.items() if m.startswith(k)), ("tab:red", "-"))
        ax.plot(t[n_tr:], result.forecasts[m], color=color, ls=ls, lw=1.6 if ls == "-" else 1.2,
                label=f"{m}  RMSE {r['rmse']:.3g}")
    for o in result.origins:
        ax.axvline(t[o], color="0.6", lw=0.8)
    ax.set_xlabel(series.time_label)
    ax.set_ylabel(series.name)
    origins = "1 origin" if len(result.origins) == 1 else f"{len(result.origins)} origins"
    ax.set_title(f"{series.name}: last {n_te} held out, {result.horizon}-step forecasts from {origins}")
    return _save(fig, ax, path)


def plot_future(series, forecast: dict, x, path, echo=print) -> str | None:
    """Draw the last few seasons of ``series`` (four, or four horizons, at least 48 values), the median
    ``forecast["y_hat"]`` over ``x`` (the future's times) and its ``lo-80``/``hi-80`` and ``lo-95``/``hi-95`` bands
    into the PNG ``path``; returns the path, or None when matplotlib is missing."""
    fig = _new_figure((9, 4.2), echo)
    if fig is None:
        return None
    ax = fig.add_subplot(1, 1, 1)
    h = len(x)
    keep = min(len(series), max(4 * (series.period or 0), 4 * h, 48))
    t = _axis(series)
    ax.plot(t[-keep:], series.values[-keep:], color="black", lw=1.4, label="observed")
    for level, alpha in (("95", 0.18), ("80", 0.32)):
        if f"lo-{level}" in forecast:
            ax.fill_between(x, forecast[f"lo-{level}"], forecast[f"hi-{level}"], color="tab:red", alpha=alpha,
                            lw=0, label=f"{level}% interval")
    ax.plot(x, forecast["y_hat"], color="tab:red", lw=1.6, label="forecast (median)")
    ax.axvline(t[-1], color="0.6", lw=0.8)
    ax.set_xlabel(series.time_label)
    ax.set_ylabel(series.name)
    ax.set_title(f"{series.name}: the next {h} values")
    return _save(fig, ax, path)


def _save(fig, ax, path) -> str:
    """The legend, then the figure written to the PNG ``path`` (atomically); returns the path."""
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    with atomic_file(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    return os.fspath(path)
