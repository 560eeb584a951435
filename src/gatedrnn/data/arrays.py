"""Arrays a user hands in, read as what they are: ``real_array(name, x)`` for every estimator (the Forecaster's
series, tails and covariates, the Classifier's sequences, backtest frames).

A plain ``numpy.asarray`` misreads several things without a word, so each is one ``UserError`` line starting with
``name``: a masked array with masked entries (their hidden values would be read as data; a mask with nothing
masked reads as the data), complex values (the imaginary part would be dropped), text, bytes, dates or other
objects, ragged or very deeply nested lists. Object arrays of Python numbers (nested lists holding an ``int`` of
400 digits, or ``None``) are read element by element: every element a finite real number. CuPy arrays come to
the host first.
"""

from __future__ import annotations

import numbers

import numpy

from gatedrnn.backend import to_numpy
from gatedrnn.errors import UserError, is_finite_number, is_real, show

NUMERIC_KINDS = "biuf"     # bool, signed and unsigned integers, floats
MAX_NESTING = 32


def _shape(x, depth: int = 0):
    """The shape of nested lists (None when ragged or nested over ``MAX_NESTING`` deep)."""
    if isinstance(x, (list, tuple)):
        if depth > MAX_NESTING:
            return None
        if all(issubclass(t, (numbers.Number, str)) for t in {type(v) for v in x}):
            return (len(x),)                                         # flat: the common case, fast
        inner = {_shape(v, depth + 1) for v in x}
        return None if None in inner or len(inner) > 1 else (len(x), *(inner.pop() if inner else ()))
    return tuple(numpy.shape(x)) if isinstance(x, numpy.ndarray) else ()


def _object_numbers(a, name: str) -> numpy.ndarray:
    """An object array (nested lists of Python numbers, ``None`` ...) -> float64, every element a finite real."""
    flat = a.reshape(-1)
    others = [v for v in flat if not is_real(v)]          # (None itself is one: no None default here)
    if others:
        other = others[0]
        raise UserError(f"{name}: expected numbers, got an array of dtype object holding a {type(other).__name__} "
                        f"({show(other, 40)})")
    bad = next((v for v in flat if not is_finite_number(v)), None)
    if bad is not None:
        raise UserError(f"{name}: expected finite real numbers, got a non-finite number ({show(bad, 40)})")
    return numpy.array([float(v) for v in flat], dtype=numpy.float64).reshape(a.shape)


def _unmasked(x, name: str):
    if not isinstance(x, numpy.ma.MaskedArray):
        return x
    masked = int(numpy.ma.count_masked(x))
    if masked:
        k = int(numpy.argmax(numpy.ma.getmaskarray(x).reshape(-1)))
        raise UserError(f"{name}: expected an array without masked values (fill or drop them first: they would be "
                        f"read as data), got {masked} masked, the first at flat position {k}")
    return x.data


def real_array(name: str, x, dtype=numpy.float64) -> numpy.ndarray:
    """``x`` as an array of ``dtype`` (float64, or int64 for indices), refusing what would be misread (see the
    module docstring)."""
    if isinstance(x, (str, bytes)):
        raise UserError(f"{name}: expected an array of numbers, got {type(x).__name__} {show(x, 40)}")
    x = _unmasked(x, name)
    if hasattr(x, "__cuda_array_interface__"):
        x = to_numpy(x)
    if isinstance(x, (list, tuple)) and _shape(x) is None:
        raise UserError(f"{name}: expected a regular array of numbers, got ragged (or very deeply) nested lists")
    try:
        a = numpy.asarray(x)                              # NumPy arrays, lists, pandas frames and series ...
    except ValueError:         # NumPy refuses nested lists of different lengths that _shape let through
        raise UserError(f"{name}: expected a regular array of numbers, got ragged nested lists") from None
    if a.dtype.kind == "c":
        raise UserError(f"{name}: expected real numbers, got complex values (dtype {a.dtype}: the imaginary part "
                        f"would be dropped; pass .real, .imag or abs() as values of their own)")
    if a.dtype.kind == "O":
        a = _object_numbers(a, name)
    if a.dtype.kind not in NUMERIC_KINDS:
        raise UserError(f"{name}: expected an array of numbers, got dtype {a.dtype}")
    if numpy.dtype(dtype).kind in "iu" and a.dtype.kind == "f":
        if not numpy.all(numpy.isfinite(a) & (a == numpy.round(a))):
            raise UserError(f"{name}: expected integers, got {show(a.reshape(-1)[:5].tolist())}")
    return a.astype(dtype)
