"""Compiling a fixed-point C export (``deploy/c99_fixed.py``) and checking it: the export's own check, the tests and
``benchmarks/fixed_point.py`` use this.

``build_fixed(folder, prefixes)`` compiles ``<prefix>.c`` with a harness (``<prefix>_run``: N steps in one call,
returning how many steps saturated a value; ``<prefix>_state_bytes``; ``<prefix>_saturated``) into one shared
library, C99 with every warning an error. ``CFixed(lib, prefix, fm)`` runs it: ``reset()``, ``run(xs) -> ys``
(int64, Q16), ``saturated``, ``state_bytes``. ``check_fixed(fm, model, folder)`` runs the C step, its Python
reference (``FixedStream``) and the float model (``Stream``) on the same random inputs: the number of outputs where
C and the reference differ (0: bit-exact), and the largest difference from the float model. ``flash_bytes``
compiles the source alone at ``-Os`` and reads text + data of the object (``size``; ``arm-none-eabi-gcc`` and its
``size`` when installed).
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy

from gatedrnn.deploy.c99_run import CFLAGS, compile_c, find_cc
from gatedrnn.deploy.fixed_stream import FixedModel, FixedStream


def _harness(p: str) -> str:
    return "\n".join([
        f'#include "{p}.h"', "", f"int {p}_state_bytes(void);", f"unsigned long {p}_saturated(const {p}_state *s);",
        f"int {p}_run({p}_state *s, const int16_t *xs, int n, int32_t *ys);", "",
        f"int {p}_state_bytes(void) {{ return (int)sizeof({p}_state); }}",
        f"unsigned long {p}_saturated(const {p}_state *s) {{ return (unsigned long)s->saturated; }}", "",
        f"int {p}_run({p}_state *s, const int16_t *xs, int n, int32_t *ys)", "{", "    int t, bad = 0;",
        f"    for (t = 0; t < n; ++t) bad += {p}_step(s, xs + (long)t * {p.upper()}_INPUT_SIZE, "
        f"ys + (long)t * {p.upper()}_OUTPUT_SIZE);", "    return bad;", "}", ""])


def build_fixed(folder, prefixes, *, cc: str | None = None, name: str = "libfixed.so") -> Path:
    """Compile the fixed-point exports ``prefixes`` in ``folder`` with their harnesses into ``folder/name``."""
    folder = Path(folder)
    sources = []
    for p in prefixes:
        h = folder / f"{p}_harness.c"
        h.write_text(_harness(p), encoding="utf-8")
        sources += [folder / f"{p}.c", h]
    return compile_c(sources, folder / name, cc=cc, flags=CFLAGS)


class CFixed:
    """One fixed-point export inside a library from ``build_fixed``."""

    def __init__(self, lib, prefix: str, fm: FixedModel):
        self.lib = lib if isinstance(lib, ctypes.CDLL) else ctypes.CDLL(str(lib))
        self.fm = fm
        self.state_bytes = int(getattr(self.lib, f"{prefix}_state_bytes")())
        self._state = ctypes.create_string_buffer(self.state_bytes + 16)
        self._reset = getattr(self.lib, f"{prefix}_reset")
        self._run = getattr(self.lib, f"{prefix}_run")
        self._run.restype = ctypes.c_int
        self._sat = getattr(self.lib, f"{prefix}_saturated")
        self._sat.restype = ctypes.c_ulong
        self.reset()

    @property
    def saturated(self) -> int:
        return int(self._sat(self._state))

    def reset(self) -> None:
        self._reset(self._state)

    def run(self, xs) -> numpy.ndarray:
        """Step through ``xs`` ((steps, input_size) int16 values) -> (steps, outputs) int64."""
        xs = numpy.ascontiguousarray(numpy.asarray(xs).reshape(-1, self.fm.input_size), dtype=numpy.int16)
        ys = numpy.zeros((xs.shape[0], self.fm.output_size), dtype=numpy.int32)
        self._run(self._state, xs.ctypes.data_as(ctypes.c_void_p), ctypes.c_int(xs.shape[0]),
                  ys.ctypes.data_as(ctypes.c_void_p))
        return ys.astype(numpy.int64)


def random_float_inputs(fm: FixedModel, steps: int, standardize=None, seed: int = 0) -> numpy.ndarray:
    """Standard normal inputs on the model's standardised scale; raw ones (mean + std z) when it standardises."""
    z = numpy.random.default_rng(seed).standard_normal((steps, fm.input_size))
    if standardize is None:
        return z
    return numpy.asarray(standardize[0]) + numpy.asarray(standardize[1]) * z


def float_reference(model, fm: FixedModel, xq, standardize=None) -> numpy.ndarray:
    """The float model's outputs (``Stream``) on the inputs the fixed step read: ``xq`` (int16) decoded."""
    from gatedrnn.models.stream import Stream

    bits = fm.standardize["rf"] if fm.standardize is not None else 12
    x = numpy.asarray(xq, dtype=numpy.float64) / 2.0 ** bits
    if standardize is not None:
        x = (x - numpy.asarray(standardize[0])) / numpy.asarray(standardize[1])
    return numpy.asarray(Stream(model).run(x.astype(numpy.float32)), dtype=numpy.float64)


def check_fixed(fm: FixedModel, model, folder, prefix: str = "model", *, standardize=None, steps: int = 10_000,
                seq: int = 25, cc: str | None = None) -> dict:
    """Compile the export in ``folder`` (in place) and check it on random inputs -> ``{"mismatches"``: outputs
    where the C step and ``FixedStream`` differ over ``steps`` steps in one run (0: bit-exact), ``"saturated"``:
    the values the C step clamped there (the reference's count in ``"reference_saturated"``), ``"max_abs_diff"``:
    the largest difference of the C outputs from the float model's (``Stream``) over sequences of ``seq`` steps
    from a reset state (a long run of random inputs drives a cell's state where the float model never goes on
    real data), and ``"state_bytes"}``."""
    lib = build_fixed(folder, [prefix], cc=cc, name=f"lib{prefix}_fixed.so")
    xq = fm.encode(random_float_inputs(fm, steps, standardize))
    c = CFixed(lib, prefix, fm)
    ys = c.run(xq)
    ref = FixedStream(fm)
    want = ref.run(xq)
    out = {"mismatches": int(numpy.count_nonzero(ys != want)), "saturated": c.saturated,
           "reference_saturated": ref.saturated, "state_bytes": c.state_bytes, "max_abs_diff": 0.0}
    for start in range(0, min(steps, 1000), seq):
        chunk = xq[start:start + seq]
        c.reset()
        got = c.run(chunk) / 2.0 ** 16
        diff = numpy.abs(got - float_reference(model, fm, chunk, standardize))
        out["max_abs_diff"] = max(out["max_abs_diff"], float(numpy.max(diff)))
    return out


def _cross_tools() -> tuple[str, str] | None:
    gcc, size = shutil.which("arm-none-eabi-gcc"), shutil.which("arm-none-eabi-size")
    return (gcc, size) if gcc and size else None


def flash_bytes(folder, prefix: str = "model", cc: str | None = None) -> dict | None:
    """text + data of ``<prefix>.c`` compiled alone at -Os (``arm-none-eabi-gcc -mcpu=cortex-m0 -mthumb`` when
    installed, else the host compiler) -> ``{"bytes", "target"}``, or None without a compiler or ``size``."""
    folder = Path(folder)
    cross = _cross_tools()
    size: str | None
    flags: tuple[str, ...]
    if cross is not None:
        cc, size, flags, target = cross[0], cross[1], ("-mcpu=cortex-m0", "-mthumb"), "Cortex-M0 (arm-none-eabi-gcc)"
    else:
        cc, size, flags, target = cc or find_cc(), shutil.which("size"), (), "this host"
    if cc is None or size is None:
        return None
    obj = folder / f"{prefix}_os.o"
    compile_c([folder / f"{prefix}.c"], obj, cc=cc, flags=("-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror",
                                                             "-Os", *flags), shared=False)
    out = subprocess.run([size, str(obj)], capture_output=True, text=True, check=True).stdout.splitlines()
    text, data = (int(v) for v in out[1].split()[:2])
    return {"bytes": text + data, "target": target}
