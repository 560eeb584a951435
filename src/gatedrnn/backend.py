"""The one place that picks the array module and the dtype policy.

Every layer does its array math through ``xp`` from this module and never imports NumPy for it, so that a
CuPy backend can slot in later by changing this file alone. The choice is made once, at import, from the
environment variable ``GATEDRNN_BACKEND`` (``numpy``, the default; ``cupy`` where it is installed). Nothing
here is mutable after import.

This module imports nothing of gatedrnn's.
"""

from __future__ import annotations

import os

import numpy

_NAME = os.environ.get("GATEDRNN_BACKEND", "numpy").strip().lower() or "numpy"
if _NAME == "numpy":
    xp = numpy
elif _NAME == "cupy":  # pragma: no cover - needs a GPU
    try:
        import cupy as xp  # type: ignore[no-redef]
    except ImportError as exc:
        raise ImportError(
            "GATEDRNN_BACKEND=cupy but CuPy is not installed; install cupy or unset GATEDRNN_BACKEND"
        ) from exc
else:
    raise ImportError(f"GATEDRNN_BACKEND must be 'numpy' or 'cupy', got {_NAME!r}")

BACKEND = _NAME
DEFAULT_DTYPE = numpy.float32
FLOAT_DTYPES = (numpy.float32, numpy.float64)


def resolve_dtype(dtype) -> numpy.dtype:
    """Return ``dtype`` as a NumPy dtype, checking it is float32 or float64 (``None`` means the default)."""
    dt = numpy.dtype(DEFAULT_DTYPE if dtype is None else dtype)
    if dt not in [numpy.dtype(d) for d in FLOAT_DTYPES]:
        raise ValueError(f"dtype: expected float32 or float64, got {dt}")
    return dt


def asarray(a, dtype=None):
    """Move ``a`` to the backend (no copy when it is already there with that dtype)."""
    return xp.asarray(a, dtype=dtype)


def to_numpy(a) -> numpy.ndarray:
    """Return ``a`` as a NumPy array on the host (no copy for NumPy arrays)."""
    if isinstance(a, numpy.ndarray):
        return a
    get = getattr(a, "get", None)  # CuPy arrays
    return get() if get is not None else numpy.asarray(a)


def sigmoid_(a):
    """Logistic sigmoid in place, ``a <- 1 / (1 + exp(-a))``, computed as ``0.5 * tanh(a / 2) + 0.5``.

    The tanh form never overflows (``exp(-a)`` would for a < -88 in float32) and makes no temporaries.
    Returns ``a``.
    """
    a *= 0.5
    xp.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


def sigmoid(a):
    """Numerically stable logistic sigmoid of ``a`` into a new array."""
    return sigmoid_(xp.array(a, copy=True))
