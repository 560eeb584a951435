"""Telling a user's mistake from a bug.

``UserError`` (a ``ValueError``) is what every input check raises: a one-line message naming what was expected
and what came. The command line prints it as one line and exits with status 2; any other exception is a bug and
keeps its traceback. ``MissingDependency`` is the user error of an optional extra that is not installed. This
module imports nothing of gatedrnn's.

The check helpers below are the only way the package checks a scalar (positive integer, finite positive
number, probability, choice, ...); the array checks serve the layers' ``forward`` inputs.
"""

from __future__ import annotations

import importlib
import math
import numbers

import numpy


class UserError(ValueError):
    """Bad input: the message is one line, ``"<what>: expected <this>, got <that>"``."""


class MissingDependency(UserError):
    """An optional dependency is not installed; the message says which extra brings it."""


def require(module: str, purpose: str, extra: str):
    """Import ``module`` or raise ``MissingDependency`` saying how to install it (``pip install -e ".[extra]"``)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependency(f"{purpose} needs {module.split('.')[0]}, which is not installed: "
                                f"pip install -e \".[{extra}]\" (or pip install {module.split('.')[0]})") from None


# -- scalars --------------------------------------------------------------------------------------------
def is_integer(v) -> bool:
    """An ``int`` or NumPy integer, not a bool."""
    return isinstance(v, (int, numpy.integer)) and not isinstance(v, (bool, numpy.bool_))


def is_real(v) -> bool:
    """A real number (NaN and Inf included), not a bool."""
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, numpy.bool_))


def is_finite_number(v) -> bool:
    """A real number that is finite as a float (an integer too large for a float is not)."""
    try:
        return is_real(v) and math.isfinite(v)
    except OverflowError:
        return False



def show(v, limit: int = 80) -> str:
    """``repr(v)`` for a message, cut to ``limit`` characters (a huge integer or a long list stays one short line)."""
    try:
        text = repr(v)
    except ValueError:   # an integer past Python's digit limit for str()
        return f"<an integer of over {limit} digits>"
    return text if len(text) <= limit else f"{text[:limit - 20]}... ({len(text):,} characters)"


def check_int(name: str, v, lo: int = 1, *, none_ok: bool = False):
    """An integer >= ``lo`` (``lo=1``: a positive integer); ``None`` passes when ``none_ok``. Returns ``v``."""
    if v is None and none_ok:
        return v
    if not is_integer(v) or v < lo:
        what = "a positive integer" if lo == 1 else f"an integer >= {lo}"
        raise UserError(f"{name}: expected {what}{' or None' if none_ok else ''}, got {show(v)}")
    return v


def check_positive(name: str, v, *, zero_ok: bool = False, none_ok: bool = False):
    """A finite number > 0 (>= 0 when ``zero_ok``); NaN and Inf are refused. Returns ``v``."""
    if v is None and none_ok:
        return v
    if not (is_finite_number(v) and (v >= 0 if zero_ok else v > 0)):
        what = "a finite number >= 0" if zero_ok else "a finite positive number"
        raise UserError(f"{name}: expected {what}{' or None' if none_ok else ''}, got {show(v)}")
    return v


def check_count(name: str, v):
    """An integer >= 0 (a seed, a number of epochs that may be 0). Returns ``v``."""
    return check_int(name, v, 0)


def check_optional_int(name: str, v):
    """A positive integer or ``None``. Returns ``v``."""
    return check_int(name, v, none_ok=True)


def check_nonnegative(name: str, v):
    """A finite number >= 0 (a clipping threshold or a time limit where 0 = off, a noise level). Returns ``v``."""
    return check_positive(name, v, zero_ok=True)


def check_finite_number(name: str, v):
    """Any finite number. Returns ``v``."""
    if not is_finite_number(v):
        raise UserError(f"{name}: expected a finite number, got {show(v)}")
    return v


def check_probability(name: str, v, *, one_ok: bool = False):
    """A probability in [0, 1) ([0, 1] when ``one_ok``): dropout rates and the like. Returns ``v``."""
    if not (is_finite_number(v) and 0 <= v and (v <= 1 if one_ok else v < 1)):
        raise UserError(f"{name}: expected a number in [0, 1{']' if one_ok else ')'}, got {show(v)}")
    return v


def check_choice(name: str, v, choices):
    """One of ``choices``. Returns ``v``."""
    options = list(choices)
    if v not in options:
        raise UserError(f"{name}: expected one of {', '.join(map(repr, options))}, got {show(v)}")
    return v


# -- arrays ---------------------------------------------------------------------------------------------
def check_rank(name: str, a, ndim: int, layout: str):
    if getattr(a, "ndim", None) != ndim:
        got = f"shape {tuple(a.shape)}" if hasattr(a, "shape") else type(a).__name__
        raise UserError(f"{name}: expected a {ndim}-d array {layout}, got {got}")


def check_dim(name: str, a, axis: int, size: int, what: str):
    if a.shape[axis] != size:
        raise UserError(f"{name}: expected {what} = {size} (axis {axis}), got shape {tuple(a.shape)}")


def check_shape(name: str, a, shape: tuple):
    got = tuple(getattr(a, "shape", ()))
    if got != tuple(shape):
        raise UserError(f"{name}: expected shape {tuple(shape)}, got {got}")


def check_finite(name: str, a):
    # the array's own module (NumPy or CuPy): this module sits below backend.py and imports nothing of gatedrnn's
    mod = numpy if isinstance(a, numpy.ndarray) else importlib.import_module(type(a).__module__.partition(".")[0])
    if not bool(mod.isfinite(a).all()):
        raise UserError(f"{name}: expected finite values, got NaN or Inf")


def check_float(name: str, a):
    if not numpy.issubdtype(a.dtype, numpy.floating):
        raise UserError(f"{name}: expected a floating-point array, got dtype {a.dtype}")


def check_ids(name: str, ids, num: int):
    if not numpy.issubdtype(ids.dtype, numpy.integer):
        raise UserError(f"{name}: expected integer token ids, got dtype {ids.dtype}")
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= num):
        raise UserError(f"{name}: expected ids in [0, {num}), got values in [{int(ids.min())}, {int(ids.max())}]")
