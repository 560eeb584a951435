"""Rolling-origin evaluation of the global ``Forecaster`` (statsforecast's ``cross_validation``, Darts'
``historical_forecasts``), and its scores.

    from gatedrnn.forecast import backtest, backtest_scores
    cv = backtest(df, h=48, n_windows=3, step=48, refit=False, season=24, max_steps=300)   # or forecaster=Forecaster(...)
    backtest_scores(cv, df, season=24)["overall"]      # mae, rmse, smape, mase, coverage-80, coverage-95

Cut-offs: each series of length ``n`` is cut at ``n - h - (n_windows - 1 - k) * step`` values for ``k = 0 ..
n_windows - 1`` (the earliest first; ``step`` defaults to ``h``: windows that do not overlap), and from each cut-off
the next ``h`` values are forecast from the data before it. ``refit=True`` trains a fresh ``Forecaster`` (same
settings, same seed) on the data up to every cut-off; ``refit=False`` trains once, on the data up to the earliest
cut-off, and only forecasts from the later ones (``forecast_after``). The data up to a cut-off keeps the layout of
``y`` (a long DataFrame keeps its covariate columns, whose later rows are the known future covariates). A given
``forecaster`` only lends its settings (it is never used itself: it may have seen the values to forecast).

Every series needs ``window + horizon`` values before the earliest cut-off (``window + 1`` for the recursive
strategy), then ``h + (n_windows - 1) * step``: a shorter one is a one-line ``UserError`` naming it and the length
needed.

Returns, for pandas input (a Series with dates or a long DataFrame), a DataFrame ``unique_id, ds, cutoff, y, y_hat,
lo-80, hi-80, lo-95, hi-95`` (``cutoff``: the timestamp of the last value seen, ``ds`` the forecast's; rows by
series, cut-off, step); for array input a dict of arrays: ``cutoff`` (n_windows,) ints, the number of values seen
(the forecast covers ``y[cutoff : cutoff + h]``), and ``y``, ``y_hat``, ``lo-80``... (n_windows, h); for a list of
arrays the same with the series first: (n_series, n_windows) and (n_series, n_windows, h).

``backtest_scores(cv, y, season)`` scores every (series, cut-off) with ``metrics``' MAE, RMSE, sMAPE, MASE (the
scale: the seasonal naive errors at lag ``season``, or 1, over the values before the cut-off; NaN where that
part is exactly periodic) and the coverage of each interval, and averages them per cut-off (window ``k`` of
every series) and overall.
"""

from __future__ import annotations

import time

import numpy

from gatedrnn.data.arrays import real_array
from gatedrnn.errors import UserError, check_int, require
from gatedrnn.forecast.features import PURPOSE, Panel, to_panel
from gatedrnn.forecast.forecaster import Forecaster, interval_columns
from gatedrnn.forecast.metrics import coverage, mae, mase, rmse, smape


def cutoffs(n: int, h: int, n_windows: int, step: int) -> list:
    """The cut-offs (values seen) of a series of ``n`` values, earliest first."""
    return [n - h - (n_windows - 1 - k) * step for k in range(n_windows)]


def _settings(h: int, forecaster, settings: dict) -> dict:
    if forecaster is not None and not isinstance(forecaster, Forecaster):
        raise UserError(f"forecaster: expected a Forecaster (its settings are used), got {type(forecaster).__name__}")
    s = {**(forecaster.settings() if forecaster is not None else {"horizon": h}), **settings}
    Forecaster(**s)                                  # the settings' own one-line errors, before any training
    return s


def _up_to(y, panel: Panel, ends: list):
    """``y`` in its own layout, each series cut after its first ``ends[i]`` values."""
    if panel.kind == "array":
        return numpy.asarray(y)[:ends[0]]
    if panel.kind == "list":
        return [numpy.asarray(v)[:c] for v, c in zip(y, ends)]
    if panel.kind == "series":
        return y.iloc[:ends[0]]
    limit = y["unique_id"].astype(str).map(dict(zip(panel.ids, ends)))
    return y[y.groupby("unique_id", sort=False).cumcount() < limit]


def _raw_covariates(f: Forecaster, y, panel: Panel) -> list:
    """Each series' raw covariates (n_i, C) when ``f`` was fitted with some (a long DataFrame), else []."""
    names = list(getattr(f, "covariates", None) or [])
    if not names:
        return []
    return [real_array(f"series {uid}: covariates", g[names].to_numpy()) for uid, g in y.groupby("unique_id", sort=False)]


def forecast_after(f: Forecaster, y, ends, h: int) -> numpy.ndarray:
    """(n_series, h, Q) forecasts of the fitted ``f`` after the first ``ends[i]`` values of each series of ``y``
    (any layout of ``to_panel``), without refitting: the last ``window`` values before each end are the input
    (with covariates, the long DataFrame's covariate rows of the window and of the horizon after it, the last
    row carried on past the series' end)."""
    if hasattr(f, "forecast_after"):             # model="esrnn": each fitted span runs further (esrnn_forecaster.py)
        return f.forecast_after(y, ends, h)
    panel = to_panel(y)
    w = f.window
    cut = real_array("ends", ends, numpy.int64).reshape(-1)
    if cut.size != len(panel.ids):
        raise UserError(f"ends: expected one cut-off per series ({len(panel.ids)}), got {cut.size}")
    ends = [check_int("cut-off", int(c), w) for c in cut]
    for uid, v, c in zip(panel.ids, panel.values, ends):
        if c > v.size:
            raise UserError(f"series {uid}: cut-off: expected at most its {v.size} values, got {c}")
    tails = numpy.stack([v[c - w:c] for v, c in zip(panel.values, ends)])
    starts = numpy.array([c - w for c in ends])
    covs = _raw_covariates(f, y, panel)
    if not covs:
        return f.quantile_forecast(tails, starts, steps=h, ids=panel.ids)
    rows = [numpy.minimum(numpy.arange(c - w, c + f.horizon), len(x) - 1) for x, c in zip(covs, ends)]
    return f.quantile_forecast(tails, starts, numpy.stack([x[r] for x, r in zip(covs, rows)]), steps=h, ids=panel.ids)


def _check(panel: Panel, template: Forecaster, h: int, n_windows: int, step: int) -> list:
    direct = getattr(template, "strategy", "direct") == "direct"
    if direct and template.horizon < h:
        raise UserError(f"h: expected at most the forecaster's horizon {template.horizon}, got {h}")
    first = template.window + (template.horizon if direct else 1)
    need = first + h + (n_windows - 1) * step
    for name, v in zip(panel.ids, panel.values):
        if v.size < need:
            raise UserError(f"series {name}: too short for the backtest, expected at least {need} values ({first} "
                            f"to train on before the first cut-off, then h {h} + ({n_windows} - 1) x step {step}), "
                            f"got {v.size}")
    return [cutoffs(v.size, h, n_windows, step) for v in panel.values]


def backtest(y, h: int, n_windows: int = 1, step: int | None = None, refit: bool = True, forecaster=None,
             echo=None, **settings):
    """Rolling-origin forecasts of ``y`` (module docstring); ``settings``: ``Forecaster`` arguments (over those
    of ``forecaster``; ``horizon`` defaults to ``h``); ``echo``: a function called with a line per training."""
    check_int("h", h)
    check_int("n_windows", n_windows)
    step = h if step is None else check_int("step", step)
    s = _settings(h, forecaster, settings)
    panel = to_panel(y)
    cuts = _check(panel, Forecaster(**s), h, n_windows, step)
    say = echo or (lambda line: None)
    f = None
    out = []
    for k in range(n_windows):
        ends = [c[k] for c in cuts]
        if f is None or refit:
            t0 = time.perf_counter()
            f = Forecaster(**s).fit(_up_to(y, panel, ends))
            say(f"cut-off {k + 1}/{n_windows}: trained on {sum(ends)} values in {time.perf_counter() - t0:.1f}s")
        out.append(forecast_after(f, y, ends, h))
    assert f is not None
    fq = numpy.stack(out, axis=1)                    # (n_series, n_windows, h, Q)
    cols = {"y_hat": fq[..., f.quantiles.index(0.5)]}
    cols.update({name: fq[..., q] for name, q in interval_columns(f.quantiles)})
    truth = numpy.stack([numpy.stack([v[c:c + h] for c in cs]) for v, cs in zip(panel.values, cuts)])
    if panel.pandas:
        return _frame(panel, numpy.array(cuts), h, truth, cols)
    doc = {"cutoff": numpy.array(cuts), "y": truth, **cols}
    return {k: v[0] for k, v in doc.items()} if panel.kind == "array" else doc


def _dates(panel: Panel, i: int, pd):
    return pd.date_range(end=panel.last_ds[i], periods=panel.values[i].size, freq=panel.freq)


def _frame(panel: Panel, cuts: numpy.ndarray, h: int, truth: numpy.ndarray, cols: dict):
    pd = require("pandas", PURPOSE, "forecast")
    n, k = cuts.shape
    ds, cut = [], []
    for i in range(n):
        dates = _dates(panel, i, pd)
        for c in cuts[i]:
            ds.append(dates[c:c + h].to_numpy())
            cut.append(numpy.repeat(dates[c - 1:c].to_numpy(), h))
    doc = {"unique_id": numpy.repeat(panel.ids, k * h), "ds": numpy.concatenate(ds), "cutoff": numpy.concatenate(cut),
           "y": truth.reshape(-1)}
    doc.update({name: v.reshape(-1) for name, v in cols.items()})
    return pd.DataFrame(doc)


# -- scores -------------------------------------------------------------------------------------------------
def _windows(cv, panel: Panel, pd) -> list:
    """[(series index, window index, cutoff, values seen, {column: (h,) array})] of a backtest's output, each
    window's ``y`` checked to be the values of ``y`` after its cut-off (``_same_truth``)."""
    if isinstance(cv, dict):
        return _dict_windows(cv, panel)
    if not hasattr(cv, "groupby") or any(c not in cv.columns for c in ("unique_id", "ds", "cutoff", "y", "y_hat")):
        raise UserError(f"cv: expected the output of backtest (unique_id, ds, cutoff, y, y_hat, ...), got "
                        f"{list(getattr(cv, 'columns', [])) or type(cv).__name__}")
    rows, index = [], {uid: i for i, uid in enumerate(panel.ids)}
    for uid, g in cv.groupby(cv["unique_id"].astype(str), sort=False):
        if uid not in index:
            raise UserError(f"series {uid}: expected the backtest of the series of y, got one y does not hold")
        dates = _dates(panel, index[uid], pd)
        for k, (cut, w) in enumerate(g.sort_values("ds").groupby("cutoff", sort=True)):
            if cut not in dates:
                raise UserError(f"series {uid}: expected the backtest of the series of y, got a cut-off {cut} that is "
                                f"not among its timestamps")
            cols = {c: real_array(f"cv {c}", w[c].to_numpy()) for c in w.columns if c not in ("unique_id", "ds", "cutoff")}
            rows.append(_same_truth(panel, index[uid], k, cut, int(dates.get_loc(cut)) + 1, cols))
    return rows


def _dict_windows(cv: dict, panel: Panel) -> list:
    if any(c not in cv for c in ("cutoff", "y", "y_hat")):
        raise UserError(f"cv: expected the output of backtest (cutoff, y, y_hat, ...), got keys {sorted(cv)}")
    cuts = real_array("cv cutoff", cv["cutoff"], numpy.int64)
    arrays = {k: real_array(f"cv {k}", v) for k, v in cv.items() if k != "cutoff"}
    if cuts.ndim == 1:
        cuts, arrays = cuts[None], {k: v[None] for k, v in arrays.items()}
    if cuts.ndim != 2 or len(cuts) != len(panel.ids) or any(a.shape[:2] != cuts.shape or a.ndim != 3
                                                             for a in arrays.values()):
        raise UserError(f"cv: expected the backtest of y's {len(panel.ids)} series (cutoff (n_series, n_windows), "
                        f"columns (n_series, n_windows, h)), got cutoff of shape {cuts.shape}")
    return [_same_truth(panel, i, k, int(c), int(c), {name: a[i, k] for name, a in arrays.items()})
            for i in range(cuts.shape[0]) for k, c in enumerate(cuts[i])]


def _same_truth(panel: Panel, i: int, k: int, cut, seen: int, cols: dict) -> tuple:
    """The window, once its ``y`` is what ``y`` holds after the cut-off (else ``cv`` is another series' backtest)."""
    v, truth = panel.values[i], cols["y"]
    after = v[seen:seen + truth.size] if 0 < seen <= v.size else v[:0]
    same = after.size == truth.size and numpy.isclose(after, truth, rtol=1e-9, atol=0)
    if not numpy.all(same):
        j = int(numpy.argmin(same))
        got = (f"{after.size} values after it" if after.size != truth.size else
               f"{float(after[j])!r} where cv's y holds {float(truth[j])!r}")
        raise UserError(f"series {panel.ids[i]}: expected y to be the series cv was made from (its values after "
                        f"cut-off {cut} are cv's y), got {got}")
    return i, k, cut, seen, cols


def _score(y_true, cols: dict, train: numpy.ndarray, m: int) -> dict:
    f = cols["y_hat"]
    scale_ok = train.size > m and numpy.mean(numpy.abs(train[m:] - train[:-m])) > 0
    doc = {"mae": mae(f, y_true), "rmse": rmse(f, y_true), "smape": smape(y_true, f),
           "mase": mase(y_true, f, train, m) if scale_ok else float("nan")}
    for name in cols:
        if name.startswith("lo-") and "hi-" + name[3:] in cols:
            doc["coverage-" + name[3:]] = coverage(y_true, cols[name], cols["hi-" + name[3:]])
    return doc


def backtest_scores(cv, y, season: int | None = None) -> dict:
    """Scores of ``cv`` (what ``backtest(y, ...)`` returned) against ``y``: ``{"windows": [{"window": k,
    "cutoff": ..., "mae": ..., "rmse": ..., "smape": ..., "mase": ..., "coverage-80": ..., "coverage-95": ...}],
    "overall": {...}}``, each a mean over the series (and, overall, over the cut-offs too). ``cutoff`` is the
    window's cut-off when every series shares it, else None."""
    check_int("season", season, 1, none_ok=True)
    panel = to_panel(y)
    pd = require("pandas", PURPOSE, "forecast") if panel.pandas else None
    per = [(k, cut, _score(cols["y"], cols, panel.values[i][:seen], season or 1))
           for i, k, cut, seen, cols in _windows(cv, panel, pd)]
    if not per:
        raise UserError("backtest_scores: expected the output of backtest, got no forecasts")
    keys = list(per[0][2])

    def mean(docs: list) -> dict:
        return {key: float(numpy.mean([d[key] for d in docs])) for key in keys}

    windows = []
    for k in sorted({k for k, _, _ in per}):
        these = [(cut, d) for j, cut, d in per if j == k]
        cuts = {str(cut) for cut, _ in these}
        windows.append({"window": k, "cutoff": these[0][0] if len(cuts) == 1 else None, **mean([d for _, d in these])})
    return {"windows": windows, "overall": mean([d for _, _, d in per])}
