"""Time series for forecasting: the two series that ship inside statsmodels, CSV files, scaling and windows.

``load_series("sunspots" | "co2" | "path/to/file.csv", column=None) -> Series`` gives the values as float64
with a time axis for plots, the season length where one applies and the default held-out tail:

* ``sunspots`` — yearly mean sunspot numbers 1700-2008 (309 values, statsmodels ``datasets.sunspots``); no
  calendar season, but the solar cycle of about 11 years is used as the period of the seasonal-naive
  baseline; the last 30 years are held out.
* ``co2`` — weekly atmospheric CO2 at Mauna Loa, March 1958 - December 2001 (2284 weeks, statsmodels
  ``datasets.co2``); its 59 missing weeks are filled by linear interpolation between the neighbouring weeks
  (said in ``Series.note``); season 52 weeks; the last 104 weeks (2 years) are held out.
* a CSV file — ``,``, ``;`` or tab separated (the one of them the first line holds most of, ``;`` winning a tie
  with ``,``; in a ``;`` file a decimal comma ``1,5`` reads as 1.5), a header row (or none: then columns are named
  ``0``, ``1``, ...), one column picked with ``column``, or else the one column whose non-blank cells are mostly
  numbers (several such columns need ``column``; a bad cell never makes another column the pick). A date
  column (``gatedrnn.data.dates.find_dates``: the one text column whose cells all parse as dates, or
  ``date_column``; needs pandas) gives ``Series.dates`` and ``Series.freq``, and the file's timestamps must be
  increasing, unique and regular. Gaps, that is empty or NaN cells (``nan``, ``NA``, ``null``...) in the
  column and timestamps missing from the regular grid, are a one-line ``UserError`` naming their lines or
  timestamps with ``fill="error"`` (the default) and are filled by linear interpolation with
  ``fill="interpolate"`` (said in ``Series.note``). A non-numeric cell or Inf is always a one-line
  ``UserError`` naming the column, the line and the cell; a number is plain decimal notation
  (``gatedrnn.data.numbers``: ``1_000``, ``0x10`` and non-ASCII digits are not numbers). A row with more
  non-blank fields than the header, or a header naming a column twice, is a one-line ``UserError`` (which
  column would the cells be?).
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy

from gatedrnn.data.dates import FILLS, find_dates, regularise
from gatedrnn.data.numbers import is_number
from gatedrnn.errors import UserError, check_choice, check_int, require

BUILTIN = ("sunspots", "co2")
GAP_CELLS = ("", "nan", "na", "n/a", "#n/a", "null", "none")      # a missing value (lower case)
DECIMAL_COMMA = re.compile(r"^\s*[+-]?\d*,\d+\s*$")


@dataclass(frozen=True)
class Series:
    """A univariate series. ``values`` (T,) float64; ``time`` (T,) float64 for a plot's x axis (years, or
    row numbers for a CSV); ``period`` the season length or None (``seasonal``: a calendar season, which
    ARIMA differences away, rather than a cycle of varying length); ``holdout`` the default held-out tail;
    ``dates`` (T,) datetime64 and ``freq`` (a pandas frequency) for a CSV file with a date column, else None."""

    name: str
    values: numpy.ndarray
    time: numpy.ndarray
    time_label: str
    period: int | None
    holdout: int
    note: str = ""
    seasonal: bool = False
    dates: numpy.ndarray | None = None
    freq: str | None = None

    def __len__(self) -> int:
        return int(self.values.shape[0])


def _statsmodels_datasets():
    return require("statsmodels.datasets", "loading the sunspots and co2 series (or pass a CSV file)", "forecast")


def load_sunspots() -> Series:
    frame = _statsmodels_datasets().sunspots.load_pandas().data
    values = frame["SUNACTIVITY"].to_numpy(dtype=numpy.float64)
    years = frame["YEAR"].to_numpy(dtype=numpy.float64)
    return Series("sunspots", values, years, "year", period=11, holdout=30,
                  note="yearly sunspot numbers 1700-2008; seasonal-naive uses the 11-year solar cycle")


def load_co2() -> Series:
    frame = _statsmodels_datasets().co2.load_pandas().data
    raw = frame["co2"].to_numpy(dtype=numpy.float64)
    idx = frame.index
    years = (idx.year + (idx.day_of_year - 1) / 365.25).to_numpy(dtype=numpy.float64)
    missing = ~numpy.isfinite(raw)
    values = raw.copy()
    if missing.any():
        k = numpy.arange(raw.size)
        values[missing] = numpy.interp(k[missing], k[~missing], raw[~missing])
    return Series("co2", values, years, "year", period=52, holdout=104,
                  note=f"weekly CO2 at Mauna Loa 1958-2001; {int(missing.sum())} missing weeks filled by linear "
                       "interpolation", seasonal=True)


def _is_gap(text: str) -> bool:
    return text.lower() in GAP_CELLS


def _cell(row: list, i: int) -> str:
    return row[i].strip() if i < len(row) else ""


def _separator(path: Path) -> str:
    """``;``, tab or ``,``: the one the first non-blank line holds most of (``;`` before ``,`` on a tie)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        first = next((line for line in f if line.strip()), "")
    counts = {sep: first.count(sep) for sep in (";", "\t", ",")}
    best = max(counts, key=lambda sep: counts[sep])          # the first of the tied: ; then tab then ,
    return best if counts[best] else ","


def _read_rows(path: Path) -> list[tuple[int, list]]:
    """The rows of a CSV file with their line numbers, blank rows at the start and the end dropped."""
    try:
        sep = _separator(path)
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=sep)
            rows = [(reader.line_num, row) for row in reader]
    except UnicodeDecodeError as exc:
        raise UserError(f"CSV {path}: expected UTF-8 text, got undecodable bytes ({exc.reason})") from None
    except csv.Error as exc:
        raise UserError(f"CSV {path}: expected CSV text, got a malformed file ({exc})") from None
    while rows and not any(cell.strip() for cell in rows[-1][1]):   # blank lines at the end are not values
        rows.pop()
    while rows and not any(cell.strip() for cell in rows[0][1]):
        rows.pop(0)
    if not rows:
        raise UserError(f"CSV {path}: expected a header row and numeric rows, got an empty file")
    if sep == ";":                                           # 1,5 is a number there
        rows = [(n, [c.replace(",", ".") if DECIMAL_COMMA.match(c) else c for c in r]) for n, r in rows]
    return rows


def _header(path: Path, rows: list) -> tuple[list[str], list]:
    """(column names, body rows): the first row is the header unless every cell of it is a number. A name given
    twice is refused, and so is a row with more non-blank fields than the header (its cells could belong to any
    column); a shorter row has gaps at its end."""
    first = [cell.strip() for cell in rows[0][1]]
    names, body = ([str(i) for i in range(len(first))], rows) if all(is_number(c) for c in first) else (first, rows[1:])
    twice = next((n for k, n in enumerate(names) if n and n in names[:k]), None)
    if twice is not None:        # --column NAME would pick one of them, and nothing says which
        raise UserError(f"CSV {path}: expected distinct column names in the header, got {twice[:40]!r} twice "
                        f"(columns {names.index(twice) + 1} and {names.index(twice, names.index(twice) + 1) + 1})")
    for line, row in body:
        if len(row) > len(names) and any(cell.strip() for cell in row[len(names):]):
            raise UserError(f"CSV {path}: expected at most {len(names)} fields on every row (as the "
                            f"{'header' if body is not rows else 'first row'}), got {len(row)} on line {line}: "
                            f"{row[len(names)].strip()[:40]!r} has no column")
    return names, body


def _count_numbers(body: list, i: int) -> tuple[int, int]:
    """(number cells, text cells) of column ``i``; blank cells count as neither."""
    numbers = text = 0
    for _, r in body:
        cell = _cell(r, i)
        if not _is_gap(cell):
            numbers, text = (numbers + 1, text) if is_number(cell) else (numbers, text + 1)
    return numbers, text


def _pick_column(path: Path, names: list[str], body: list, column: str | None) -> int:
    """The index of ``column``, or of the one numeric column when none is named.

    A column is numeric when most of its non-blank cells are numbers; a bad cell in it is then reported by
    ``_parse_column``, never a reason to pick another column. Without a mostly numeric column, the one column
    holding any number is picked (and its first bad cell reported); anything else needs ``--column``."""
    if column is not None:
        if column not in names:
            raise UserError(f"CSV {path}: expected --column to be one of {names}, got {column!r}")
        return names.index(column)
    if len(names) == 1:
        return 0
    counts = [_count_numbers(body, i) for i in range(len(names))]
    numeric = [i for i, (n, t) in enumerate(counts) if n > t]
    some = [i for i, (n, _) in enumerate(counts) if n > 0]
    pick = numeric if numeric else some
    if len(pick) != 1:
        bad = "".join(f"; {names[i]!r} has {cell[:40]!r} on line {line}" for i in pick
                      for line, cell in _first_bad_cell(body, i))
        raise UserError(f"CSV {path}: expected --column NAME to pick one of the columns {names}, got "
                        f"{'several' if pick else 'no'} numeric columns{bad}")
    return pick[0]


def _first_bad_cell(body: list, i: int) -> list:
    """[(line, cell)] of the first blank or non-numeric cell of column ``i``, or []."""
    return next(([(line, _cell(r, i))] for line, r in body if not is_number(_cell(r, i))), [])


def _parse_column(path: Path, name: str, body: list, col: int) -> numpy.ndarray:
    """Column ``col`` of every body row as float64, NaN for a gap (an empty or NaN cell); a non-numeric or
    infinite cell names its line."""
    where = f"CSV {path} column {name!r}"
    values = numpy.empty(len(body), dtype=numpy.float64)
    for k, (line, row) in enumerate(body):
        cell = _cell(row, col)
        if _is_gap(cell):
            values[k] = math.nan
            continue
        if not is_number(cell):
            raise UserError(f"{where}: expected a number on every row, got {cell[:40]!r} on line {line}")
        v = float(cell)
        if not math.isfinite(v):
            raise UserError(f"{where}: expected a finite number on every row, got {cell!r} on line {line}")
        values[k] = v
    if values.size == 0:
        raise UserError(f"CSV {path}: expected numeric rows after the header, got none")
    return values


def read_csv(path, column: str | None = None, *, period: int | None = None, holdout: int | None = None,
             fill: str = "error", date_column: str | None = None) -> Series:
    """One numeric column of a CSV file as a ``Series`` (see the module docstring for the rules)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"series: expected {', '.join(BUILTIN)} or a CSV file, got {str(path)!r} (no such file)")
    check_choice("fill", fill, FILLS)
    check_int("series period", period, 2, none_ok=True)
    names, body = _header(path, _read_rows(path))
    col = _pick_column(path, names, body, column)
    name = names[col]
    values = _parse_column(path, name, body, col)
    lines = [line for line, _ in body]
    columns = [[_cell(r, i) for _, r in body] for i in range(len(names))]
    dcol, dates, note = find_dates(names, columns, col, date_column, f"CSV {path}", lines)
    where = f"CSV {path} column {name!r}"
    values, stamps, freq, gaps = regularise(values, lines, dates, fill, where,
                                            f"CSV {path} column {names[dcol]!r}" if dcol is not None else "")
    if gaps:
        note += f"; {gaps} gap{'s' if gaps > 1 else ''} filled by linear interpolation"
    if stamps is not None:
        note += f"; dates from column {names[dcol]!r}, frequency {freq}"
    tail = holdout if holdout is not None else max(1, values.size // 5)
    return Series(f"{path.stem}:{name}", values, numpy.arange(values.size, dtype=numpy.float64),
                  "row" if dcol is None else names[dcol], period=period, holdout=tail,
                  note=f"column {name!r} of {path}{note}", seasonal=period is not None, dates=stamps, freq=freq)


def load_series(source: str, column: str | None = None, *, period: int | None = None, fill: str = "error",
                date_column: str | None = None) -> Series:
    """``sunspots``, ``co2`` or a CSV path (with ``column``, ``fill``, ``date_column``) -> ``Series``."""
    if source in BUILTIN:
        for flag, v in (("--column", column), ("--date-column", date_column)):
            if v is not None:
                raise UserError(f"{flag}: expected it only with a CSV file, got it with the built-in series {source!r}")
        s = load_sunspots() if source == "sunspots" else load_co2()
        if period is not None:
            s = Series(s.name, s.values, s.time, s.time_label, period, s.holdout, s.note, seasonal=True)
        return s
    return read_csv(source, column, period=period, fill=fill, date_column=date_column)


def split(values: numpy.ndarray, holdout: int, *, min_train: int) -> tuple[numpy.ndarray, numpy.ndarray]:
    """``values`` -> (training part, held-out tail of ``holdout`` values), checking that both are long enough."""
    n = int(values.shape[0])
    check_int("holdout", holdout)
    if n - holdout < min_train:
        raise UserError(f"series: too short, expected at least {min_train + holdout} values "
                         f"({min_train} to train on + {holdout} held out), got {n}")
    return values[: n - holdout], values[n - holdout:]
