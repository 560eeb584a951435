"""The LSTM's optional compiled path: ``LSTMLayer``'s time loops in C, built once with the system's C compiler and
called through cffi (extra ``fast``: ``pip install "gatedrnn[fast]"``), each loop one C call, a pass over each
step's values between products with ``W_hh`` by NumPy's own ``cblas_sgemm`` (else per-step C calls around
``matmul``). The NumPy loops of lstm.py stay the reference; the two agree to float32 rounding (tests/layers/test_lstm_fast.py).

When it is used: when asked for (``GATEDRNN_FAST=1``, or ``lstm_fast.enabled = True``), for float32 arrays on
the NumPy backend, once the library is loaded. The NumPy path stays the default: its float32 results are bit for
bit those of the loop before this path existed, which pinned figures (the PTB runs of the tests and the README)
rely on; the compiled path's tanh and summation order differ by float32 rounding. Anything else (float64, as in
the gradient checks; no cffi or compiler; a failed build; a cache directory that is not private) runs the NumPy
loops, silently; ``describe()`` (``gatedrnn --version``) says which path is active and why.

The build is cached: ``lstm-<key>.so`` in ``<cache>/kernels`` (``<cache>``: ``GATEDRNN_CACHE``, else
``$XDG_CACHE_HOME/gatedrnn``, else ``~/.cache/gatedrnn``), a directory created 0700 and used only while it is
owned by the user and not writable by group or others (likewise the file). The key is a SHA-256 of the C source,
the flags and the compiler (its resolved path and the bytes of the driver binary), built into the library as a
string: a file without this key among its bytes is never loaded, and one whose ``gatedrnn_key()`` differs not used.

Tanh in C: ``(1 - e) / (1 + e)``, ``e = exp(-2x)`` by range reduction (x = k ln 2 + r) and a degree-7 Taylor
polynomial of e^r: within 1.4e-7 of tanh over float32 (NumPy's: 6e-8); the sigmoid ``0.5 tanh(x/2) + 0.5``, the
sums halved in C (exact). Built for AVX-512, AVX2 and baseline x86-64 (GCC's ``target_clones``, picked at load).
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import stat
import subprocess
import tempfile
from typing import Any

import numpy

from gatedrnn.backend import xp

C_SOURCE = r"""
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define CLONES __attribute__((target_clones("avx512f", "avx2,fma", "default")))
#else
#define CLONES
#endif

const char *gatedrnn_key(void) { return GATEDRNN_KEY; }

static inline __attribute__((always_inline)) float exp_(float x)          /* e^x, x clamped to [-87, 87] */
{
    x = x < -87.0f ? -87.0f : x;
    x = x > 87.0f ? 87.0f : x;
    float k = x * 1.44269504f + 12582912.0f;   /* k = round(x / ln 2): 1.5 * 2^23 rounds to an integer */
    k -= 12582912.0f;
    float r = x - k * 0.693145752f - k * 1.42860677e-6f;   /* ln 2 in two parts */
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120
              + r * (1.0f / 720 + r * (1.0f / 5040)))))));
    int32_t bits = ((int32_t)k + 127) << 23;   /* 2^k */
    float s;
    memcpy(&s, &bits, sizeof s);
    return p * s;
}

static inline __attribute__((always_inline)) float tanh_(float x)
{
    float e = exp_(-2.0f * x);
    return (1.0f - e) / (1.0f + e);
}

/* Step t of the forward: G[t] (B, 4H) holds x_t W_ih + b and receives the activated gates (i, f, g, o); rec holds
   h_{t-1} W_hh, (B, 4H), or its transpose (4H, B) when rt; the sigmoid gates' sums are halved here (exact);
   writes c_t = Cs[t + 1], tanh(c_t) = TC[t] and h_t = Hs[t + 1]. */
CLONES void lstm_forward_step(int t, int B, int H, float *restrict G, const float *restrict rec, int rt,
                              float *restrict Cs, float *restrict TC, float *restrict Hs,
                              const float *restrict X, const float *restrict Wx, const float *restrict bias, int D)
{
    size_t BH = (size_t)B * H, H4 = 4 * (size_t)H;
    float *Gt = G + (size_t)t * H4 * B;
    for (int b = 0; b < B && X; ++b) {         /* a narrow input: G[t] = x_t W_ih + b here, not as a GEMM */
        const float *x = X + ((size_t)t * B + b) * D;
        memcpy(Gt + b * H4, bias, sizeof(float) * H4);
        for (int d = 0; d < D; ++d)
            for (size_t j = 0; j < H4; ++j)
                Gt[b * H4 + j] += x[d] * Wx[d * H4 + j];
    }
    for (size_t j0 = 0; j0 < H4 && rt; j0 += 16)   /* in blocks of 16 values of a row: rows 4 KiB apart alias */
        for (int b = 0; b < B; ++b)
            for (size_t j = j0; j < j0 + 16 && j < H4; ++j)
                Gt[b * H4 + j] += rec[j * B + b];
    if (!rt)                                   /* a plain loop: a condition in its header stops vectorising */
        for (size_t k = 0; k < H4 * B; ++k) Gt[k] += rec[k];
    for (int b = 0; b < B; ++b) {
        float *g = Gt + b * H4;
        const float *c0 = Cs + t * BH + (size_t)b * H;
        float *c1 = Cs + (t + 1) * BH + (size_t)b * H, *tc = TC + t * BH + (size_t)b * H;
        float *h = Hs + (t + 1) * BH + (size_t)b * H;
        for (int j = 0; j < H; ++j) {
            float i = 0.5f * tanh_(0.5f * g[j]) + 0.5f, f = 0.5f * tanh_(0.5f * g[H + j]) + 0.5f;
            float u = tanh_(g[2 * H + j]), o = 0.5f * tanh_(0.5f * g[3 * H + j]) + 0.5f;
            float c = f * c0[j] + i * u, tt = tanh_(c);
            g[j] = i; g[H + j] = f; g[2 * H + j] = u; g[3 * H + j] = o; c1[j] = c; tc[j] = tt; h[j] = o * tt;
        }
    }
}

/* Step t of the backward: dh (B, H) is the gradient reaching h_t, or, when dhtr is given, it is set first to
   dhtr^T (H, B: the previous step's dG W_hh^T) plus dY[t] (when given); dc (B, H) the gradient reaching c_t,
   plus dC[t] when given. Writes dG[t] (B, 4H), the pre-activation gradients, and leaves dc_{t-1} in dc. */
CLONES void lstm_backward_step(int t, int B, int H, const float *restrict G, const float *restrict Cs,
                                 const float *restrict TC, const float *restrict dhtr, const float *restrict dY,
                                 const float *restrict dC, float *restrict dh, float *restrict dc,
                                 float *restrict dG)
{
    size_t BH = (size_t)B * H;
    for (int b = 0; b < B; ++b) {
        const float *g = G + (size_t)t * 4 * BH + (size_t)b * 4 * H;
        const float *c0 = Cs + t * BH + (size_t)b * H, *tc = TC + t * BH + (size_t)b * H;
        float *d = dG + (size_t)t * 4 * BH + (size_t)b * 4 * H, *e = dh + (size_t)b * H, *k = dc + (size_t)b * H;
        if (dhtr)
            for (int j = 0; j < H; ++j)
                e[j] = dhtr[(size_t)j * B + b];
        if (dhtr && dY)
            for (int j = 0; j < H; ++j)
                e[j] += dY[t * BH + (size_t)b * H + j];
        if (dC)
            for (int j = 0; j < H; ++j)
                k[j] += dC[t * BH + (size_t)b * H + j];
        for (int j = 0; j < H; ++j) {
            float i = g[j], f = g[H + j], u = g[2 * H + j], o = g[3 * H + j], th = tc[j];
            float dcv = k[j] + e[j] * o * (1.0f - th * th);
            d[j] = dcv * u * i * (1.0f - i);
            d[H + j] = dcv * c0[j] * f * (1.0f - f);
            d[2 * H + j] = dcv * i * (1.0f - u * u);
            d[3 * H + j] = e[j] * th * o * (1.0f - o);
            k[j] = dcv * f;
        }
    }
}

/* The whole loops, the products with W_hh by the caller's cblas_sgemm (NumPy's own BLAS; ilp64: 64-bit ints). */
typedef void (*gemm64_t)(int, int, int, int64_t, int64_t, int64_t, float, const float *, int64_t, const float *,
                         int64_t, float, float *, int64_t);
typedef void (*gemm32_t)(int, int, int, int, int, int, float, const float *, int, const float *, int, float,
                         float *, int);

static void gemm(void *fn, int ilp64, int transb, int M, int N, int K, const float *A, int lda, const float *Bm,
                 int ldb, float *C, int ldc)
{
    int tb = transb ? 112 : 111;                 /* CblasTrans : CblasNoTrans; 101: CblasRowMajor */
    if (ilp64) ((gemm64_t)fn)(101, 111, tb, M, N, K, 1.0f, A, lda, Bm, ldb, 0.0f, C, ldc);
    else ((gemm32_t)fn)(101, 111, tb, M, N, K, 1.0f, A, lda, Bm, ldb, 0.0f, C, ldc);
}

/* WhT (when given): W_hh^T (4H, H), copied here, for the product as W_hh^T h^T (RecurrentLayer._transposed_loop) */
CLONES void lstm_forward(int T, int B, int H, float *G, const float *Wh, int ldw, float *WhT, int ldt, float *rec,
                         float *Cs, float *TC, float *Hs, const float *X, const float *Wx, const float *bias, int D,
                         void *fn, int ilp64)
{
    for (int j0 = 0; j0 < 4 * H && WhT; j0 += 16)
        for (int i = 0; i < H; ++i)
            for (int j = j0; j < j0 + 16 && j < 4 * H; ++j)
                WhT[(size_t)j * ldt + i] = Wh[(size_t)i * ldw + j];
    for (int t = 0; t < T; ++t) {
        const float *h = Hs + (size_t)t * B * H;
        if (WhT) gemm(fn, ilp64, 1, 4 * H, B, H, WhT, ldt, h, H, rec, B);
        else gemm(fn, ilp64, 0, B, 4 * H, H, h, H, Wh, ldw, rec, 4 * H);
        lstm_forward_step(t, B, H, G, rec, WhT != NULL, Cs, TC, Hs, X, Wx, bias, D);
    }
}

CLONES void lstm_backward(int T, int B, int H, const float *G, const float *Cs, const float *TC, const float *Wh,
                          const float *dY, const float *dC, float *dh, float *dc, float *dG, float *dhtr,
                          void *fn, int ilp64)
{
    for (int t = T - 1; t >= 0; --t) {
        lstm_backward_step(t, B, H, G, Cs, TC, t == T - 1 ? NULL : dhtr, dY, dC, dh, dc, dG);
        gemm(fn, ilp64, 1, H, B, 4 * H, Wh, 4 * H, dG + (size_t)t * B * 4 * H, 4 * H, dhtr, B);
    }
    for (int b = 0; b < B; ++b)
        for (int j = 0; j < H; ++j)
            dh[(size_t)b * H + j] = dhtr[(size_t)j * B + b];
}
"""

CDEF = """
const char *gatedrnn_key(void);
void lstm_forward_step(int, int, int, float *, const float *, int, float *, float *, float *, const float *,
                       const float *, const float *, int);
void lstm_backward_step(int, int, int, const float *, const float *, const float *, const float *,
                        const float *, const float *, float *, float *, float *);
void lstm_forward(int, int, int, float *, const float *, int, float *, int, float *, float *, float *, float *,
                  const float *, const float *, const float *, int, void *, int);
void lstm_backward(int, int, int, const float *, const float *, const float *, const float *, const float *,
                   const float *, float *, float *, float *, float *, void *, int);
"""
NARROW = 16        # inputs of at most this many values are projected inside the loop (forward_loop's proj)
FLAGS = ("-O3", "-std=gnu99", "-fPIC", "-shared", "-fno-trapping-math")

_loaded: dict[str, Any] = {"tried": False, "lib": None, "why": "not loaded yet", "gemm": None, "found": None}


def reset() -> None:
    """Forget the loaded library, so that the next use looks again (tests; a changed cache directory)."""
    _loaded.update(tried=False, lib=None, why="not loaded yet", gemm=None, found=None)
enabled = os.environ.get("GATEDRNN_FAST", "").strip() == "1"   # GATEDRNN_FAST=1 (or this set to True) turns it on


def cache_dir() -> str:
    """``<cache>/kernels``, where built libraries are kept (see the module docstring)."""
    root = os.environ.get("GATEDRNN_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "gatedrnn")
    return os.path.join(root, "kernels")


def _private(path: str) -> bool:
    """Owned by this user and not writable by group or others (a directory: also not readable by them)."""
    st = os.stat(path)
    loose = 0o077 if stat.S_ISDIR(st.st_mode) else 0o022
    return st.st_uid == os.getuid() and not st.st_mode & loose


def build_key(compiler: str) -> str:
    """SHA-256 of the C source, the flags, the machine and the compiler (resolved path and driver bytes)."""
    h = hashlib.sha256()
    for part in (C_SOURCE, " ".join(FLAGS), platform.machine(), os.path.realpath(compiler)):
        h.update(part.encode() + b"\0")
    with open(os.path.realpath(compiler), "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def _build(compiler: str, key: str, target: str) -> None:
    """Compile the library into ``target`` (a temporary name in its directory, then renamed)."""
    folder = os.path.dirname(target)
    with tempfile.TemporaryDirectory(prefix="gatedrnn-build-") as tmp:
        src = os.path.join(tmp, "lstm.c")
        with open(src, "w") as f:
            f.write(C_SOURCE)
        fd, part = tempfile.mkstemp(prefix=".lstm-", suffix=".so.part", dir=folder)
        os.close(fd)
        try:
            subprocess.run([compiler, *FLAGS, f'-DGATEDRNN_KEY="{key}"', src, "-o", part], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
            os.chmod(part, 0o700)
            os.replace(part, target)
        finally:
            if os.path.exists(part):
                os.unlink(part)


def _load():
    """-> (library, None) or (None, why not)."""
    try:
        import cffi  # type: ignore[import-untyped]
    except ImportError:
        return None, "cffi not installed (the fast extra)"
    compiler = shutil.which(os.environ.get("CC", "cc"))
    if compiler is None:
        return None, "no C compiler (cc)"
    folder = cache_dir()
    os.makedirs(folder, mode=0o700, exist_ok=True)
    if not _private(folder):
        return None, f"cache directory {folder} is not private to this user (0700)"
    key = build_key(compiler)
    target = os.path.join(folder, f"lstm-{key[:32]}.so")
    if not os.path.exists(target):
        _build(compiler, key, target)
    if not _private(target):
        return None, f"cached library {target} is not private to this user"
    other = f"cached library {target} was built from another source or compiler"
    with open(target, "rb") as f:                # checked before loading: dlopen runs a library's code
        if key.encode() not in f.read():
            return None, other
    ffi = cffi.FFI()
    ffi.cdef(CDEF)
    lib = ffi.dlopen(target)
    if ffi.string(lib.gatedrnn_key()).decode() != key:
        return None, other
    return (ffi, lib), None


GEMM_SYMBOLS = (("scipy_cblas_sgemm64_", 1), ("cblas_sgemm64_", 1), ("scipy_cblas_sgemm", 0))


def _numpy_gemm():
    """``cblas_sgemm`` of the OpenBLAS inside NumPy's wheel (``numpy.libs``) as (ffi pointer, ilp64), or None.
    Only names whose integer width is certain: the ``64_`` suffix (ILP64) or scipy-openblas32's (LP64)."""
    import ctypes
    import glob
    ffi = _loaded["lib"][0]
    libs = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(numpy.__file__))), "numpy.libs")
    for path in sorted(glob.glob(os.path.join(libs, "*openblas*.so*"))):
        blas = ctypes.CDLL(path)
        for name, ilp64 in GEMM_SYMBOLS:
            fn = getattr(blas, name, None)
            if fn is not None:
                return ffi.cast("void *", ctypes.cast(fn, ctypes.c_void_p).value), ilp64
    return None


def _gemm_agrees() -> bool:
    """The whole-loop functions (NumPy's sgemm called from C) give the per-step loop's results on a small case."""
    rng = numpy.random.default_rng(0)
    T, B, H = 3, 2, 5
    G0, Wh = (rng.standard_normal(s).astype(numpy.float32) for s in ((T, B, 4 * H), (H, 4 * H)))
    dY = rng.standard_normal((T, B, H)).astype(numpy.float32)
    out = []
    for whole, transposed in ((False, False), (True, False), (True, True)):
        _loaded["gemm"] = _loaded["found"] if whole else None
        G, Hs, Cs, TC = G0.copy(), *(numpy.zeros((n, B, H), numpy.float32) for n in (T + 1, T + 1, T))
        forward_loop(G, Wh, Hs, Cs, TC, None, transposed)
        dh, dc = dY[T - 1].copy(), numpy.zeros((B, H), numpy.float32)
        out.append([Hs, Cs, backward_loop(G, Hs, Cs, TC, Wh, dY, None, dh, dc), dh, dc])
    return all(numpy.allclose(a, b, rtol=1e-5, atol=1e-6) for other in out[1:] for a, b in zip(out[0], other))


def library():
    """The loaded (ffi, lib) pair, built on first use, or None; never raises."""
    if not _loaded["tried"]:
        _loaded["tried"] = True
        try:
            _loaded["lib"], _loaded["why"] = _load()
            _loaded["found"] = _loaded["gemm"] = None
            if _loaded["lib"] is not None:
                _loaded["found"] = _numpy_gemm()
                if _loaded["found"] is not None and not _gemm_agrees():
                    _loaded["found"] = None
                _loaded["gemm"] = _loaded["found"]
        except (OSError, subprocess.SubprocessError, ValueError) as exc:   # cffi raises OSError on dlopen
            _loaded["lib"], _loaded["why"] = None, f"build or load failed ({type(exc).__name__})"
    return _loaded["lib"]


def describe() -> str:
    """Which LSTM path is active, in words (``gatedrnn --version``)."""
    if not enabled:
        return "numpy (the default; GATEDRNN_FAST=1 selects the compiled path)"
    if library() is None:
        return f"numpy ({_loaded['why']})"
    loops = "whole time loops in C with NumPy's BLAS" if _loaded["gemm"] else "per-step C kernels"
    return f"compiled (cffi, {os.path.basename(shutil.which(os.environ.get('CC', 'cc')) or 'cc')}; {loops})"


def usable(a) -> bool:
    """Whether the compiled loops apply to arrays like ``a`` (float32 on the NumPy backend)."""
    return enabled and xp is numpy and a.dtype == numpy.float32 and library() is not None


def forward_loop(G, Wh, Hs, Cs, TC, proj=None, transposed=False) -> None:
    """``LSTMLayer._forward_loop`` with the gate arithmetic in C; its arguments but G and Wh not halved (C halves
    the sigmoid gates' sums), all C-contiguous float32 (Wh's rows may be padded). ``proj`` = (x (T, B, D),
    W_ih (D, 4H), bias (4H,)), optional: G is then only a buffer and each step computes its own
    ``x_t W_ih + bias`` first (inputs of at most ``NARROW`` values, where the GEMM over all steps is slow).
    ``transposed``: the products as ``W_hh^T h^T`` from a transposed copy made in C (whole loops only)."""
    ffi, lib = library()
    T, B, G4 = G.shape
    H = G4 // 4
    proj = None if proj is None else [numpy.ascontiguousarray(a, dtype=G.dtype) for a in proj]
    X, Wx, bias = (ffi.NULL,) * 3 if proj is None else (ffi.from_buffer("float[]", a) for a in proj)
    D = 0 if proj is None else proj[0].shape[-1]
    if _loaded["gemm"] is not None and Wh.strides[1] == Wh.itemsize:   # rows may be padded, not columns
        ldt = H + (16 if H * 4 % 4096 == 0 else 0)
        WhT, rec = (numpy.empty((G4, ldt), G.dtype), numpy.empty((G4, B), G.dtype)) if transposed else (None, None)
        rec = numpy.empty((B, G4), dtype=G.dtype) if rec is None else rec
        p = [ffi.from_buffer("float[]", a) for a in (G, rec, Cs, TC, Hs)]
        w, wt = ffi.cast("float *", Wh.ctypes.data), ffi.NULL if WhT is None else ffi.from_buffer("float[]", WhT)
        lib.lstm_forward(T, B, H, p[0], w, Wh.strides[0] // Wh.itemsize, wt, ldt, *p[1:], X, Wx, bias, D,
                         *_loaded["gemm"])
        return
    rec = numpy.empty((B, G4), dtype=G.dtype)
    p = [ffi.from_buffer("float[]", a) for a in (G, rec, Cs, TC, Hs)]
    for t in range(T):
        numpy.matmul(Hs[t], Wh, out=rec)
        lib.lstm_forward_step(t, B, H, p[0], p[1], 0, *p[2:], X, Wx, bias, D)


def backward_loop(G, Hs, Cs, TC, Wh, dY, dC, dh, dc, dG=None):
    """``LSTMLayer._backward_loop`` with the gate arithmetic in C: -> dG; ``dh``, ``dc`` (B, H) are updated in
    place to the gradients of h_0 and c_0 (``dh`` must hold dh_T + dY[T-1] on entry)."""
    ffi, lib = library()
    (T, B, G4), dG = G.shape, numpy.empty_like(G) if dG is None else dG   # dG: the caller's buffer, optional
    H = G4 // 4
    dh_tr = numpy.empty((H, B), dtype=G.dtype)
    buf = lambda a: ffi.NULL if a is None else ffi.from_buffer("float[]", a)   # noqa: E731
    dY, dC = (None if a is None else numpy.ascontiguousarray(a, dtype=G.dtype) for a in (dY, dC))
    pG, pC, pTC, pY, pdC, ptr = buf(G), buf(Cs), buf(TC), buf(dY), buf(dC), buf(dh_tr)
    pdh, pdc, pdG = buf(dh), buf(dc), buf(dG)
    if _loaded["gemm"] is not None:
        Wh = numpy.ascontiguousarray(Wh)
        lib.lstm_backward(T, B, H, pG, pC, pTC, buf(Wh), pY, pdC, pdh, pdc, pdG, ptr, *_loaded["gemm"])
        return dG
    step = lib.lstm_backward_step
    for t in range(T - 1, -1, -1):
        step(t, B, H, pG, pC, pTC, ffi.NULL if t == T - 1 else ptr, pY, pdC, pdh, pdc, pdG)
        numpy.matmul(Wh, dG[t].T, out=dh_tr)
    numpy.copyto(dh, dh_tr.T)
    return dG
