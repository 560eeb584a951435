"""A whole ``forecast.Forecaster`` as standalone C99: the forecast-side adapter around ``deploy/c99.py``.

``forecaster_c_sources(f, prefix)`` -> one ``<prefix>.h``/``<prefix>.c`` pair doing what ``Forecaster.predict``
does after each new value of one series, with no allocation and nothing beyond ``<math.h>``::

    #include "model.h"
    model_state s;
    model_reset(&s, start);            /* start: the index in its series of the next value pushed (season phase) */
    model_push(&s, value);             /* 0, or -1 for a value that is not finite or beyond +-1e100 (refused) */
    model_forecast(&s, out);           /* out: MODEL_HORIZON x MODEL_NUM_QUANTILES doubles; -1 before WINDOW values */

The state holds a ring buffer of the last ``window`` values (doubles), the season position of the next value,
the networks' states (one union: the members run one after another) and the scratch of one forecast. A forecast:
the window's level (mean) and scale (standard deviation floored at 1e-3 of the level's size and at 1e-8:
``features.normalise``) in double; each step's input, the normalised value then sin/cos of its season position
(and 1.0 for a model with the short-series mask input: a full window holds only real values), cast to float;
every member's recurrent stack (``deploy/c99.py``'s step of ``model.rnn``, prefixed ``<prefix>_m<k>``, from the
zero state over the window) and its head once on the last state; the median over the members; the base
(seasonal naive or naive, read from the normalised window) added; the scale and level put back; each step's
quantiles sorted ascending (``MODEL_QUANTILES`` holds their levels). ``int8=True`` makes every weight matrix,
the heads included, int8 with a float32 scale per output unit (``models/quantize.py``).

A recursive forecaster (``strategy="recursive"``: a one-step network) loops the horizon as
``Forecaster.quantile_forecast`` does: a scratch window of doubles in the state (``win``, oldest first) copied from
the ring, then for each step ahead ``<prefix>_ahead`` (the above for one step: the window's level and scale, the
season phase one further per step, every member, the median, the base of one step, the units put back, the Q
quantiles sorted into ``out[step * Q ...]``) and the window slid by one, the step's median (its 0.5 quantile)
appended. The header's API and ``MODEL_HORIZON`` (the forecaster's horizon) are the direct strategy's.

Only a fitted forecaster without covariates is exported (one line otherwise: a device cannot know future
covariates). Nothing read from the forecaster reaches the C text but numbers and, through ``deploy/c_text.py``,
its origin (a path) and the note. The forecast side's facts (the base's positions, the largest value accepted, the
hybrid's refusal) come through its export adapter (``deploy.adapters.ForecasterFacts``): deploy imports no
application.
"""

from __future__ import annotations

import math

import numpy

from gatedrnn.backend import to_numpy
from gatedrnn.deploy.adapters import ForecasterFacts, facts_of
from gatedrnn.deploy.c99 import c_array, c_sources, check_folder, check_prefix, write_sources
from gatedrnn.deploy.c99_kernels import TANH
from gatedrnn.deploy.c_text import c_comment, strings_section
from gatedrnn.deploy.forecaster_checks import check_outputs, recursive_note
from gatedrnn.errors import UserError, show
from gatedrnn.models.quantize import quantize_columns


def check_c_forecaster(f) -> None:
    """One line unless ``f`` is a fitted forecaster without covariates whose networks output what its strategy
    needs (direct: ``horizon`` x Q, recursive: Q)."""
    if not getattr(f, "models", None):
        raise UserError("Forecaster C export: expected a fitted forecaster (fit or load first), got none")
    if f.covariates:
        raise UserError(f"Forecaster C export: expected a forecaster without covariates (a device cannot know their "
                        f"future values), got covariates {list(f.covariates)[:5]}")
    if f.strategy not in ("direct", "recursive"):
        raise UserError(f"Forecaster C export: expected the direct or the recursive strategy, got {show(f.strategy)}")
    for name in ("window", "horizon", "hidden_size", "num_layers", "input_size"):   # numbers that become C text
        v = getattr(f, name)
        if not isinstance(v, (int, numpy.integer)) or isinstance(v, bool) or v < 1:
            raise UserError(f"Forecaster C export: expected a positive integer {name}, got {show(v)}")
    if f.season is not None and (not isinstance(f.season, (int, numpy.integer)) or isinstance(f.season, bool)):
        raise UserError(f"Forecaster C export: expected an integer season or none, got {show(f.season)}")
    if not all(0.0 < float(q) < 1.0 for q in f.quantiles):
        raise UserError(f"Forecaster C export: expected quantile levels in (0, 1), got {show(f.quantiles)}")
    check_outputs(f, "Forecaster C export")


def _member(f, k: int, model, prefix: str, int8: bool) -> tuple[str, str, list[str], list[str]]:
    """(header, source, head arrays, forecast lines) of member ``k``: its recurrent stack through ``c_sources``
    (includes stripped: one file pair), its head applied once to the last state into ``s->outs[k]``."""
    mp = check_prefix(f"{prefix}_m{k}")
    header, source = c_sources(model.rnn, prefix=mp, int8=int8, note=f"member {k}: its recurrent stack")
    drop = ("#include <math.h>", f'#include "{mp}.h"')
    source = "\n".join(line for line in source.splitlines() if line not in drop)
    if k > 0:
        source = source.replace(TANH.format(p=mp), "")        # one fast_tanh per file: member 0's
    W = numpy.asarray(to_numpy(model.head.W), dtype=numpy.float64).T         # (hidden, outputs)
    b = numpy.zeros(W.shape[1]) if model.head.b is None else numpy.asarray(to_numpy(model.head.b), numpy.float64)
    H, N_OUT = W.shape
    y = f"s->outs[{k}]"
    if int8:
        q, scale = quantize_columns(W)
        arrays = c_array("signed char", f"{mp}_head_q", q) + c_array("float", f"{mp}_head_s", scale)
        wname, cast = f"{mp}_head_q", "(float)"
    else:
        arrays, wname, cast = c_array("float", f"{mp}_head_w", W), f"{mp}_head_w", ""
    arrays += c_array("float", f"{mp}_head_b", b)
    init = "0.0f" if int8 else f"{mp}_head_b[j]"
    lines = [f"    {mp}_reset(&s->net.m{k});",
             f"    for (t = 0; t < {f.window}; ++t) {{",
             f"        {prefix}_features(s, level, scale, t);",
             f"        (void){mp}_step(&s->net.m{k}, s->x, s->top);", "    }",
             f"    for (j = 0; j < {N_OUT}; ++j) {y}[j] = {init};",
             f"    for (i = 0; i < {H}; ++i) for (j = 0; j < {N_OUT}; ++j) {y}[j] += {cast}{wname}[i * {N_OUT} + j] * s->top[i];"]
    if int8:
        lines.append(f"    for (j = 0; j < {N_OUT}; ++j) {y}[j] = {mp}_head_b[j] + {mp}_head_s[j] * {y}[j];")
    return header, source, arrays, lines


def _value(f, t: str) -> str:
    """The C expression of window value ``t`` (0 the oldest): from the ring (direct) or from the scratch window a
    recursive forecast slides (``s->win``, chronological)."""
    return f"s->win[{t}]" if f.strategy == "recursive" else f"s->ring[(s->next + {t}) % {f.window}]"


def _features(f, prefix: str) -> list[str]:
    """``features.inputs`` of window step ``t`` into ``s->x``."""
    S = f.season or 0
    lines = [f"static void {prefix}_features({prefix}_state *s, double level, double scale, int t)", "{",
             f"    s->x[0] = (float)(({_value(f, 't')} - level) / scale);"]
    n = 1
    if S:
        lines += [f"    {{ const double ph = 2.0 * {math.pi!r} * (double)((s->first + t) % {S}) / {float(S)!r};",
                  "      s->x[1] = (float)sin(ph);", "      s->x[2] = (float)cos(ph); }"]
        n = 3
    if getattr(f, "mask", False):
        lines.append(f"    s->x[{n}] = 1.0f;      /* the mask input: a full window holds only real values */")
    return lines + ["}"]


def _state(f, prefix: str, K: int, H: int) -> list[str]:
    W, Q, N_OUT = f.window, len(f.quantiles), f.output_horizon * len(f.quantiles)
    members = " ".join(f"{prefix}_m{k}_state m{k};" for k in range(K))
    win = [f"    double win[{W}];           /* scratch: the window a recursive forecast slides, oldest first */"]
    return ["typedef struct {",
            f"    double ring[{W}];          /* the last {W} values, the oldest at ring[next] once full */",
            *(win if f.strategy == "recursive" else []),
            "    int next;                /* where the next value goes */",
            "    int count;               /* values pushed since the reset, up to the window */",
            "    int pos;                 /* season position of the next value (0 without a season) */",
            "    int first;               /* scratch: season position of the window's first value */",
            f"    union {{ {members} }} net;  /* the members' states, one at a time */",
            f"    float x[{f.input_size}];               /* scratch: one step's inputs */",
            f"    float top[{H}];            /* scratch: a member's last top hidden state */",
            f"    float outs[{K}][{N_OUT}];      /* scratch: each member's outputs */",
            f"    float med[{K}];            /* scratch: one output over the members */",
            f"    double q[{Q}];             /* scratch: one step's quantiles */",
            f"}} {prefix}_state;"]


def _api(f, facts: ForecasterFacts, prefix: str, K: int) -> tuple[list[str], numpy.ndarray | None, int, int]:
    """Reset, push, sort and the head of the forecast of one window (direct: ``<prefix>_forecast`` itself;
    recursive: ``<prefix>_ahead``, one step from ``s->win``, its season phase ``s->first`` set by the caller)
    -> (lines, the base's window positions, the outputs per member, Q)."""
    p, W, S, Q = prefix, f.window, f.season or 0, len(f.quantiles)
    rec = f.strategy == "recursive"
    N_OUT = f.output_horizon * Q
    idx = facts.base_positions(f)
    idx = idx[:1] if rec and idx is not None else idx        # one step ahead: the base of the first step
    ring = "s->win" if rec else "s->ring"
    lines = [f"void {p}_reset({p}_state *s, long start)", "{", "    int j;",
             f"    for (j = 0; j < {W}; ++j) s->ring[j] = 0.0;", "    s->next = 0;", "    s->count = 0;",
             f"    s->pos = {f'(int)(((start % {S}) + {S}) % {S})' if S else '0'};", "    s->first = 0;",
             "    (void)start;", "}", "",
             f"int {p}_push({p}_state *s, double value)", "{",
             f"    if (!isfinite(value) || fabs(value) > {facts.value_limit!r}) return -1;",
             "    s->ring[s->next] = value;", f"    s->next = (s->next + 1) % {W};",
             f"    if (s->count < {W}) ++s->count;"]
    lines += [f"    s->pos = (s->pos + 1) % {S};"] if S else []
    lines += ["    return 0;", "}", "", f"static void {p}_sort(double *v, int n)", "{", "    int i, j;",
              "    for (i = 1; i < n; ++i) {", "        const double x = v[i];",
              "        for (j = i; j > 0 && v[j - 1] > x; --j) v[j] = v[j - 1];", "        v[j] = x;", "    }", "}", "",
              f"static int {p}_ahead({p}_state *s, double *out)" if rec else f"int {p}_forecast({p}_state *s, double *out)",
              "{", "    double level = 0.0, var = 0.0, scale, lo;", "    int t, i, j, k;"]
    lines += [] if rec else [f"    if (s->count < {W}) return -1;"]
    lines += [f"    for (t = 0; t < {W}; ++t) level += {ring}[t];", f"    level /= {W}.0;",
              f"    for (t = 0; t < {W}; ++t) var += ({ring}[t] - level) * ({ring}[t] - level);",
              f"    scale = sqrt(var / {W}.0);", "    lo = 1e-3 * fabs(level);", "    if (lo < 1e-8) lo = 1e-8;",
              "    if (!(scale >= lo)) scale = lo;"]
    lines += [] if rec else [f"    s->first = {f'(s->pos + {S} - {W % S}) % {S}' if S else '0'};"]
    return lines, idx, N_OUT, Q


def _recursive(f, prefix: str) -> list[str]:
    """A recursive forecaster's ``<prefix>_forecast``: the ring copied into the scratch window, then per step ahead
    ``<prefix>_ahead`` (its Q sorted quantiles into ``out``, the season phase one further each step) and the
    window slid by one, the step's median (the 0.5 quantile) appended (``Forecaster.quantile_forecast``)."""
    p, W, S, Q = prefix, f.window, f.season or 0, len(f.quantiles)
    mid = list(f.quantiles).index(0.5)
    first = f"(s->pos + {S - W % S} + step % {S}) % {S}" if S else "0"
    return ["", f"int {p}_forecast({p}_state *s, double *out)", "{", "    int t, step;",
            f"    if (s->count < {W}) return -1;",
            f"    for (t = 0; t < {W}; ++t) s->win[t] = s->ring[(s->next + t) % {W}];",
            f"    for (step = 0; step < {f.horizon}; ++step) {{",
            f"        s->first = {first};",
            f"        if ({p}_ahead(s, out + step * {Q}) != 0) return -1;",
            f"        for (t = 1; t < {W}; ++t) s->win[t - 1] = s->win[t];",
            f"        s->win[{W - 1}] = out[step * {Q} + {mid}];", "    }", "    return 0;", "}"]


def _median_and_output(f, prefix: str, K: int, N_OUT: int, Q: int, idx) -> list[str]:
    mid = (f"0.5 * ((double)s->med[{K // 2 - 1}] + (double)s->med[{K // 2}])" if K % 2 == 0 else
           f"(double)s->med[{K // 2}]")
    base = (f"({_value(f, f'{prefix}_base_index[j / {Q}]')} - level) / scale" if idx is not None else "0.0")
    lines = [f"    for (j = 0; j < {N_OUT}; ++j) {{", "        double z;",
             f"        for (k = 0; k < {K}; ++k) {{", "            const float v = s->outs[k][j];",
             "            for (i = k; i > 0 && s->med[i - 1] > v; --i) s->med[i] = s->med[i - 1];",
             "            s->med[i] = v;", "        }",
             f"        z = {mid} + {base};", "        out[j] = z * scale + level;", "    }",
             f"    for (t = 0; t < {f.output_horizon}; ++t) {{",
             f"        for (k = 0; k < {Q}; ++k) s->q[k] = out[t * {Q} + k];", f"        {prefix}_sort(s->q, {Q});",
             f"        for (k = 0; k < {Q}; ++k) out[t * {Q} + k] = s->q[k];", "    }",
             f"    for (j = 0; j < {N_OUT}; ++j) if (!isfinite(out[j])) return -1;", "    return 0;", "}"]
    return lines


def forecaster_c_sources(f, *, prefix: str = "model", int8: bool = False, origin: str = "",
                         facts: ForecasterFacts | None = None) -> tuple[str, str]:
    """-> (header text, source text) of the fitted forecaster ``f`` (module docstring); ``facts``: its export
    adapter's (by default the one registered for its class)."""
    check_c_forecaster(f)
    facts = facts or facts_of(f, "Forecaster C export")
    p, P, K = check_prefix(prefix), prefix.upper(), len(f.models)
    parts = [_member(f, k, m, p, int8) for k, m in enumerate(f.models)]
    note = c_comment(f"Forecaster: {str(f.cell).upper()} {f.hidden_size} units x {f.num_layers}, {K} member(s), "
                     f"window {f.window}, season {f.season or 'none'}, horizon {f.horizon}{recursive_note(f)}, "
                     f"{'int8' if int8 else 'float32'} weights")
    strings_h, strings_c = strings_section(p, None, origin)
    api, idx, N_OUT, Q = _api(f, facts, p, K)
    header = [f"/* {note}.", f" * {p}_reset(&s, start); {p}_push(&s, value) for each new value; {p}_forecast(&s, out)",
              f" * writes {P}_HORIZON x {P}_NUM_QUANTILES doubles (row per step ahead, quantiles ascending). C99,",
              " * no allocation, needs <math.h> (link with -lm). Generated by gatedrnn: do not edit. */",
              f"#ifndef {P}_H", f"#define {P}_H", ""] + [h for h, _, _, _ in parts] + [
              f"#define {P}_WINDOW {f.window}", f"#define {P}_HORIZON {f.horizon}", f"#define {P}_NUM_QUANTILES {Q}",
              f"#define {P}_SEASON {f.season or 0}", f"#define {P}_NUM_MODELS {K}", f"#define {P}_OUTPUT_SIZE {f.horizon * Q}", ""]
    header += _state(f, p, K, f.hidden_size) + ["", f"extern const double {p}_quantiles[{Q}];",
                                                 f"void {p}_reset({p}_state *s, long start);",
                                                 f"int {p}_push({p}_state *s, double value);",
                                                 f"int {p}_forecast({p}_state *s, double *out);", ""]
    header += strings_h + ["", f"#endif /* {P}_H */", ""]
    source = [f"/* {note}. Generated by gatedrnn: do not edit. */", "#include <math.h>", "", f'#include "{p}.h"', ""]
    source += strings_c + [""] + [c for _, c, _, _ in parts] + [a for _, _, arr, _ in parts for a in arr]
    source += [f"const double {p}_quantiles[{Q}] = {{{', '.join(repr(float(q)) for q in f.quantiles)}}};"]
    source += c_array("int", f"{p}_base_index", idx) if idx is not None else []
    source += [""] + _features(f, p) + [""] + api
    source += [line for _, _, _, lines in parts for line in lines] + _median_and_output(f, p, K, N_OUT, Q, idx)
    source += (_recursive(f, p) if f.strategy == "recursive" else []) + [""]
    return "\n".join(header), "\n".join(source)


def export_forecaster_c(f, folder, *, prefix: str = "model", int8: bool = False, origin: str = "",
                        facts: ForecasterFacts | None = None) -> dict:
    """Write ``<prefix>.h`` and ``<prefix>.c`` into ``folder`` (both made first, each through a temporary name):
    ``{"header", "source"}`` paths, ``"bytes"`` (both files) and ``"weight_bytes"`` (its constant arrays)."""
    facts = facts or facts_of(f, "Forecaster C export")
    facts.refuse_export(f, "export_forecaster_c", "its C is deploy/c99_esrnn.py")
    out = check_folder(folder)
    header, source = forecaster_c_sources(f, prefix=prefix, int8=int8, origin=origin, facts=facts)
    return write_sources(out, prefix, header, source)
