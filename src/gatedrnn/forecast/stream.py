"""Streaming a forecaster: raw values of a series in, the forecast of the next value out, in constant memory."""

from __future__ import annotations

import math

import numpy

from gatedrnn.errors import UserError
from gatedrnn.models.stream import Stream


class SeriesStream:
    """Raw values of a series in, the forecast of the next value (in the series' units) out.

    Built from a forecaster (a ``SequenceRegressor`` with 2 inputs, 1 output, trained by ``gatedrnn forecast``)
    and its ``SeriesScaler`` (and the ``window`` it was trained on, from its meta, for ``header``). The first value
    only primes the change input, so its forecast is NaN. Holds the recurrent state and the previous value: memory
    constant in the length of the stream.

    A value that is not finite, or whose scaled level or change leaves ``limit`` (the scaler's ``LIMIT`` or
    the model's ``Stream.input_limit``, whichever is smaller: beyond, float32 overflows and NaN would stay in
    the recurrent state) is refused with one line starting with ``where``; the state and the previous value
    are left as they were, so the next good value continues as if the bad one never came.
    """

    season: int | None = None    # the model has no season input (only the level and the change)

    def __init__(self, model, scaler, window: int | None = None):
        self.stream = Stream(model)
        if self.stream.input_size != 2 or self.stream.output_size != 1:
            raise UserError(f"SeriesStream: expected a forecaster with 2 inputs and 1 output, got "
                             f"{self.stream.input_size} and {self.stream.output_size}")
        self.scaler, self.window = scaler, window
        self._row = numpy.empty(2, dtype=numpy.float64)
        self.limit = min(scaler.LIMIT, self.stream.input_limit)
        self.last: float | None = None

    def header(self) -> str:
        """The first line ``gatedrnn stream`` prints: ``# window W, season none`` (the window the model was trained
        on; the stream itself runs on from the first value, keeping only the recurrent state)."""
        return f"# window {self.window if self.window is not None else 'unknown'}, season {self.season or 'none'}"

    def reset(self) -> None:
        self.stream.reset()
        self.last = None

    def step(self, value: float, where: str = "SeriesStream.step") -> float:
        value = float(value)
        if not math.isfinite(value):
            raise UserError(f"{where}: expected a finite number, got {value!r}")
        sc, lim = self.scaler, self.limit
        level = (value - sc.mean) / sc.std
        change = 0.0 if self.last is None else (value - self.last - sc.dmean) / sc.dstd
        if not (abs(level) <= lim and abs(change) <= lim):
            raise UserError(f"{where}: expected a value on the scale of the series (scaled level and change within "
                            f"±{lim:.3g}; beyond, the model's float32 overflows), got {value!r}")
        if self.last is None:
            self.last = value
            return math.nan
        self._row[0] = level
        self._row[1] = change
        y = float(self.stream.step(self._row)[0])
        self.last = value
        return float(sc.next_value(value, y))
