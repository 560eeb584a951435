"""Forecast errors over the held-out tail."""

from __future__ import annotations

import math

import numpy


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
