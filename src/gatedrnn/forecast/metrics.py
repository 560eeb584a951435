"""Forecast errors over the held-out tail."""

from __future__ import annotations

import numpy


def rmse(f, y) -> float:
    """Root mean squared error of the forecast ``f`` against the truth ``y``."""
    return float(numpy.sqrt(numpy.mean((numpy.asarray(f) - numpy.asarray(y)) ** 2)))


def mae(f, y) -> float:
    """Mean absolute error of the forecast ``f`` against the truth ``y``."""
    return float(numpy.mean(numpy.abs(numpy.asarray(f) - numpy.asarray(y))))
