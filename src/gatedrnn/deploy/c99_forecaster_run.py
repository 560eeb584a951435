"""A Forecaster's C export (``deploy/c99_forecaster.py``) compiled and run from Python through ctypes, checked against
``Forecaster.quantile_forecast`` (what ``predict`` returns): what ``gatedrnn export FOLDER --c DIR`` of a
``Forecaster.save`` folder runs, and what the tests and the edge benchmark use.

``check_forecaster_c(f, folder, prefix)`` compiles the export with a small harness (``<prefix>_run``: a reset,
then a push and a forecast per value in one call; ``<prefix>_time``: forecasts only, for timing) with
``c99_run.CFLAGS`` (C99, every warning an error), pushes the last window of the forecaster's first series and
then ``pushes`` more values (the series' own seasonal pattern with noise), and returns the largest difference of
every forecast after a full window, in units of ``max(1, |y|)``, with the state's bytes and the time of one
forecast.
"""

from __future__ import annotations

import ctypes
import math
import time
from pathlib import Path

import numpy

from gatedrnn.deploy.adapters import ForecasterFacts
from gatedrnn.deploy.c99_esrnn import export_esrnn_c_folder
from gatedrnn.deploy.c99_forecaster import export_forecaster_c
from gatedrnn.deploy.c99_run import compile_c, compile_copy
from gatedrnn.deploy.forecaster_checks import recursive_note
from gatedrnn.errors import UserError

PUSHES = 1000


def _harness(p: str) -> str:
    P = p.upper()
    return "\n".join([
        f'#include "{p}.h"', "", f"int {p}_state_bytes(void);",
        f"int {p}_run({p}_state *s, long start, const double *xs, int n, double *ys);",
        f"int {p}_time({p}_state *s, int n, double *ys);", "",
        f"int {p}_state_bytes(void) {{ return (int)sizeof({p}_state); }}", "",
        f"int {p}_run({p}_state *s, long start, const double *xs, int n, double *ys)", "{", "    int t, bad = 0;",
        f"    {p}_reset(s, start);", "    for (t = 0; t < n; ++t) {",
        f"        bad += {p}_push(s, xs[t]) != 0;",
        f"        if ({p}_forecast(s, ys + (long)t * {P}_OUTPUT_SIZE) != 0) ++bad;", "    }", "    return bad;", "}", "",
        f"int {p}_time({p}_state *s, int n, double *ys)", "{", "    int t, bad = 0;",
        f"    for (t = 0; t < n; ++t) bad += {p}_forecast(s, ys) != 0;", "    return bad;", "}", ""])


class CForecaster:
    """The compiled export: ``run(xs, start) -> (forecasts (n, horizon, Q), refused)``, ``state_bytes``,
    ``seconds_per_forecast()``."""

    def __init__(self, folder, prefix: str, f, cc: str | None = None):
        folder = Path(folder)
        (folder / f"{prefix}_harness.c").write_text(_harness(prefix), encoding="utf-8")
        lib = compile_c([folder / f"{prefix}.c", folder / f"{prefix}_harness.c"], folder / f"lib{prefix}.so", cc=cc)
        self.lib = ctypes.CDLL(str(lib))
        self.horizon, self.q = f.horizon, len(f.quantiles)
        self.state_bytes = int(getattr(self.lib, f"{prefix}_state_bytes")())
        self._state = ctypes.create_string_buffer(self.state_bytes + 16)
        self._run, self._time = getattr(self.lib, f"{prefix}_run"), getattr(self.lib, f"{prefix}_time")

    def run(self, xs, start: int = 0) -> tuple[numpy.ndarray, int]:
        xs = numpy.ascontiguousarray(xs, dtype=numpy.float64)
        ys = numpy.full((len(xs), self.horizon, self.q), numpy.nan)
        bad = self._run(self._state, ctypes.c_long(int(start)), xs.ctypes.data_as(ctypes.c_void_p),
                        ctypes.c_int(len(xs)), ys.ctypes.data_as(ctypes.c_void_p))
        return ys, int(bad)

    def seconds_per_forecast(self, n: int = 200) -> float:
        """After ``run``: the time of one forecast (the best of three runs of ``n``)."""
        ys = numpy.empty(self.horizon * self.q)
        best = math.inf
        for _ in range(3):
            t0 = time.perf_counter()
            self._time(self._state, ctypes.c_int(n), ys.ctypes.data_as(ctypes.c_void_p))
            best = min(best, time.perf_counter() - t0)
        return best / n


def check_values(f, pushes: int = PUSHES, seed: int = 0) -> tuple[numpy.ndarray, int]:
    """(values, start): the last window of the longest series (as ``predict`` reads it), then ``pushes`` values
    going on with it (that window repeated, plus noise of a tenth of its spread); ``start``: the index of the first
    value in its series (0 for a padded window: the C reads every pushed value as the series' own)."""
    tails, starts = f._tails(f.panel)
    i = int(numpy.argmax(starts))
    tail = numpy.asarray(tails[i], dtype=numpy.float64)
    rng = numpy.random.default_rng(seed)
    more = numpy.resize(tail, pushes) + 0.1 * (tail.std() + 1e-9) * rng.standard_normal(pushes)
    return numpy.concatenate([tail, more]), max(int(starts[i]), 0)


def compare(f, c_out: numpy.ndarray, xs: numpy.ndarray, start: int) -> float:
    """Largest |C - quantile_forecast| / max(1, |y|) over the forecasts after every full window."""
    W = f.window
    windows = numpy.lib.stride_tricks.sliding_window_view(xs, W)
    ref = f.quantile_forecast(windows, start + numpy.arange(len(windows)))
    got = c_out[W - 1:]
    return float(numpy.max(numpy.abs(got - ref) / numpy.maximum(1.0, numpy.abs(ref))))


def check_forecaster_c(f, folder, prefix: str = "model", *, pushes: int = PUSHES, cc: str | None = None) -> dict:
    """Compile the export in ``folder`` (the harness and library land beside it) and compare it with
    ``quantile_forecast`` (module docstring): ``{"max_diff", "state_bytes", "seconds_per_forecast"}``."""
    c = CForecaster(folder, prefix, f, cc=cc)
    xs, start = check_values(f, pushes)
    out, bad = c.run(xs, start)
    if bad != f.window - 1:            # the forecasts before a full window are refused, nothing else
        raise UserError(f"Forecaster C export check: expected only the first {f.window - 1} forecasts refused (before "
                        f"a full window), got {bad} refusals over {len(xs)} values")
    return {"max_diff": compare(f, out, xs, start), "state_bytes": c.state_bytes,
            "seconds_per_forecast": c.seconds_per_forecast()}


def export_forecaster_c_folder(facts: ForecasterFacts, ck: Path, out: Path, *, int8: bool = False, prefix: str = "model",
                               echo=print) -> dict:
    """``gatedrnn export FOLDER --c DIR`` of a ``Forecaster.save`` folder (``ck``: its first member's checkpoint,
    loaded by ``facts``, its export adapter's): write, then (with a C compiler) compile in a temporary folder and
    compare over ``PUSHES`` values."""
    f = facts.load_folder(ck)
    if f.model == "esrnn":                       # the hybrid's own C (deploy/c99_esrnn.py)
        return export_esrnn_c_folder(f, out, prefix=prefix, int8=int8, origin=str(ck.parent), echo=echo)
    result = export_forecaster_c(f, out, prefix=prefix, int8=int8, origin=str(ck.parent), facts=facts)
    echo(f"wrote {result['header']} and {result['source']} ({result['bytes']:,} bytes, weights "
         f"{result['weight_bytes']:,}): Forecaster, {str(f.cell).upper()} {f.hidden_size} units x {f.num_layers}, "
         f"{len(f.models)} member(s), window {f.window}, season {f.season or 'none'}, horizon {f.horizon}{recursive_note(f)}, "
         f"{'int8' if int8 else 'float32'} weights; {prefix}_push(value), {prefix}_forecast(out)")
    result["max_diff"] = None
    cc = compile_copy(result, lambda tmp, cc: check_forecaster_c(f, tmp, prefix, cc=cc), echo)
    if cc is None:
        return result
    if not math.isfinite(result["max_diff"]):
        raise UserError(f"export check: expected the compiled C and Forecaster.predict to agree, got a difference of "
                        f"{result['max_diff']} (the forecasts are not finite there)")
    echo(f"compiled as C99 with {Path(cc).name} (-Wall -Wextra -pedantic -Werror); C vs Forecaster.predict"
         f"{' (float32 weights)' if int8 else ''} over {PUSHES} pushes: max difference {result['max_diff']:.2e} x "
         f"max(1, |y|); state {result['state_bytes']:,} bytes, {result['seconds_per_forecast'] * 1e6:.1f} µs per "
         f"forecast")
    return result
