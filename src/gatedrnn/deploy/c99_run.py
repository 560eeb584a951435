"""Compiling an exported C model and running it from Python through ctypes: what the export's own check, the
tests and ``benchmarks/edge.py`` use. Needs a C compiler (``$CC``, else ``cc``, ``gcc`` or ``clang``).

``build(folder, prefixes)`` compiles ``<prefix>.c`` of each exported model in ``folder`` with a small harness
(``<prefix>_run``: N steps in one call, so that timing sees the C code and not ctypes;
``<prefix>_state_bytes``) into one shared library, with ``CFLAGS`` (C99, every warning an error).
``CModel(lib, folder, prefix)`` then runs it: ``reset()``, ``run(xs) -> (ys, refused)``, ``state_bytes``.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy

from gatedrnn.errors import UserError

CFLAGS = ("-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-O2")


def find_cc() -> str | None:
    """The C compiler to use, or None."""
    env = os.environ.get("CC")
    if env and shutil.which(env):
        return shutil.which(env)
    for name in ("cc", "gcc", "clang"):
        found = shutil.which(name)
        if found:
            return found
    return None


def compile_copy(result: dict, check, echo) -> str | None:
    """How every export checks itself: ``check(folder, cc)`` runs on a copy of the two files it wrote (``result``'s
    ``header`` and ``source``) in a temporary folder and its dict is merged into ``result``; -> the compiler, or
    None (with one note through ``echo``) when there is none."""
    cc = find_cc()
    if cc is None:
        echo("note: no C compiler found (cc, gcc, clang or $CC), so the export was not compiled")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        for path in (result["header"], result["source"]):
            shutil.copy(path, tmp)
        result.update(check(tmp, cc))
    return cc


def _sizes(header: Path, prefix: str) -> dict:
    text = header.read_text(encoding="utf-8")
    P = prefix.upper()
    found = dict(re.findall(rf"#define {P}_(\w+) (\d+)", text))
    return {k: int(v) for k, v in found.items()}


def _harness(prefix: str, lm: bool, n_in: int, n_out: int) -> str:
    p = prefix
    arg, pick = ("const int *ids", "ids[t]") if lm else ("const float *xs", f"xs + (long)t * {n_in}")
    return "\n".join([
        f'#include "{p}.h"', "", f"int {p}_state_bytes(void);", f"int {p}_run({p}_state *s, {arg}, int n, float *ys);",
        "", f"int {p}_state_bytes(void) {{ return (int)sizeof({p}_state); }}", "",
        f"int {p}_run({p}_state *s, {arg}, int n, float *ys)", "{", "    int t, bad = 0;",
        f"    for (t = 0; t < n; ++t) bad += {p}_step(s, {pick}, ys + (long)t * {n_out}) != 0;",
        "    return bad;", "}", ""])


def compile_c(sources, target, *, cc: str | None = None, flags=CFLAGS, shared: bool = True) -> Path:
    """Compile ``sources`` into ``target`` (a shared library, or an object file with ``shared=False``); a
    compiler error is a bug in the generator and raises ``RuntimeError`` with its message."""
    cc = cc or find_cc()
    if cc is None:
        raise UserError("compiling the C export: expected a C compiler (cc, gcc or clang, or $CC), got none")
    mode = ["-fPIC", "-shared"] if shared else ["-c"]
    cmd = [cc, *flags, *mode, *map(str, sources), "-o", str(target)] + (["-lm"] if shared else [])
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr}")
    return Path(target)


def build(folder, prefixes, *, cc: str | None = None, name: str = "libmodels.so", flags=CFLAGS) -> Path:
    """Compile the exported models ``prefixes`` in ``folder`` with their harnesses into ``folder/name``."""
    folder = Path(folder)
    sources = []
    for p in prefixes:
        sizes = _sizes(folder / f"{p}.h", p)
        lm = "VOCAB_SIZE" in sizes
        h = folder / f"{p}_harness.c"
        h.write_text(_harness(p, lm, sizes.get("INPUT_SIZE", 1), sizes["OUTPUT_SIZE"]), encoding="utf-8")
        sources += [folder / f"{p}.c", h]
    return compile_c(sources, folder / name, cc=cc, flags=flags)


class CLibrary:
    """An export inside a compiled library, through ctypes: its header's sizes (``sizes``, ``input_size``,
    ``output_size``), its state buffer (``state_bytes``), ``reset()`` and the harness's ``_run``."""

    def __init__(self, lib, folder, prefix: str = "model"):
        self.lib = lib if isinstance(lib, ctypes.CDLL) else ctypes.CDLL(str(lib))
        self.sizes = _sizes(Path(folder) / f"{prefix}.h", prefix)
        self.input_size, self.output_size = self.sizes.get("INPUT_SIZE", 1), self.sizes["OUTPUT_SIZE"]
        self.state_bytes = int(getattr(self.lib, f"{prefix}_state_bytes")())
        self._state = ctypes.create_string_buffer(self.state_bytes + 16)
        self._reset = getattr(self.lib, f"{prefix}_reset")
        self._run = getattr(self.lib, f"{prefix}_run")
        self._run.restype = ctypes.c_int
        self.reset()

    def reset(self) -> None:
        self._reset(self._state)


class CModel(CLibrary):
    """One exported model inside a library from ``build``: ``reset()``, ``run(xs) -> (ys, refused)``."""

    def __init__(self, lib, folder, prefix: str = "model"):
        super().__init__(lib, folder, prefix)
        self.lm = "VOCAB_SIZE" in self.sizes

    def run(self, xs) -> tuple[numpy.ndarray, int]:
        """Step through ``xs`` (token ids (n,), or (n, input_size) floats) -> (outputs (n, output_size) float32,
        the number of inputs the step refused)."""
        if self.lm:
            xs = numpy.ascontiguousarray(xs, dtype=numpy.intc).reshape(-1)
        else:
            xs = numpy.ascontiguousarray(xs, dtype=numpy.float32).reshape(-1, self.input_size)
        n = xs.shape[0]
        ys = numpy.empty((n, self.output_size), dtype=numpy.float32)
        bad = self._run(self._state, xs.ctypes.data_as(ctypes.c_void_p), ctypes.c_int(n),
                        ys.ctypes.data_as(ctypes.c_void_p))
        return ys, int(bad)


def reference_run(model, xs, *, int8: bool = False, standardize=None) -> numpy.ndarray:
    """What the C export must compute, from Python: ``Stream`` (``QuantizedStream`` for int8 weights) over
    ``xs`` (standardised first with ``standardize`` = (mean, std))."""
    from gatedrnn.models.quantize import QuantizedStream
    from gatedrnn.models.stream import Stream

    kind = QuantizedStream if int8 else Stream
    if standardize is not None:
        mean, std = (numpy.asarray(a, dtype=numpy.float64) for a in standardize)
        xs = ((numpy.asarray(xs, dtype=numpy.float64) - mean) / std).astype(numpy.float32)
    s = kind(model)
    return numpy.asarray(s.run(xs if s.embed is None else numpy.asarray(xs).reshape(-1, 1)), dtype=numpy.float64)


def random_inputs(model, steps: int, *, seed: int = 0) -> numpy.ndarray:
    """``steps`` inputs for a check: token ids or standard normal features (float32 values, which the C step
    reads exactly)."""
    from gatedrnn.models.stream import model_parts

    rng = numpy.random.default_rng(seed)
    embed, rnn, _ = model_parts(model)
    if embed is not None:
        return rng.integers(0, embed.W.shape[0], size=steps)
    return rng.standard_normal((steps, rnn.input_size)).astype(numpy.float32)


def check_export(model, folder, prefix: str = "model", *, int8: bool = False, standardize=None,
                 steps: int = 1000, cc: str | None = None) -> float:
    """Compile the export in ``folder`` (in place: the harness and library land beside it), run it and the
    Python reference over ``steps`` random inputs; -> the largest absolute difference of the outputs."""
    lib = build(folder, [prefix], cc=cc, name=f"lib{prefix}.so")
    xs = random_inputs(model, steps)
    if standardize is not None:                  # raw inputs on the training data's scale
        xs = (xs * numpy.asarray(standardize[1]) + numpy.asarray(standardize[0])).astype(numpy.float32)
    ys, _ = CModel(lib, folder, prefix).run(xs)
    ref = reference_run(model, xs, int8=int8, standardize=standardize).astype(numpy.float32).astype(numpy.float64)
    both = numpy.isnan(ref) & numpy.isnan(ys)
    diff = numpy.where(both, 0.0, numpy.abs(ys.astype(numpy.float64) - ref))
    return float(numpy.max(diff))
