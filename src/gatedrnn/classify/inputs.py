"""What a ``Classifier`` reads from its user, checked before anything is trained or predicted: the sequences ``X``
(``as_sequences``), the labels ``y`` (``as_labels``) and the standardisation of ``X`` (``scaling``,
``standardized``).

Every refusal is one ``UserError`` line naming the input. Sequences must be real numbers: a masked array with
masked values, complex values, text, dates, ragged nested lists or values that are not finite are refused rather
than read as something else. Labels must be what a checkpoint's ``meta.json`` keeps and gives back: strings,
integers, finite floats or booleans, all of one kind (text or numbers); NaN, bytes, dates and other objects are
refused. The scaling is computed on values divided by each dimension's largest magnitude, so training data of
any finite size (1e300 too) standardise to values of order one; a value that would still overflow the model's
dtype after standardisation is refused, naming its sequence.
"""

from __future__ import annotations

import numpy

from gatedrnn.data.arrays import real_array
from gatedrnn.errors import UserError, is_finite_number, is_integer, is_real, show


def as_array(x, where: str) -> numpy.ndarray:
    """One sequence as a float64 array, refusing what a plain conversion would misread (``data.arrays``)."""
    return real_array(where, x)


def as_sequences(X, name: str = "X", dimensions: int | None = None) -> list:
    """``X`` as a list of float64 (length, dimensions) arrays, checked: real numbers, finite, at least one step,
    one width (``dimensions`` when given)."""
    if isinstance(X, (str, bytes)) or not hasattr(X, "__iter__"):
        raise UserError(f"{name}: expected a list of (length, dimensions) arrays or one (cases, length, dimensions) "
                        f"array, got {type(X).__name__}")
    if isinstance(X, numpy.ma.MaskedArray) and X.ndim == 0:
        raise UserError(f"{name}: expected a list of sequences, got a 0-d masked array")
    seqs = list(X)
    if not seqs:
        raise UserError(f"{name}: expected at least one sequence, got none")
    out: list = []
    for i, x in enumerate(seqs):
        a = as_array(x, f"{name}[{i}]")
        if a.ndim == 1:
            a = a[:, None]
        if a.ndim != 2 or a.shape[0] < 1:
            raise UserError(f"{name}[{i}]: expected an array (length >= 1, dimensions), got shape {a.shape}")
        want = dimensions if dimensions is not None else out[0].shape[1] if out else a.shape[1]
        if a.shape[1] != want:
            raise UserError(f"{name}[{i}]: expected {want} dimensions, got {a.shape[1]}")
        if not numpy.isfinite(a).all():
            raise UserError(f"{name}[{i}]: expected finite values, got NaN or Inf")
        out.append(a)
    return out


# -- labels ---------------------------------------------------------------------------------------------------
def label_kind(v) -> str | None:
    """``"text"`` or ``"number"`` for a label a JSON file keeps and NumPy holds (a string; an integer of at most 64
    bits, a finite float or a bool), else ``None``."""
    if isinstance(v, (str, numpy.str_)):
        return "text"
    if is_integer(v):
        return "number" if -2**63 <= v < 2**64 else None       # what NumPy keeps as an integer
    if isinstance(v, (bool, numpy.bool_)) or (isinstance(v, (float, numpy.floating)) and is_finite_number(v)):
        return "number"                                         # not a Fraction or a Decimal: JSON has no such
    return None


def check_label_values(name: str, values) -> None:
    """Every value a label a checkpoint can keep, all of one kind (see ``label_kind``); one line naming the first
    that is not."""
    kinds = set()
    for i, v in enumerate(values):
        kind = label_kind(v)
        if kind is None:
            what = ("an integer beyond 64 bits" if is_integer(v) else "NaN or Inf" if is_real(v)
                    else f"a {type(v).__name__}")
            raise UserError(f"{name}[{i}]: expected a label that a checkpoint can keep (a string, a 64-bit integer, a "
                            f"finite number or a bool), got {what} ({show(v, 40)})")
        kinds.add(kind)
    if len(kinds) > 1:
        raise UserError(f"{name}: expected labels of one kind (all text or all numbers), got both")


def as_labels(y, n: int, name: str = "y") -> numpy.ndarray:
    """``y`` as a 1-d array of ``n`` labels a checkpoint can keep (see the module docstring)."""
    if isinstance(y, numpy.ma.MaskedArray) and numpy.ma.count_masked(y):
        raise UserError(f"{name}: expected labels without masked values, got a masked array with "
                        f"{int(numpy.ma.count_masked(y))} masked")
    raw = y.data if isinstance(y, numpy.ma.MaskedArray) else y
    # a list goes in as objects: NumPy would turn [0.5, "a"] into strings and [True, 2.5] into floats
    arr = raw if isinstance(raw, numpy.ndarray) else numpy.asarray(raw, dtype=object)
    if arr.shape != (n,):
        raise UserError(f"{name}: expected {n} labels (one per sequence), got shape {arr.shape}")
    if arr.dtype.kind in "biuU":
        return arr
    if arr.dtype.kind not in "fO":
        raise UserError(f"{name}: expected labels that a checkpoint can keep (strings, integers, finite numbers or "
                        f"bools), got dtype {arr.dtype}")
    check_label_values(name, arr.tolist() if arr.dtype.kind == "f" else list(arr))
    out = arr if arr.dtype.kind == "f" else numpy.array(list(arr))
    if out.dtype.kind == "f" and out.dtype.itemsize > 8:        # extended precision: JSON keeps float64
        wide, out = out, out.astype(numpy.float64)
        if not (out == wide).all():
            raise UserError(f"{name}: expected labels that float64 holds exactly (a checkpoint keeps float64), got "
                            f"{wide.dtype} values it rounds")
    return out


# -- standardisation ------------------------------------------------------------------------------------------
def scaling(seqs: list, standardize: bool) -> tuple[numpy.ndarray, numpy.ndarray]:
    """(mean, std) per dimension over every step of ``seqs`` (zeros and ones without ``standardize``), computed on
    the values divided by each dimension's largest magnitude so that no sum overflows; a constant dimension gets
    std 1. Both finite, std > 0."""
    steps = numpy.concatenate(seqs)
    D = steps.shape[1]
    if not standardize:
        return numpy.zeros(D), numpy.ones(D)
    top = numpy.abs(steps).max(axis=0)
    top = numpy.where(top > 0, top, 1.0)
    unit = steps / top
    mean, std = unit.mean(axis=0) * top, unit.std(axis=0) * top
    return mean, numpy.where(std > 0, std, 1.0)


def standardized(seqs: list, mean, std, dtype, name: str = "X") -> list:
    """``(x - mean) / std`` of every sequence; one line naming the first whose values overflow ``dtype`` then."""
    limit = float(numpy.finfo(dtype).max)
    out = []
    with numpy.errstate(over="ignore", invalid="ignore"):
        for i, s in enumerate(seqs):
            z = (s - mean) / std
            bad = ~(numpy.abs(z) <= limit)
            if bad.any():                   # x - mean overflowed float64: the same quotient, taken apart
                z = numpy.where(bad, s / std - mean / std, z)
            if not (numpy.abs(z) <= limit).all():
                raise UserError(f"{name}[{i}]: expected values the model's {numpy.dtype(dtype).name} holds after "
                                f"standardisation, got values up to {float(numpy.abs(s).max()):.3g}, which overflow it")
            out.append(z)
    return out
