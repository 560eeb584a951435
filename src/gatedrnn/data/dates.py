"""The dates of a CSV series (pandas, optional) and the filling of its gaps.

* ``find_dates(names, columns, target, date_column, where)``: the date column of a CSV file and its parsed dates
  (``gatedrnn.data.stamps.parse_text``: every cell a full date with its year, in one format; ``01/02/2020`` is
  month first unless some date in the column only parses day first; a column of 4-digit integers is years;
  several UTC offsets are read as UTC, said in the note). With ``date_column`` that column, every cell of it a
  date or one line naming the first that is not. Without it the one column, other than the target, whose cells
  are not all numbers and all full dates; a column most of whose cells are dates but not all (another format, a
  blank, a year out of range) is one line naming the cell, never dropped without a word; a column of times of day
  alone (``10:00``) is not read as dates and the note says so (pandas would give them today's date). Several
  date columns need ``date_column``; none: the series has no dates (row numbers). Without pandas the dates are
  not read (row numbers, and a note saying so) and ``date_column`` is a one-line ``MissingDependency``.
* ``regular_grid(dates, where)``: the frequency of increasing, unique timestamps and the regular grid from the
  first to the last one, inferred even when some timestamps are missing (the coarsest pandas frequency, among
  those of the regular stretches, whose grid holds every timestamp).
* ``fill_gaps(values, fill, where, describe)``: NaN values (missing cells or missing timestamps) refused with one
  line naming them (``fill="error"``) or filled by linear interpolation between their neighbours
  (``"interpolate"``; a gap at the start or the end has no neighbour on one side and is refused);
  ``regularise`` puts the values on the dates' regular grid first (a missing timestamp is a gap too).
"""

from __future__ import annotations

import warnings

import numpy

from gatedrnn.data.numbers import is_number
from gatedrnn.data.stamps import MISSING, parse_text, share_of_dates
from gatedrnn.errors import UserError, require

PURPOSE = "reading the dates of a CSV file"
FILLS = ("error", "interpolate")


def _pandas():
    """pandas, or None when it is not installed (the dates are then not read)."""
    try:
        import pandas
    except ImportError:
        return None
    return pandas


def _named(pd, names: list, columns: list, target: int, date_column: str, where: str, lines: list):
    """(index, dates, note) of the column ``date_column``: every cell a full date, else one line naming the cell."""
    if date_column not in names:
        raise UserError(f"{where}: expected --date-column to be one of {names}, got {date_column!r}")
    col = names.index(date_column)
    if col == target:
        raise UserError(f"{where}: expected --date-column to name another column than the values', got "
                        f"{date_column!r} for both")
    parsed = parse_text(pd, columns[col])
    if parsed.bad is not None:
        raise UserError(f"{where}: expected a date in every cell of column {date_column!r}, got "
                        f"{parsed.problem(columns[col], f'on line {lines[parsed.bad or 0]}')}")
    return col, parsed.dates, parsed.note


def find_dates(names: list, columns: list, target: int, date_column: str | None, where: str, lines: list):
    """(index of the date column or None, its dates or None, a note). ``columns[i]``: the stripped cells of
    column ``i``; ``lines``: their line numbers in the file."""
    if date_column is not None:
        return _named(require("pandas", PURPOSE, "forecast"), names, columns, target, date_column, where, lines)
    others = [i for i in range(len(names)) if i != target
              and not all(is_number(c) for c in columns[i] if c.lower() not in MISSING)]
    pd = _pandas()
    if pd is None:
        note = (f"; column {names[others[0]]!r} not read as dates: pandas is not installed (pip install "
                "'gatedrnn[forecast]')" if others else "")
        return None, None, note
    found, note = [], ""
    for i in others:
        cells = columns[i]
        parsed = parse_text(pd, cells)
        if parsed.dates is not None:
            found.append((i, parsed))
        elif parsed.no_year:            # a time of day: never today's date; said, and the rows are numbered
            note += f"; column {names[i]!r} not read as dates: {parsed.problem(cells, f'on line {lines[parsed.bad or 0]}')}"
        elif share_of_dates(cells) > 0.5:   # a date column with a bad cell: never dropped without a word
            raise UserError(f"{where}: expected a date in every cell of the date column {names[i]!r}, got "
                            f"{parsed.problem(cells, f'on line {lines[parsed.bad or 0]}')}")
    if len(found) > 1:
        raise UserError(f"{where}: expected --date-column NAME to pick one of the date columns "
                        f"{[names[i] for i, _ in found]}, got several")
    return (found[0][0], found[0][1].dates, note + found[0][1].note) if found else (None, None, note)


def _check_order(dates, where: str, lines: list) -> None:
    if dates.has_duplicates:
        k = int(numpy.argmax(dates.duplicated()))
        first = int(numpy.argmax(dates == dates[k]))
        raise UserError(f"{where}: expected unique timestamps, got {iso(dates[k:k + 1])[0]} twice (lines {lines[first]}, "
                        f"{lines[k]})")
    if not dates.is_monotonic_increasing:
        k = int(numpy.argmax(numpy.diff(dates.asi8) < 0)) + 1
        a, b = iso(dates[k - 1:k + 1])
        raise UserError(f"{where}: expected timestamps in increasing order, got {b} on line {lines[k]} after {a}")


def _infer(pd, dates) -> str | None:
    with warnings.catch_warnings():        # pandas 3 warns that infer_freq will return an offset: take its string
        warnings.simplefilter("ignore")
        freq = pd.infer_freq(dates) if len(dates) >= 3 else None
    return getattr(freq, "freqstr", freq)


def regular_grid(dates, where: str, lines: list):
    """(frequency, the regular DatetimeIndex from the first to the last of ``dates``); a one-line error when
    they are duplicated, unsorted or follow no frequency."""
    pd = require("pandas", PURPOSE, "forecast")
    _check_order(dates, where, lines)
    if len(dates) < 3:                     # too few to infer: the one step between two dates, or none
        step = pd.tseries.frequencies.to_offset(dates[1] - dates[0]).freqstr if len(dates) == 2 else None
        return step, dates
    freq = _infer(pd, dates)
    if freq is not None:
        return freq, dates
    starts = numpy.unique(numpy.linspace(0, max(len(dates) - 3, 0), num=min(64, max(len(dates) - 2, 1))).astype(int))
    votes: dict = {}
    for i in starts:
        f = _infer(pd, dates[i:i + 3])
        if f is not None:
            votes[f] = votes.get(f, 0) + 1
    for f in sorted(votes, key=lambda f: -votes[f]):
        grid = pd.date_range(dates[0], dates[-1], freq=f)
        if grid.get_indexer(dates).min() >= 0:
            return f, grid
    raise UserError(f"{where}: expected regular timestamps whose frequency can be inferred, got none (first "
                    f"{', '.join(iso(dates[:3]))})")


def iso(stamps) -> list:
    """ISO texts of pandas timestamps: ``2020-01-31`` when every one is at midnight, else ``2020-01-31T13:00:00``."""
    pd = require("pandas", PURPOSE, "forecast")
    stamps = pd.DatetimeIndex(stamps)
    midnight = bool((stamps == stamps.normalize()).all())
    return list(stamps.strftime("%Y-%m-%d" if midnight else "%Y-%m-%dT%H:%M:%S"))


def listed(items: list, limit: int = 10) -> str:
    """``a, b, c`` (the first ``limit``, then how many in all)."""
    shown = ", ".join(map(str, items[:limit]))
    return shown + (f" ... ({len(items)} in all)" if len(items) > limit else "")


def fill_gaps(values: numpy.ndarray, fill: str, where: str, describe) -> numpy.ndarray:
    """``values`` with its NaN filled linearly (``fill="interpolate"``) or a one-line error naming the gaps
    (``describe(positions)`` says what the NaN at those positions are, e.g. ``missing values on lines 14, 15``)."""
    gaps = numpy.flatnonzero(numpy.isnan(values))
    if gaps.size == 0:
        return values
    if fill == "error":
        raise UserError(f"{where}: expected no gaps, got {describe(gaps)} (use --fill interpolate)")
    known = numpy.flatnonzero(~numpy.isnan(values))
    ends = gaps[(gaps < known[0]) | (gaps > known[-1])] if known.size else gaps
    if ends.size:
        raise UserError(f"{where}: expected a value before and after every gap to interpolate between, got "
                        f"{describe(ends)} at the start or the end")
    out = values.copy()
    out[gaps] = numpy.interp(gaps, known, values[known])
    return out


def regularise(values: numpy.ndarray, lines: list, dates, fill: str, where: str, where_dates: str):
    """(values on the regular grid of ``dates`` (None: as they are) with every gap filled or refused (one line
    naming the lines of the missing cells and the missing timestamps), the grid as datetime64 or None, the
    frequency or None, how many gaps were filled)."""
    freq, grid = None, None
    at_line = dict(enumerate(lines))
    if dates is not None:
        freq, grid = regular_grid(dates, where_dates, lines)
        pos = grid.get_indexer(dates)
        full = numpy.full(len(grid), numpy.nan)
        full[pos] = values
        at_line = dict(zip(pos.tolist(), lines))
        values = full

    def describe(gaps) -> str:
        cells = [at_line[k] for k in gaps.tolist() if k in at_line]
        stamps = iso([grid[k] for k in gaps.tolist() if k not in at_line]) if grid is not None else []
        parts = [f"missing values on line{'s' if len(cells) > 1 else ''} {listed(cells)}"] if cells else []
        if stamps:
            parts.append(f"missing timestamp{'s' if len(stamps) > 1 else ''} {listed(stamps)} (frequency {freq})")
        return " and ".join(parts)

    gaps = int(numpy.isnan(values).sum())
    values = fill_gaps(values, fill, where, describe)
    return values, (None if grid is None else grid.to_numpy()), freq, gaps
