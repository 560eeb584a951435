"""Time-series classification data in the UEA/UCR ``.ts`` format (timeseriesclassification.com; the format of
sktime and aeon), read without any dependency.

A file is ``#`` comments, a header of ``@`` lines and then one case a line after ``@data``::

    @problemName JapaneseVowels
    @timeStamps false
    @missing false
    @univariate false
    @dimensions 12
    @equalLength false
    @seriesLength 100          (only with @equalLength true)
    @classLabel true 1 2 3 4 5 6 7 8 9
    @data
    1.86,1.89,1.93:-0.20,-0.19,-0.23: ... :1

A case is its dimensions separated by ``:``, each a comma-separated list of values, and its class label last.
Lengths may differ between cases (not between the dimensions of one case). Not supported, each refused with one
line: time stamps, missing values (``?``), regression targets (``@targetLabel``). Every other departure from the
format (a wrong, missing or repeated header line, a class label declared twice, a case whose number of dimensions
differs from the header's or the first case's, a missing or undeclared label, an empty sequence, a value that is not
a finite number in plain decimal notation such as ``1_000``, ``0x10``, ``NaN``, bytes that are not UTF-8) is a
``UserError`` naming the file and line.

Where the files are found (``locate_uea``): ``--dataset`` is a known name (``japanesevowels``, ``basicmotions``),
any other name looked up the same way, or a path prefix ``DIR/NAME`` of ``DIR/NAME_TRAIN.ts`` and
``DIR/NAME_TEST.ts``. Names are looked up as ``uea/NAME/NAME_{TRAIN,TEST}.ts``, ``ucr/NAME/...`` or ``NAME/...`` in ``--data-dir``,
``GATEDRNN_DATA`` and the cache folder, like the corpora; nothing is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy

from gatedrnn.data.corpus import cache_dir, search_dirs
from gatedrnn.data.numbers import DECIMALS, first_non_decimal
from gatedrnn.errors import UserError

KNOWN = {"japanesevowels": "JapaneseVowels", "basicmotions": "BasicMotions", "gunpoint": "GunPoint",
         "italypowerdemand": "ItalyPowerDemand", "osuleaf": "OSULeaf"}
_BOOL_TAGS = ("timestamps", "missing", "univariate", "equallength")
_TAGS = _BOOL_TAGS + ("problemname", "dimensions", "serieslength", "classlabel", "data")


@dataclass
class TSData:
    """One ``.ts`` file: ``X`` a list of (length, dimensions) float64 arrays, ``y`` the labels (str), ``classes`` the
    labels the header declares, in its order."""

    name: str
    X: list = field(repr=False)
    y: numpy.ndarray = field(repr=False)
    classes: tuple
    dimensions: int

    @property
    def lengths(self) -> numpy.ndarray:
        return numpy.array([len(x) for x in self.X])

    def __len__(self) -> int:
        return len(self.X)


def _bool(where, tag, value):
    if value.lower() not in ("true", "false"):
        raise UserError(f"{where}: expected @{tag} true or false, got {value!r}")
    return value.lower() == "true"


def _header_line(where, line, header):
    tag, _, value = line[1:].partition(" ")
    key, value = tag.lower(), value.strip()
    if key not in _TAGS:
        raise UserError(f"{where}: expected a header line @{', @'.join(_TAGS)}, got @{tag}")
    if key in header:              # the later one would win without a word
        raise UserError(f"{where}: expected each header line once, got @{tag} again")
    if key in _BOOL_TAGS:
        header[key] = _bool(where, tag, value)
    elif key in ("dimensions", "serieslength"):
        if not value.isdigit() or int(value) < 1:
            raise UserError(f"{where}: expected @{tag} a positive integer, got {value!r}")
        header[key] = int(value)
    elif key == "classlabel":
        flag, *labels = value.split()
        if not (flag and _bool(where, tag, flag)) or not labels:
            raise UserError(f"{where}: expected @classLabel true and the class labels (a classification problem), "
                            f"got {value!r}")
        twice = next((label for k, label in enumerate(labels) if label in labels[:k]), None)
        if twice is not None:
            raise UserError(f"{where}: expected distinct class labels in @classLabel, got {twice[:40]!r} twice")
        header[key] = tuple(labels)
    else:
        header[key] = value


def _check_header(where, header):
    if "classlabel" not in header:
        raise UserError(f"{where}: expected a @classLabel true line (with the labels) before @data, got none "
                        f"(regression files with @targetLabel are not supported)")
    if header.get("timestamps"):
        raise UserError(f"{where}: expected @timeStamps false, got true (time-stamped values are not supported)")
    if header.get("univariate") and header.get("dimensions", 1) != 1:
        raise UserError(f"{where}: expected @dimensions 1 for @univariate true, got {header['dimensions']}")
    if header.get("univariate"):
        header["dimensions"] = 1


def _floats(where, text, d):
    """One dimension's comma-separated values: finite numbers in plain decimal notation (``gatedrnn.data.numbers``:
    not ``1_000``, ``0x10``, non-ASCII digits, NaN or Inf), each a one-line error naming the token."""
    if text.strip() == "":
        raise UserError(f"{where}: expected at least one value in dimension {d}, got an empty sequence")
    if DECIMALS.fullmatch(text) is None:
        values = text.split(",")
        if any(v.strip() == "?" for v in values):
            raise UserError(f"{where}: expected no missing values, got '?' in dimension {d} (gatedrnn does not impute)")
        bad = first_non_decimal(values)
        raise UserError(f"{where}: expected comma-separated numbers (finite, decimal) in dimension {d}, got "
                        f"{(bad.strip() if bad is not None else text)[:40]!r}")
    values = numpy.array(text.split(","), dtype=numpy.float64)
    if not numpy.isfinite(values).all():   # 1e999: decimal notation, but beyond float64
        bad = text.split(",")[int(numpy.argmax(~numpy.isfinite(values)))]
        raise UserError(f"{where}: expected comma-separated numbers (finite, decimal) in dimension {d}, got {bad.strip()[:40]!r}")
    return values


def _case(where, line, header):
    """One data line -> ((length, dimensions) array, label)."""
    *dims, label = line.split(":")
    D = header.get("dimensions")
    if D is not None and len(dims) == D - 1 and label.strip() not in header["classlabel"]:
        raise UserError(f"{where}: expected {D} dimensions and a class label, got {len(dims) + 1} fields "
                        "(a missing label or dimension)")
    if not dims:
        raise UserError(f"{where}: expected the dimensions and a class label separated by ':', got one field")
    if D is None:
        header["dimensions"] = D = len(dims)       # the first case sets it when the header does not
    if len(dims) != D:
        raise UserError(f"{where}: expected {D} dimensions (as the header or the first case), got {len(dims)}")
    label = label.strip()
    if not label:
        raise UserError(f"{where}: expected a class label after the last ':', got none")
    if label not in header["classlabel"]:
        raise UserError(f"{where}: expected a label in @classLabel {' '.join(header['classlabel'])}, got {label!r}")
    series = [_floats(where, text, d) for d, text in enumerate(dims)]
    if len({len(s) for s in series}) > 1:
        raise UserError(f"{where}: expected dimensions of one length, got lengths {[len(s) for s in series]}")
    n = header.get("serieslength")
    if header.get("equallength") and n is not None and len(series[0]) != n:
        raise UserError(f"{where}: expected @seriesLength {n} values per dimension, got {len(series[0])}")
    return numpy.stack(series, axis=1), label


def _line(path, number, raw, header, X, y, in_data) -> bool:
    """One line of a ``.ts`` file into ``header`` (before ``@data``) or ``X``/``y``; whether ``@data`` was seen."""
    line = raw.strip()
    if not line or line.startswith("#"):
        return in_data
    where = f"{path.name} line {number}"
    if not in_data:
        if not line.startswith("@"):
            raise UserError(f"{where}: expected a header line (@...) or @data, got {line[:40]!r}")
        _header_line(where, line, header)
        if "data" in header:
            _check_header(where, header)
            return True
        return False
    x, label = _case(where, line, header)
    X.append(x)
    y.append(label)
    return True


def read_ts(path) -> TSData:
    """Read one ``.ts`` classification file; see the module docstring for the format and what is refused."""
    path = Path(path)
    header: dict = {}
    X: list = []
    y: list = []
    in_data = False
    number = 0
    try:
        with open(path, encoding="utf-8") as f:
            for number, raw in enumerate(f, 1):
                in_data = _line(path, number, raw, header, X, y, in_data)
    except UnicodeDecodeError as exc:   # from reading the file only: every check above raises UserError
        raise UserError(f"{path.name}: expected UTF-8 text, got undecodable bytes after line {number} "
                        f"({exc.reason})") from None
    if not in_data:
        raise UserError(f"{path.name}: expected a @data line after the header, got none (is it a .ts file?)")
    if not X:
        raise UserError(f"{path.name}: expected at least one case after @data, got none")
    name = header.get("problemname") or path.stem.rsplit("_", 1)[0]
    return TSData(name, X, numpy.array(y), header["classlabel"], header["dimensions"])


def _pair(prefix: Path):
    return prefix.parent / f"{prefix.name}_TRAIN.ts", prefix.parent / f"{prefix.name}_TEST.ts"


def locate_uea(dataset: str, data_dir=None) -> tuple[Path, Path]:
    """The (train, test) ``.ts`` files of ``dataset``: a known name, another name, or a path prefix."""
    if not isinstance(dataset, str) or not dataset:
        raise UserError(f"dataset: expected {', '.join(KNOWN)} or a path prefix DIR/NAME of NAME_TRAIN.ts, got "
                        f"{dataset!r}")
    prefix = Path(dataset).expanduser()
    if prefix.is_dir():                           # a folder NAME holding NAME_TRAIN.ts
        prefix = prefix / prefix.name
    if all(p.is_file() for p in _pair(prefix)):
        return _pair(prefix)
    name = KNOWN.get(dataset.lower(), dataset)
    dirs = search_dirs(data_dir)
    if "/" not in dataset:
        for d in dirs:
            for sub in (d / "uea" / name, d / "ucr" / name, d / name, d):   # the UEA and UCR archives' layouts
                if all(p.is_file() for p in _pair(sub / name)):
                    return _pair(sub / name)
    where = cache_dir() / "uea" / name
    raise FileNotFoundError(f"{dataset}: expected {name}_TRAIN.ts and {name}_TEST.ts, not found in "
                            f"{', '.join(map(str, dirs))}; put them in {where} (or in uea/{name}/ or ucr/{name}/ "
                            "under a folder named by --data-dir or GATEDRNN_DATA; from timeseriesclassification.com)")


def load_uea(dataset: str, data_dir=None) -> tuple[TSData, TSData]:
    """(train, test) of ``dataset`` (see ``locate_uea``), with the same dimensions and class labels."""
    train_path, test_path = locate_uea(dataset, data_dir)
    train = read_ts(train_path)
    return train, read_test_split(train, test_path, train_path.name)


def read_test_split(train: TSData, test_path, train_name: str = "the training file") -> TSData:
    """The test file of ``train``'s problem (read from ``train_name``), read and checked against it: the same
    dimensions, labels among its @classLabel."""
    test_path = Path(test_path)
    test = read_ts(test_path)
    if train.dimensions != test.dimensions:
        raise UserError(f"{test_path.name}: expected {train.dimensions} dimensions as in {train_name}, got "
                        f"{test.dimensions}")
    if set(test.y) - set(train.classes):
        raise UserError(f"{test_path.name}: expected labels in {train_name}'s @classLabel, got "
                        f"{sorted(map(str, set(test.y) - set(train.classes)))}")
    return test
