"""The baselines every forecast is compared with: the naive (last value) and the seasonal-naive forecast.

naive: the last observed value. Seasonal naive (series with a period): the value one period earlier (for
sunspots the 11-year mean solar cycle, though the cycle's length varies).

Size rule: the baselines that fit something to the history (Naive2's seasonal test and indices, the ARIMA order
search, statsforecast's methods) read only its most recent part, ``recent(history, season)``: the last
``RECENT_VALUES`` values (at least three seasons), cut at a whole number of seasons so that every position keeps
its phase. Their work is then bounded whatever the length of the series (the ARIMA order search ran for more than
300 s on a 1.44M-value CSV); every series of M4, sunspots and co2 is shorter, so their figures do not change.
"""

from __future__ import annotations

import math

import numpy

RECENT_VALUES = 10_000


def recent(history, season: int | None = None) -> numpy.ndarray:
    """The last ``max(RECENT_VALUES, 3 season)`` values of ``history`` (all of it when shorter), the values dropped
    a multiple of ``season`` (module docstring)."""
    x = numpy.asarray(history, dtype=numpy.float64)
    s = season if season and season > 1 else 1
    drop = max(0, x.size - max(RECENT_VALUES, 3 * s)) // s * s
    return x[drop:]


def naive_forecast(history: numpy.ndarray, h: int) -> numpy.ndarray:
    """The last value of ``history``, ``h`` times."""
    return numpy.full(h, history[-1], dtype=numpy.float64)


def seasonal_naive_forecast(history: numpy.ndarray, h: int, period: int) -> numpy.ndarray:
    """``y_hat[o + k - 1] = y[o + k - 1 - period * ceil(k / period)]`` for k = 1..h, o = len(history)."""
    o = len(history)
    return numpy.array([history[o + k - 1 - period * math.ceil(k / period)] for k in range(1, h + 1)])


# -- Naive2, M4's benchmark: the naive forecast of the seasonally adjusted series, reseasonalised ----------------
def acf(x: numpy.ndarray, k: int) -> float:
    """Sample autocorrelation at lag ``k`` (M4's definition: sums over the whole series' mean)."""
    d = numpy.asarray(x, dtype=numpy.float64) - numpy.mean(x)
    return float(numpy.dot(d[k:], d[:len(d) - k]) / numpy.dot(d, d))


def is_seasonal(x: numpy.ndarray, m: int) -> bool:
    """M4's 90 % test: ``|acf(m)| > 1.645 sqrt((1 + 2 s) / n)`` with ``s = acf(1) + sum_{i=2}^{m-1} acf(i)^2``
    (exactly as the organisers' benchmark code writes it: the lag-1 term is not squared)."""
    n = len(x)
    if m < 2 or n <= m:
        return False
    s = acf(x, 1) + sum(acf(x, i) ** 2 for i in range(2, m))
    return abs(acf(x, m)) > 1.645 * math.sqrt((1 + 2 * s) / n)


def centred_moving_average(x: numpy.ndarray, m: int) -> numpy.ndarray:
    """Classical decomposition's trend: the centred m-MA (a 2 x m-MA for even m); NaN where it is undefined."""
    x = numpy.asarray(x, dtype=numpy.float64)
    w = numpy.ones(m) if m % 2 else numpy.r_[0.5, numpy.ones(m - 1), 0.5]
    w = w / m
    half = len(w) // 2
    out = numpy.full(x.size, math.nan)
    if x.size >= len(w):
        out[half:x.size - half] = numpy.convolve(x, w, mode="valid")
    return out


def seasonal_indices(x: numpy.ndarray, m: int) -> numpy.ndarray:
    """Classical multiplicative decomposition's indices (mean 1) of ``x`` by position ``t mod m``, or all ones
    when ``is_seasonal`` says no season."""
    if not is_seasonal(x, m):
        return numpy.ones(m)
    ratio = numpy.asarray(x, dtype=numpy.float64) / centred_moving_average(x, m)
    padded = numpy.r_[ratio, numpy.full(-len(ratio) % m, math.nan)].reshape(-1, m)
    si = numpy.nanmean(padded, axis=0)
    return si / si.mean()


def naive2_forecast(history: numpy.ndarray, h: int, m: int) -> numpy.ndarray:
    """Naive2: ``y[n-1] / si[(n-1) mod m] * si[(n-1+k) mod m]`` for k = 1..h (``seasonal_indices`` of the
    ``recent`` part of ``history``)."""
    x = recent(history, m)
    si = seasonal_indices(x, m) if m > 1 else numpy.ones(1)
    n = x.size
    pos = (n - 1 + numpy.arange(1, h + 1)) % len(si)
    return x[-1] / si[(n - 1) % len(si)] * si[pos]
