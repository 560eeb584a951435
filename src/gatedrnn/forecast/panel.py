"""Panels that mix long and short series: how the ``Forecaster`` treats a series shorter than ``window + horizon``.

Such a series is kept and forecast. It is padded on the left with its own first value up to the window, and the
network reads one more input, a mask: 1 on the series' own values, 0 on the padding (``features.inputs``; the
index of a padded step is negative). The window's level and spread are those of the padded window, so the padding
only repeats the first value, it never invents a level. The window is not shrunk: one network, one window for
every series, so that a stream or a C export keeps one ring buffer of ``window`` values per series.

``mask=None`` (the default) turns the mask input on when some series is shorter than ``window + horizon`` (the
setting is recorded once fitted); with it on, the training windows of every series may begin up to ``window - 1``
steps before the series' first value, so that the network sees every amount of padding. A series of at most
``horizon`` values has no complete target to train on, but it is still forecast from its padded window; a panel
where no series has ``horizon + 1`` values is refused in one line. ``mask=False`` keeps the older rule: every
series at least ``window + horizon`` values, else one line naming it.
"""

from __future__ import annotations

import numpy

from gatedrnn.errors import UserError
from gatedrnn.forecast.features import Panel, check_lengths


def check_not_empty(panel: Panel) -> None:
    """Every series holds at least one value (a forecast needs one to start from)."""
    for name, v in zip(panel.ids, panel.values):
        if v.size == 0:
            raise UserError(f"series {name}: expected at least one value, got none")


def resolve_mask(mask, panel: Panel, window: int, out: int, what: str) -> bool:
    """The mask setting for ``panel``: ``None`` -> whether some series is shorter than ``window + out``; with
    ``False`` every series must be that long (``what`` names the need in the one-line error)."""
    check_not_empty(panel)
    short = any(v.size < window + out for v in panel.values)
    if mask is None:
        return short
    if not mask:
        check_lengths(panel, window + out, what)
    return bool(mask)


def last_windows(values: list, window: int) -> tuple[numpy.ndarray, numpy.ndarray]:
    """(tails (n, window), starts (n,)): the last ``window`` values of each series, a short one padded on the left
    with its first value, and the index of each tail's first value in its series (negative when padded)."""
    tails = numpy.stack([numpy.concatenate([numpy.full(max(window - v.size, 0), v[0]), v[-window:]])
                         for v in values])
    starts = numpy.array([v.size - window for v in values], dtype=numpy.int64)
    return tails, starts
