"""The C export of a classifier with a front end (``deploy/c99_front.py``) compiled, run from Python through
ctypes and checked against ``Stream`` (``QuantizedStream`` for int8): what ``gatedrnn export CK --c DIR`` runs for
such a classifier, the tests and the timing of its step.

``build_front(folder, prefixes)`` compiles each export with a harness (``<prefix>_run``: n raw samples in one call,
each step's return value kept, so that timing sees the C and not ctypes) into one library; ``FrontCModel(lib,
folder, prefix)`` runs it: ``run(xs) -> (ys, flags)``, ``ys`` the logits written on the samples that completed a
frame (NaN elsewhere), ``flags`` the step's return values. ``check_front(model, folder, prefix)`` compares it with
the Python stream over random raw samples: the flags must say 1 exactly every ``frame`` samples, the logits must
equal the stream's on those samples. ``export_front_c`` is the command's side: the checkpoint's labels and
scaling, the files written where ``deploy/targets.py`` allows, the check in a temporary folder.
"""

from __future__ import annotations

import ctypes
import math
import time
from pathlib import Path

import numpy

from gatedrnn.deploy.adapters import adapter_for
from gatedrnn.deploy.c99 import check_folder, write_sources
from gatedrnn.deploy.c99_front import describe_front, front_sources
from gatedrnn.deploy.c99_run import CLibrary, _sizes, compile_c, compile_copy
from gatedrnn.errors import UserError
from gatedrnn.models.front import export_front
from gatedrnn.models.quantize import QuantizedStream
from gatedrnn.models.stream import Stream

C_STEPS = 4000


def _harness(p: str, n_in: int, n_out: int) -> str:
    return "\n".join([
        f'#include "{p}.h"', "", f"int {p}_state_bytes(void);",
        f"int {p}_run({p}_state *s, const float *xs, int n, float *ys, signed char *flags);", "",
        f"int {p}_state_bytes(void) {{ return (int)sizeof({p}_state); }}", "",
        f"int {p}_run({p}_state *s, const float *xs, int n, float *ys, signed char *flags)", "{",
        "    int t, frames = 0;", "    for (t = 0; t < n; ++t) {",
        f"        flags[t] = (signed char){p}_step(s, xs + (long)t * {n_in}, ys + (long)t * {n_out});",
        "        frames += flags[t] == 1;", "    }", "    return frames;", "}", ""])


def build_front(folder, prefixes, *, cc: str | None = None, name: str = "libfront.so") -> Path:
    """Compile the exports ``prefixes`` in ``folder`` with their harnesses into ``folder/name``."""
    folder = Path(folder)
    sources = []
    for p in prefixes:
        sizes = _sizes(folder / f"{p}.h", p)
        h = folder / f"{p}_harness.c"
        h.write_text(_harness(p, sizes["INPUT_SIZE"], sizes["OUTPUT_SIZE"]), encoding="utf-8")
        sources += [folder / f"{p}.c", h]
    return compile_c(sources, folder / name, cc=cc)


class FrontCModel(CLibrary):
    """One export inside a library from ``build_front``: ``reset()``, ``state_bytes`` (the struct: carried state
    and scratch), ``frame``, and ``run(xs) -> (ys, flags)``."""

    def __init__(self, lib, folder, prefix: str = "model"):
        super().__init__(lib, folder, prefix)
        self.frame = self.sizes["FRAME"]

    def run(self, xs) -> tuple[numpy.ndarray, numpy.ndarray]:
        xs = numpy.ascontiguousarray(xs, dtype=numpy.float32).reshape(-1, self.input_size)
        n = xs.shape[0]
        ys = numpy.full((n, self.output_size), numpy.nan, dtype=numpy.float32)
        flags = numpy.zeros(n, dtype=numpy.int8)
        self._run(self._state, xs.ctypes.data_as(ctypes.c_void_p), ctypes.c_int(n),
                  ys.ctypes.data_as(ctypes.c_void_p), flags.ctypes.data_as(ctypes.c_void_p))
        return ys, flags

    def microseconds_per_sample(self, xs, repeats: int = 5) -> float:
        """The median over ``repeats`` runs through ``xs`` (from the reset state) of the time per sample."""
        times = []
        for _ in range(repeats):
            self.reset()
            t0 = time.perf_counter()
            self.run(xs)
            times.append((time.perf_counter() - t0) / len(xs))
        return float(numpy.median(times)) * 1e6


def raw_inputs(model, steps: int, standardize=None, seed: int = 0) -> numpy.ndarray:
    """``steps`` random raw samples: standard normal on the training data's scale (float32, read exactly by C)."""
    xs = numpy.random.default_rng(seed).standard_normal((steps, export_front(model).input_size))
    if standardize is not None:
        xs = xs * numpy.asarray(standardize[1]) + numpy.asarray(standardize[0])
    return xs.astype(numpy.float32)


def reference(model, xs, *, int8: bool = False, standardize=None) -> numpy.ndarray:
    """What the C step must compute: the Python stream's output after each raw sample."""
    kind = QuantizedStream if int8 else Stream
    return numpy.asarray(kind(model, standardize=standardize).run(xs), dtype=numpy.float64)


def compare(model, ys, flags, ref) -> float:
    """The largest difference between the C logits and ``ref`` on the samples that completed a frame; infinite when
    the flags are not 1 exactly every ``frame`` samples (and 0 otherwise)."""
    F = export_front(model).frame_size
    want = (numpy.arange(1, len(flags) + 1) % F == 0).astype(numpy.int8)
    if not numpy.array_equal(flags, want):
        return math.inf
    done = flags == 1
    return float(numpy.max(numpy.abs(ys[done].astype(numpy.float64) - ref[done].astype(numpy.float32))))


def check_front(model, folder, prefix: str = "model", *, int8: bool = False, standardize=None,
                steps: int = C_STEPS, cc: str | None = None) -> dict:
    """Compile the export in ``folder`` (in place), run it and the Python stream over ``steps`` random raw samples
    -> ``{"max_abs_diff", "state_bytes"}``."""
    lib = build_front(folder, [prefix], cc=cc, name=f"lib{prefix}.so")
    c = FrontCModel(lib, folder, prefix)
    xs = raw_inputs(model, steps, standardize)
    ys, flags = c.run(xs)
    diff = compare(model, ys, flags, reference(model, xs, int8=int8, standardize=standardize))
    return {"max_abs_diff": diff, "state_bytes": c.state_bytes}


def export_front_c(model, meta: dict, ck: Path, out: Path, *, int8: bool = False, prefix: str = "model",
                   echo=print) -> dict:
    """Export a classifier with a front end (from checkpoint ``ck``, its ``meta``) into ``out`` and check it ->
    ``write_sources``' dict with ``"max_abs_diff"`` and ``"state_bytes"`` (None without a C compiler)."""
    what = describe_front(model, int8)
    io = adapter_for(meta).io(ck, model, meta)    # its application's scaling and labels (deploy/adapters.py)
    standardize, labels = io.standardize, io.labels
    if standardize is not None:
        what += ", raw samples standardised inside"
    header, source = front_sources(model, prefix=prefix, int8=int8, standardize=standardize, labels=labels,
                                   origin=str(ck))
    result = write_sources(check_folder(out), prefix, header, source)
    echo(f"wrote {result['header']} and {result['source']} ({result['bytes']:,} bytes): {what}; weights "
         f"{result['weight_bytes']:,} bytes")
    result.update(max_abs_diff=None, state_bytes=None)
    cc = compile_copy(result, lambda tmp, cc: check_front(model, tmp, prefix, int8=int8, standardize=standardize,
                                                          cc=cc), echo)
    if cc is None:
        return result
    if not math.isfinite(result["max_abs_diff"]):
        raise UserError(f"export check: expected the compiled C and gatedrnn to agree on random samples, got a "
                        f"difference of {result['max_abs_diff']} (outputs not finite, or frames out of step)")
    ref = "QuantizedStream" if int8 else "Stream"
    echo(f"compiled as C99 with {Path(cc).name} (-Wall -Wextra -pedantic -Werror); C vs gatedrnn's {ref} over "
         f"{C_STEPS} random raw samples: max abs difference {result['max_abs_diff']:.2e} on the "
         f"{C_STEPS // export_front(model).frame_size} completed frames; state {result['state_bytes']:,} bytes (buffers, "
         f"recurrent state and the step's scratch)")
    return result
