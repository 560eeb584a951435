"""Forecast errors over the held-out tail: ``rmse``/``mae`` (forecast first), and M4's measures (truth first, as in
M4's own code): ``smape``, ``mase``, ``msis``, ``coverage`` per series and ``owa`` over a dataset's means."""

from __future__ import annotations

import math

import numpy

from gatedrnn.errors import UserError


def rmse(f, y) -> float:
    """Root mean squared error of the forecast ``f`` against the truth ``y`` (errors whose squares overflow
    float64 are scaled by the largest first, so that a finite error never gives an infinite RMSE)."""
    e = numpy.asarray(f, dtype=numpy.float64) - numpy.asarray(y, dtype=numpy.float64)
    with numpy.errstate(over="ignore"):
        r = float(numpy.sqrt(numpy.mean(e ** 2)))
    if math.isinf(r) and numpy.isfinite(e).all():
        top = float(numpy.abs(e).max())
        r = top * float(numpy.sqrt(numpy.mean((e / top) ** 2)))
    return r


def mae(f, y) -> float:
    """Mean absolute error of the forecast ``f`` against the truth ``y``."""
    return float(numpy.mean(numpy.abs(numpy.asarray(f) - numpy.asarray(y))))


# -- M4's measures (Makridakis, Spiliotis, Assimakopoulos 2020, "The M4 Competition: 100,000 time series and 61
# forecasting methods", section 2.3) for one series; a dataset's figure is the mean over its series -----------
def _pair(y, f) -> tuple[numpy.ndarray, numpy.ndarray]:
    y, f = numpy.asarray(y, dtype=numpy.float64), numpy.asarray(f, dtype=numpy.float64)
    if y.shape != f.shape:
        raise UserError(f"metric: expected a forecast of shape {y.shape} like the truth, got {f.shape}")
    return y, f


def smape(y, f) -> float:
    """``200 / h * sum |y - f| / (|y| + |f|)`` (percent; 0 where both are 0)."""
    y, f = _pair(y, f)
    d = numpy.abs(y) + numpy.abs(f)
    return float(200.0 * numpy.mean(numpy.where(d > 0, numpy.abs(y - f) / numpy.where(d > 0, d, 1), 0.0)))


def seasonal_scale(train, m: int) -> float:
    """MASE's scale: the in-sample mean absolute error of the seasonal naive forecast at lag ``m`` (1: naive)."""
    x = numpy.asarray(train, dtype=numpy.float64)
    if x.size <= m:
        raise UserError(f"MASE: expected more than {m} training values for the seasonal naive scale, got {x.size}")
    scale = float(numpy.mean(numpy.abs(x[m:] - x[:-m])))
    if not scale > 0:
        raise UserError(f"MASE: expected a training part that is not exactly periodic with period {m} (scale 0), got one")
    return scale


def mase(y, f, train, m: int) -> float:
    """Mean absolute error of ``f`` divided by ``seasonal_scale(train, m)``."""
    y, f = _pair(y, f)
    return float(numpy.mean(numpy.abs(y - f)) / seasonal_scale(train, m))


def msis(y, lo, hi, train, m: int, alpha: float = 0.05) -> float:
    """M4's mean scaled interval score of the (1 - alpha) interval [lo, hi]: width plus 2 / alpha times the
    distance of every value outside it, averaged, over ``seasonal_scale(train, m)``."""
    y, lo = _pair(y, lo)
    _, hi = _pair(y, hi)
    score = (hi - lo) + 2 / alpha * ((lo - y) * (y < lo) + (y - hi) * (y > hi))
    return float(numpy.mean(score) / seasonal_scale(train, m))


def coverage(y, lo, hi) -> float:
    """The share of values inside [lo, hi]."""
    y, lo = _pair(y, lo)
    _, hi = _pair(y, hi)
    return float(numpy.mean((y >= lo) & (y <= hi)))


def owa(smape_mean: float, mase_mean: float, naive2_smape: float, naive2_mase: float) -> float:
    """M4's overall weighted average: the mean of a method's sMAPE and MASE, each relative to Naive2's (all four
    are means over the dataset's series)."""
    return 0.5 * (smape_mean / naive2_smape + mase_mean / naive2_mase)
