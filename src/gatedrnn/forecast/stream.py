"""Streaming a forecaster: raw values of a series in, the forecast of the next value out, in constant memory."""

from __future__ import annotations

import math

import numpy

from gatedrnn.errors import UserError
from gatedrnn.models.stream import Stream


class SeriesStream:
    """Raw values of a series in, the forecast of the next value (in the series' units) out.

    Built from a forecaster (a ``SequenceRegressor`` with 2 inputs, 1 output, trained by ``gatedrnn forecast``)
    and its ``SeriesScaler``. The first value only primes the change input, so its forecast is NaN. Holds the
    recurrent state and the previous value: memory constant in the length of the stream.
    """

    def __init__(self, model, scaler):
        self.stream = Stream(model)
        if self.stream.input_size != 2 or self.stream.output_size != 1:
            raise UserError(f"SeriesStream: expected a forecaster with 2 inputs and 1 output, got "
                             f"{self.stream.input_size} and {self.stream.output_size}")
        self.scaler = scaler
        self._row = numpy.empty(2, dtype=numpy.float64)
        self.last = None

    def reset(self) -> None:
        self.stream.reset()
        self.last = None

    def step(self, value: float) -> float:
        value = float(value)
        if not math.isfinite(value):
            raise UserError(f"SeriesStream.step: expected a finite number, got {value!r}")
        if self.last is None:
            self.last = value
            return math.nan
        sc = self.scaler
        self._row[0] = (value - sc.mean) / sc.std
        self._row[1] = (value - self.last - sc.dmean) / sc.dstd
        y = float(self.stream.step(self._row)[0])
        self.last = value
        return float(sc.next_value(value, y))
