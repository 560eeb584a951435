"""The baselines every forecast is compared with: the naive (last value) and the seasonal-naive forecast.

naive: the last observed value. Seasonal naive (series with a period): the value one period earlier (for
sunspots the 11-year mean solar cycle, though the cycle's length varies).
"""

from __future__ import annotations

import math

import numpy


def naive_forecast(history: numpy.ndarray, h: int) -> numpy.ndarray:
    """The last value of ``history``, ``h`` times."""
    return numpy.full(h, history[-1], dtype=numpy.float64)


def seasonal_naive_forecast(history: numpy.ndarray, h: int, period: int) -> numpy.ndarray:
    """``y_hat[o + k - 1] = y[o + k - 1 - period * ceil(k / period)]`` for k = 1..h, o = len(history)."""
    o = len(history)
    return numpy.array([history[o + k - 1 - period * math.ceil(k / period)] for k in range(1, h + 1)])
