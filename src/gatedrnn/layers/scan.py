"""The linear recurrence ``h_t = a_t * h_{t-1} + b_t`` over a whole sequence, forward and backward: the scan the
min cells (``layers/min_base.py``, minGRU and minLSTM) run over time, where ``b_t = (1 - a_t) v_t``.

Backward is the same recurrence run backwards (a reverse scan): outputs h_1..h_T from the initial state h_0,
``e_t = dL/dh_t`` by all paths, ``dy_t`` the gradient of output t, ``dh_T`` that of the final state::

    e_T = dy_T + dh_T,    e_t = dy_t + a_{t+1} * e_{t+1},    dL/dh_0 = a_1 * e_1
    da_t = e_t * (h_{t-1} - v_t),  dv_t = e_t * (1 - a_t)

No matrix is in the gradient's path over time: it decays by the product of the keep gates alone.

Three ways to run the scan, all tested equal (``scan=`` on the layers; ``SCANS``):

* ``"loop"`` (the default): a loop over t of two in-place ufunc calls on (batch, hidden) rows, everything else
  hoisted out of it. Fastest on NumPy (benchmarks/README.md, "minGRU and minLSTM").
* ``"chunked"``: time cut into chunks of about sqrt(T) steps; a loop over the position inside the chunk runs
  all chunks at once from zero, a loop over the chunks carries the state across, one vectorised pass adds the
  carried state times the chunk's running product of ``a``. Fewer, larger calls; more passes over memory.
* ``"log"``: Heinsen's (2023, arXiv 2311.06281) log-space scan, ``log h_t = a*_t + logcumsumexp(log b_t - a*_t)``
  with ``a*_t = cumsum(log a_t)``, in float64 whatever the layer's dtype (``a*_t`` grows like -0.7 T, and in
  float32 its rounding alone would cost ~1e-4 relative at T = 4,096). A signed ``b`` (the reverse scan's
  gradients) is split into its positive and negative parts, and the initial state enters as ``exp(a*_t) h_0``,
  so a negative ``h_0`` is fine (the pitfall of lucidrains/minGRU-pytorch#9: the log-space form needs b > 0).
"""

from __future__ import annotations

import math

import numpy

from gatedrnn.backend import xp

SCANS = ("loop", "chunked", "log")
DEFAULT_SCAN = "loop"
CHUNK_VALUES = 1 << 15              # values per time range of the layers' elementwise passes (min_base.MinLayer._chunks)


# -- the forward scan -----------------------------------------------------------------------------------------
def linear_scan(a, b, h0, out, method: str = DEFAULT_SCAN):
    """Fill ``out`` (T+1, B, H) with h_0 = ``h0`` and h_t = a_t h_{t-1} + b_t for ``a``, ``b`` (T, B, H)."""
    out[0] = h0
    if method == "loop":
        for t in range(a.shape[0]):
            h = out[t + 1]
            xp.multiply(a[t], out[t], out=h)
            h += b[t]
    elif method == "chunked":
        _chunked(a, b, out)
    elif method == "log":
        _log_space(a, b, out)
    else:
        raise RuntimeError(f"unknown scan {method!r}")
    return out


def _chunked(a, b, out, chunk: int | None = None):
    T, B, H = a.shape
    L = chunk or max(1, int(round(math.sqrt(T))))
    C = -(-T // L)
    pad = C * L - T
    if pad:
        a = xp.concatenate([a, xp.ones((pad, B, H), dtype=a.dtype)])
        b = xp.concatenate([b, xp.zeros((pad, B, H), dtype=b.dtype)])
    a4, b4 = a.reshape(C, L, B, H), b.reshape(C, L, B, H)
    hl = xp.empty((C, L, B, H), dtype=out.dtype)      # each chunk's scan from a zero state
    al = xp.empty((C, L, B, H), dtype=out.dtype)      # each chunk's running product of a
    hl[:, 0], al[:, 0] = b4[:, 0], a4[:, 0]
    for j in range(1, L):
        xp.multiply(a4[:, j], hl[:, j - 1], out=hl[:, j])
        hl[:, j] += b4[:, j]
        xp.multiply(a4[:, j], al[:, j - 1], out=al[:, j])
    carry = xp.empty((C, B, H), dtype=out.dtype)     # the state entering each chunk
    carry[0] = out[0]
    for c in range(1, C):
        xp.multiply(al[c - 1, L - 1], carry[c - 1], out=carry[c])
        carry[c] += hl[c - 1, L - 1]
    al *= carry[:, None]
    hl += al
    out[1:] = hl.reshape(C * L, B, H)[:T]


def _log_space(a, b, out):
    f64 = numpy.float64
    tiny = numpy.finfo(f64).tiny
    with numpy.errstate(divide="ignore", invalid="ignore"):
        astar = xp.cumsum(xp.log(xp.maximum(a.astype(f64), tiny)), axis=0)   # a = 0 would give -inf - -inf
        h = xp.exp(astar) * out[0].astype(f64)
        b64 = b.astype(f64)
        for sign in (1.0, -1.0):
            part = xp.maximum(sign * b64, 0.0)
            if not part.any():
                continue
            w = xp.log(part)
            w -= astar
            lse = xp.logaddexp.accumulate(w, axis=0)
            lse += astar
            h += sign * xp.exp(lse)
    out[1:] = h


# -- the reverse scan (backward) ------------------------------------------------------------------------------
def reverse_linear_scan(a, dY, dhT, method: str = DEFAULT_SCAN):
    """-> (E, dh0): ``E[t]`` the gradient of output row t by all paths (e_{t+1} of the module docstring) and
    ``dh0 = a[0] * E[0]`` that of the initial state, for ``dY`` (T, B, H), the outputs' gradient, and ``dhT``
    (B, H), the final state's; each may be None (zero). The loss on row t reaches row t-1 times ``a[t]``."""
    T, B, H = a.shape
    if method == "loop":                             # written straight into E: no copy of dY first
        E = xp.empty((T, B, H), dtype=a.dtype)
        E[T - 1] = 0.0 if dY is None else dY[T - 1]
        if dhT is not None:
            E[T - 1] += dhT
        for t in range(T - 2, -1, -1):
            xp.multiply(a[t + 1], E[t + 1], out=E[t])
            if dY is not None:
                E[t] += dY[t]
        return E, a[0] * E[0]
    E = xp.zeros((T, B, H), dtype=a.dtype) if dY is None else xp.array(dY, dtype=a.dtype)
    if dhT is not None:
        E[T - 1] += dhT
    # the forward scan on reversed time: coefficient a_{t+1} joins step t, from a zero state
    shifted = xp.empty_like(a)
    shifted[0] = 1.0
    shifted[1:] = a[:0:-1]
    out = xp.empty((T + 1, B, H), dtype=a.dtype)
    linear_scan(shifted, E[::-1], xp.zeros((B, H), dtype=a.dtype), out, method)
    E = out[:0:-1]
    return E, a[0] * E[0]
