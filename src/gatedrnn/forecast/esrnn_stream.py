"""A fitted ``Forecaster(model="esrnn")`` on live data: ``f.stream()`` returns an ``ESRNNStream``, which takes each
series' new values one at a time and gives the next ``horizon`` forecasts with their intervals after every value,
as ``forecast.live.ForecastStream`` does for the window model (the same ``push``, ``problem``, ``series``, ``ids``
and ``columns``: ``gatedrnn stream FOLDER`` runs either).

Nothing is re-read: per series and member the stream holds the ES-RNN's state (``models/esrnn_step.py``: level,
seasonal rings, the last window of de-seasonalised values, the network's state per dilated layer), and each value
updates it in O(1) time and memory. The stream starts where every fitted series ended (the saved spans are run
once when it is made), so its forecasts equal ``predict`` on the same history (the fitted values followed by the
pushed ones) to round-off. A refused value (not a finite number, beyond ``checks.VALUE_LIMIT``, <= 0 under the
multiplicative form, or one whose forecast would not be finite) is one ``UserError`` line and leaves every series
as it was.
"""

from __future__ import annotations

import math
import numbers

import numpy

from gatedrnn.errors import UserError, show
from gatedrnn.forecast.checks import VALUE_LIMIT
from gatedrnn.forecast.live import check_streamable, stream_columns


class ESRNNStream:
    """Forecasts after every new value of each series (module docstring)."""

    def __init__(self, f):
        check_streamable(f)
        self.forecaster = f
        self.ids = list(f.panel.ids)
        self._index = {name: i for i, name in enumerate(self.ids)}
        self.columns = stream_columns(f)
        self.states = f.step_states()
        self.mult = f.seasonality == "multiplicative"

    def series(self, id=None) -> int:
        """The row of series ``id`` (None: the only series)."""
        if id is None:
            if len(self.ids) != 1:
                raise UserError(f"stream: expected a series id (the forecaster has {len(self.ids)} series), got none")
            return 0
        key = str(id)
        if key not in self._index:
            raise UserError(f"stream: expected an id the forecaster was fitted on, got {show(id)}")
        return self._index[key]

    def problem(self, value, id=None) -> str | None:
        """Why ``value`` cannot be pushed into series ``id``, or None."""
        if id is not None and str(id) not in self._index:
            return f"expected an id the forecaster was fitted on, got {show(id)}"
        if id is None and len(self.ids) != 1:
            return f"expected a series id (the forecaster has {len(self.ids)} series), got none"
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
            return f"expected a finite number, got {show(value)}"
        if abs(float(value)) > VALUE_LIMIT:
            return f"expected a value within {VALUE_LIMIT:g}, got {float(value):g}"
        if self.mult and float(value) <= 0:
            return (f"series {self.ids[self.series(id)]}: expected positive values for multiplicative seasonality, "
                    f"got {float(value):g}")
        return None

    def forecast(self, i: int) -> numpy.ndarray:
        """(horizon, Q): the members' median forecast of series row ``i`` now."""
        fc = [s.forecast([i])[0] for s in self.states]
        return numpy.sort(numpy.median(numpy.stack(fc), axis=0), axis=1) if len(fc) > 1 else fc[0]

    def push(self, value, id=None) -> dict:
        """Add ``value`` to series ``id``; its next ``horizon`` forecasts by column (``y_hat``, ``lo-80`` ...)."""
        bad = self.problem(value, id)
        if bad is not None:
            raise UserError(bad)
        i = self.series(id)
        saved = [s.copy_rows([i]) for s in self.states]
        for s in self.states:
            s.push([i], [float(value)])
        out = self.forecast(i)
        if not numpy.isfinite(out).all():
            for s, doc in zip(self.states, saved):
                s.restore([i], doc)
            raise UserError(f"series {self.ids[i]}: expected a value whose forecast is finite, got {float(value)!r}")
        return {name: out[:, k].copy() for name, k in self.columns}
