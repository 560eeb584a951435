"""Timestamps from a file's text or a DataFrame's ``ds`` column: the one place where dates are parsed, strictly.

pandas' ``to_datetime`` guesses where a reader should not: a time of day alone (``10:00``) gets today's date, a
day without its year (``5 Jan``) this year, integers become nanoseconds since 1970, cells in another format than
the first become NaT, and text it cannot read together raises ``DateParseError`` or a mixed-timezone
``ValueError`` rather than naming the cell. Every reader of dates goes through here instead:

* ``parse_text(pd, cells)`` -> ``Parsed``: stripped strings as a DatetimeIndex when every cell is a full date
  (with its year) in one format (month first, or day first when only that reads every cell; a column of 4-digit
  integers as years, of 8 digits as 20200131; other integers are refused, never nanoseconds or days), with UTC
  offsets on all cells or on none (several different offsets are read as UTC and the note says so); else the
  index of the first cell that is not and why (``Parsed.problem``).
* ``frame_stamps(pd, column, where)``: a DataFrame column: datetime64 (naive or with a time zone) as it is,
  text by ``parse_text``, Timestamps and datetimes through pandas; numbers, bools, missing values (NaN, None, NaT)
  and anything else are a one-line ``UserError`` naming the row.
"""

from __future__ import annotations

import datetime
import re
import warnings
from dataclasses import dataclass

import numpy

from gatedrnn.errors import UserError

_OFFSET = re.compile(r"(?:Z|[+-][0-9]{2}:?[0-9]{2}|\s?(?:UTC|GMT))$", re.IGNORECASE)   # a UTC offset at the end
_YEARS = re.compile(r"[0-9]{4}")
_INTEGER = re.compile(r"[+-]?[0-9]+")
MISSING = ("", "nan", "nat", "na", "n/a", "#n/a", "null", "none")     # a missing cell (lower case)


@dataclass
class Parsed:
    """What ``parse_text`` made of a column: ``dates`` (a DatetimeIndex) when every cell is a full date, else
    ``bad`` (the index of the first cell that is not) and ``why`` (what it is, after the cell itself)."""

    dates: object = None
    note: str = ""
    bad: int | None = None
    why: str = ""
    no_year: bool = False       # every cell read, but as a time of day or a day without its year

    def problem(self, cells: list, place: str) -> str:
        """``'CELL' on line 4 (why)`` for a message (``place``: where the cell is)."""
        k = self.bad or 0
        cell = f"{cells[k][:40]!r}" if cells[k] else "an empty cell"
        return f"{cell} {place} ({self.why})"


def _to_datetime(pd, cells: list, **kw):
    """``cells`` as a DatetimeIndex (NaT where a cell is no date), or the first line of pandas' error when it cannot
    read them together (several UTC offsets without ``utc=True``, time zones it does not know)."""
    with warnings.catch_warnings():         # pandas warns when it infers a day-first format: that is wanted here
        warnings.simplefilter("ignore")
        try:
            return pd.DatetimeIndex(pd.to_datetime(pd.Index(cells, dtype=object), errors="coerce", **kw))
        except ValueError as exc:           # "Mixed timezones detected", DateParseError (a ValueError)
            return str(exc).splitlines()[0][:80]


def _guess(pd, cell: str, dayfirst: bool):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.tseries.api.guess_datetime_format(cell, dayfirst=dayfirst)


def has_year(cell: str) -> bool:
    """Whether ``cell`` reads as a date that names its year (dateutil, which pandas falls back to, fills a
    missing year, month or day from today: read with two different defaults, the year must not change)."""
    from dateutil import parser

    try:
        a = parser.parse(cell, default=datetime.datetime(2001, 1, 1))
        b = parser.parse(cell, default=datetime.datetime(2002, 2, 2))
    except (ValueError, OverflowError):     # dateutil's ParserError is a ValueError
        return False
    return a.year == b.year


def _first_without_year(pd, cells: list, dayfirst: bool) -> int | None:
    """The index of the first cell read without its year, or None. pandas reads a whole column in the format of
    its first cell when it can guess one (then that format decides), else each cell with dateutil (then each)."""
    fmt = _guess(pd, cells[0], dayfirst)
    if fmt is not None:
        return None if ("%Y" in fmt or "%y" in fmt) else 0
    seen: dict = {}
    for k, cell in enumerate(cells):
        if cell not in seen:
            seen[cell] = has_year(cell)
        if not seen[cell]:
            return k
    return None


def _offsets(cells: list) -> Parsed | None:
    """A ``Parsed`` problem when some cells carry a UTC offset and others do not, else None."""
    aware = numpy.array([_OFFSET.search(c) is not None for c in cells], dtype=bool)
    if aware.any() and not aware.all():
        k = int(numpy.argmax(aware != aware[0]))
        why = ("a UTC offset after timestamps without one" if aware[k] else
               "no UTC offset after timestamps with one")
        return Parsed(bad=k, why=f"{why}, e.g. {cells[0][:40]!r}")
    return None


def _parse(pd, cells: list, aware: bool) -> tuple:
    """(DatetimeIndex with NaT where a cell is no date, or pandas' error; note; dayfirst): month first, or day
    first when that reads more cells; several UTC offsets read as UTC."""
    if all(_YEARS.fullmatch(c) for c in cells):
        return _to_datetime(pd, cells, format="%Y"), "", False
    first, note = _to_datetime(pd, cells), ""
    if isinstance(first, str) and aware:    # UTC offsets that differ (summer time): one instant each, in UTC
        first, note = _to_datetime(pd, cells, utc=True), "; timestamps with different UTC offsets read as UTC"
        first = first if isinstance(first, str) else first.tz_convert(None)     # UTC, without a time zone
    year_first = (_guess(pd, cells[0], False) or "").startswith("%Y")    # 2020-13-01 is a typo, not day first
    if not isinstance(first, str) and first.isna().any() and not note and not year_first:
        second = _to_datetime(pd, cells, dayfirst=True)
        if not isinstance(second, str) and second.isna().sum() < first.isna().sum():
            return second, note, True
    return first, note, False


def parse_text(pd, cells: list) -> Parsed:
    """``cells`` (stripped strings, at least one) as dates, strictly (see the module docstring)."""
    blank = next((k for k, c in enumerate(cells) if c.lower() in MISSING), None)
    if blank is not None:
        return Parsed(bad=blank, why="a missing date")
    if all(_INTEGER.fullmatch(c) for c in cells) and "%Y" not in (_guess(pd, cells[0], False) or ""):
        return Parsed(bad=0, why="integers are not read as dates, only 4-digit years and the like of 20200131 are")
    mixed = _offsets(cells)
    if mixed is not None:
        return mixed
    aware = _OFFSET.search(cells[0]) is not None
    dates, note, dayfirst = _parse(pd, cells, aware)
    if isinstance(dates, str):
        return Parsed(bad=0, why=f"pandas cannot read these timestamps together: {dates}")
    if dates.isna().any():
        k = int(numpy.argmax(dates.isna()))
        return Parsed(bad=k, why=f"no date in the format of the first cell {cells[0][:40]!r}, or a year pandas cannot "
                                 "hold")
    undated = _first_without_year(pd, cells, dayfirst)
    if undated is not None:
        return Parsed(bad=undated, no_year=True, why="a time of day or a date without its year, which pandas would "
                                               "complete with today's date")
    return Parsed(dates=dates, note=note)


def share_of_dates(cells: list, sample: int = 200) -> float:
    """The share of the non-blank cells (up to ``sample`` of them, spread over the column) that read as full
    dates on their own: what tells a date column with a bad cell from a column of text."""
    full = [c for c in cells if c.lower() not in MISSING]
    if not full:
        return 0.0
    picks = numpy.unique(numpy.linspace(0, len(full) - 1, num=min(sample, len(full))).astype(int))
    return sum(has_year(full[i]) for i in picks) / len(picks)


def frame_stamps(pd, column, where: str):
    """A DataFrame's ``ds`` column (a pandas Series) as a DatetimeIndex, or a one-line ``UserError`` naming the
    row (see the module docstring)."""
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        ds = pd.DatetimeIndex(column)
    elif column.dtype.kind in "biufc":
        raise UserError(f"{where}: expected timestamps in ds (datetime64 or text such as 2020-01-31), got "
                        f"{column.dtype} values {numpy.asarray(column)[:3].tolist()}: numbers are not read as dates (as "
                        f"nanoseconds since 1970); convert them with pandas.to_datetime(..., unit=...)")
    else:
        ds = _object_stamps(pd, list(column), where)
    if ds.isna().any():
        k = int(numpy.argmax(ds.isna()))
        raise UserError(f"{where}: expected a timestamp in every row of ds, got a missing one (NaT) at row {k}")
    return ds


def _object_stamps(pd, values: list, where: str):
    """Text, Timestamps or datetimes (one kind throughout) as a DatetimeIndex."""
    kinds = [str if isinstance(v, str) else datetime.datetime if isinstance(v, (datetime.date, numpy.datetime64))
             else None for v in values]
    k = next((i for i, t in enumerate(kinds) if t is None or t is not kinds[0]), None)
    if k is not None and pd.isna(values[k]):
        raise UserError(f"{where}: expected a timestamp in every row of ds, got a missing value at row {k}")
    if k is not None:
        got = f"{type(values[k]).__name__} {values[k]!r:.40}"
        raise UserError(f"{where}: expected timestamps of one kind in ds (text, or Timestamps), got {got} at row {k}")
    if kinds and kinds[0] is str:
        cells = [v.strip() for v in values]
        parsed = parse_text(pd, cells)
        if parsed.bad is not None:
            raise UserError(f"{where}: expected a date in every row of ds, got "
                            f"{parsed.problem(cells, f'at row {parsed.bad}')}")
        if parsed.note:
            raise UserError(f"{where}: expected timestamps with one UTC offset in ds, got several (convert them "
                            f"with pandas.to_datetime(df['ds'], utc=True))")
        return parsed.dates
    try:
        return pd.DatetimeIndex(pd.to_datetime(values))
    except (ValueError, TypeError, OverflowError) as exc:     # mixed time zones, out of range
        raise UserError(f"{where}: expected timestamps pandas can read together in ds, got "
                        f"{str(exc).splitlines()[0][:100]}") from None
