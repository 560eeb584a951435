"""A fitted ``Forecaster`` on live data: ``Forecaster.stream()`` returns a ``ForecastStream``, which takes each
series' new values one at a time and gives, after every value, the next ``horizon`` forecasts with their
intervals::

    s = f.stream()                   # starts where each fitted series ended (its saved last window)
    out = s.push(101.5)              # one series; s.push(7.2, "H12") for a panel model
    out["y_hat"], out["lo-80"]       # (horizon,) each: the columns of Forecaster.predict

Per series the stream holds a ring buffer of the last ``window`` values and the series' length (for the season
position): memory fixed when the stream is made, whatever the number of values pushed. Each forecast is
``Forecaster.quantile_forecast`` of that window, so it equals ``predict`` on the same history (the fitted values
followed by the pushed ones).

Refused with one ``UserError`` line, the state left as it was: a value that is not a finite number, one beyond
``checks.VALUE_LIMIT`` or one whose forecast would not be finite (it overflows once normalised and put back),
an id the forecaster was not fitted on, a forecaster with covariates (a stream cannot know their future values),
an unfitted one.
"""

from __future__ import annotations

import math
import numbers

import numpy

from gatedrnn.errors import UserError, show
from gatedrnn.forecast.checks import VALUE_LIMIT
from gatedrnn.forecast.forecaster import interval_columns


def stream_columns(f) -> list:
    """[(column name, quantile index)]: ``y_hat`` (the median) then ``lo-L``/``hi-L`` as ``predict`` names them."""
    return [("y_hat", f.quantiles.index(0.5)), *interval_columns(f.quantiles)]


def check_streamable(f, what: str = "Forecaster.stream") -> None:
    """One line unless ``f`` is fitted and has no covariates."""
    if not getattr(f, "models", None) or getattr(f, "panel", None) is None:
        raise UserError(f"{what}: expected a fitted forecaster (fit or load first), got none")
    if f.covariates:
        raise UserError(f"{what}: expected a forecaster without covariates (a stream cannot know their future "
                        f"values), got covariates {list(f.covariates)[:5]}")


class ForecastStream:
    """Forecasts after every new value of each series (module docstring)."""

    def __init__(self, f):
        check_streamable(f)
        panel, W = f.panel, f.window
        self.forecaster, self.window = f, W
        self.ids = list(panel.ids)
        self._index = {name: i for i, name in enumerate(self.ids)}
        self.columns = stream_columns(f)
        tails, starts = f._tails(panel)       # predict's own last windows (a short series padded, if the model may)
        self.ring = numpy.array(tails, dtype=numpy.float64)                       # (n, W)
        self.oldest = numpy.zeros(len(self.ids), dtype=numpy.int64)    # ring position of each window's first value
        self.length = numpy.asarray(starts, dtype=numpy.int64) + W      # values seen per series

    @property
    def nbytes(self) -> int:
        """The bytes the stream's state holds (fixed when it is made)."""
        return self.ring.nbytes + self.oldest.nbytes + self.length.nbytes

    def problem(self, value, id=None) -> str | None:
        """Why ``push(value, id)`` would be refused (one line), or None: the checks without raising, for a caller
        that reports a bad value and goes on (``gatedrnn stream``)."""
        if id is None and len(self.ids) != 1:
            return (f"series id: expected one of the {len(self.ids)} series the forecaster was fitted on (e.g. "
                    f"{show(self.ids[0])}), got none")
        if id is not None and str(id) not in self._index:
            some = ", ".join(repr(i) for i in self.ids[:3])
            return (f"series id: expected one the forecaster was fitted on ({some}{', ...' if len(self.ids) > 3 else ''}"
                    f"), got {str(id)[:60]!r}")
        name = self.ids[self.series(id)]
        if isinstance(value, bool) or not isinstance(value, (numbers.Real, numpy.floating, numpy.integer)):
            return f"series {name}: expected a number, got {show(value)}"
        v = float(value)
        if not math.isfinite(v) or abs(v) > VALUE_LIMIT:
            return (f"series {name}: expected a finite value within ±{VALUE_LIMIT:g} (beyond, the window's "
                    f"normalisation overflows), got {v!r}")
        return None

    def series(self, id=None) -> int:
        """The row of series ``id`` (None: the only series of a one-series model); one line for an unknown id."""
        if id is None and len(self.ids) == 1:
            return 0
        if id is None or str(id) not in self._index:
            raise UserError(self.problem(0.0, id) or f"series id: got {id!r}")
        return self._index[str(id)]

    def window_of(self, i: int) -> numpy.ndarray:
        """Series ``i``'s last ``window`` values, oldest first (a copy)."""
        return numpy.roll(self.ring[i], -int(self.oldest[i]))

    def _forecast(self, i: int, w: numpy.ndarray, length: int) -> dict:
        f = self.forecaster
        fq = f.quantile_forecast(w[None], numpy.array([length - self.window]), ids=[self.ids[i]])[0]
        return {name: fq[:, k].copy() for name, k in self.columns}

    def forecast(self, id=None) -> dict:
        """The columns of ``predict`` ((horizon,) each) after the values seen so far of series ``id``."""
        i = self.series(id)
        return self._forecast(i, self.window_of(i), int(self.length[i]))

    def push(self, value, id=None) -> dict:
        """Add ``value`` to series ``id`` and return its next ``horizon`` forecasts (``forecast``); a refused value
        (module docstring) leaves every series as it was."""
        bad = self.problem(value, id)
        if bad is not None:
            raise UserError(bad)
        i, v = self.series(id), float(value)
        w = self.window_of(i)
        w[:-1], w[-1] = w[1:].copy(), v
        out = self._forecast(i, w, int(self.length[i]) + 1)     # raises before anything changes
        self.ring[i, self.oldest[i]] = v
        self.oldest[i] = (self.oldest[i] + 1) % self.window
        self.length[i] += 1
        return out
