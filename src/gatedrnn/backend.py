"""The one place that picks the array module and the dtype policy.

Every layer does its array math through ``xp`` from this module and never imports NumPy for it, so that a
CuPy backend can slot in later by changing this file alone. The choice is made once, at import, from the
environment variable ``GATEDRNN_BACKEND`` (``numpy``, the default; ``cupy`` where it is installed). Nothing
here is mutable after import. ``Workers`` splits large elementwise passes (the softmax over a vocabulary,
optimizer updates) over threads when asked to (``threads=`` or ``GATEDRNN_NUM_THREADS``); each layer or
optimizer that uses one owns its instance.

This module imports nothing of gatedrnn's.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor

import numpy

from gatedrnn.errors import UserError, show

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
    allowed = [numpy.dtype(d) for d in FLOAT_DTYPES]
    if dtype is None:
        return numpy.dtype(DEFAULT_DTYPE)
    if not isinstance(dtype, (str, type, numpy.dtype)) or (    # a name, a type or a dtype: not a checkpoint's dict
            isinstance(dtype, str) and not re.fullmatch(r"[<>=|]?[A-Za-z0-9]{1,12}", dtype)):
        raise UserError(f"dtype: expected float32 or float64, got {show(dtype)}")
    try:
        dt = numpy.dtype(dtype)
    except TypeError:
        raise UserError(f"dtype: expected float32 or float64, got {show(dtype)}") from None
    if dt not in allowed:
        raise UserError(f"dtype: expected float32 or float64, got {dt}")
    return dt


def asarray(a, dtype=None):
    """Move ``a`` to the backend (no copy when it is already there with that dtype)."""
    return xp.asarray(a, dtype=dtype)


def to_numpy(a) -> numpy.ndarray:
    """Return ``a`` as a NumPy array on the host (no copy for NumPy arrays)."""
    if isinstance(a, numpy.ndarray):
        return a
    if type(a).__module__.split(".")[0] == "cupy":   # by its type, not by duck typing: pandas objects have .get too
        return a.get()
    return numpy.asarray(a)


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


def default_threads() -> int:
    """Threads for gatedrnn's own elementwise passes: ``GATEDRNN_NUM_THREADS`` if set, else 1.

    One by default because measured inside a training step the split gained nothing on 2 cores: the softmax of
    a 700 x 10 000 batch runs 1.8x faster on 2 threads alone, but right after a GEMM OpenBLAS's worker threads
    still spin on the other core, and the step was no faster (benchmarks/README.md).
    """
    env = os.environ.get("GATEDRNN_NUM_THREADS", "").strip()
    if not env:
        return 1
    try:
        n = int(env)
    except ValueError:
        raise UserError(f"GATEDRNN_NUM_THREADS: expected a positive integer, got {env!r}") from None
    if n < 1:
        raise UserError(f"GATEDRNN_NUM_THREADS: expected a positive integer, got {env!r}")
    return n


class Workers:
    """Split elementwise work over row ranges across a few threads; one instance per layer or optimizer.

    NumPy releases the GIL inside its ufunc loops and reductions, so ``fn(lo, hi, part)`` calls on disjoint
    row ranges of large arrays run in parallel (``part`` numbers the ranges from 0, e.g. to pick a scratch
    row). Work below ``min_items`` per thread runs inline in the caller, so small arrays (tests, streaming)
    never touch a thread. The pool is made on first use and serves its owner only; ``threads=1`` never makes one.
    """

    def __init__(self, threads: int | None = None):
        self.threads = default_threads() if threads is None else int(threads)
        if self.threads < 1:
            raise UserError(f"threads: expected a positive integer, got {threads!r}")
        self._pool: ThreadPoolExecutor | None = None

    def run(self, fn, n: int, *, item_size: int = 1, min_items: int = 1 << 18) -> None:
        """Call ``fn(lo, hi, part)`` over ``[0, n)`` split into contiguous ranges, one per thread; wait for all.

        ``item_size`` is the work per row (e.g. the row length) used against ``min_items``.
        """
        k = min(self.threads, n, max(1, (n * item_size) // min_items)) if xp is numpy else 1
        if k <= 1:
            fn(0, n, 0)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads - 1, thread_name_prefix="gatedrnn")
        cuts = [n * i // k for i in range(k + 1)]
        futures = [self._pool.submit(fn, cuts[i], cuts[i + 1], i) for i in range(1, k)]
        try:
            fn(cuts[0], cuts[1], 0)
        finally:
            for f in futures:
                f.result()

    def __getstate__(self):  # copy.deepcopy of a layer: a thread pool cannot be copied, the copy makes its own
        return {"threads": self.threads, "_pool": None}
