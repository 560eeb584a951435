"""``gatedrnn export FOLDER --c DIR`` of a ``Forecaster(model="esrnn")``: the hybrid as standalone C99, one value per
call, nothing beyond <math.h>, no allocation, every member of the forecaster in one file pair.

    PREFIX_state s;
    PREFIX_init(&s, series);          /* series i of the forecaster (0 .. PREFIX_N_SERIES - 1), before its first value */
    PREFIX_push(&s, value);           /* its values in order: the fitted ones, then the new ones */
    PREFIX_forecast(&s, out);         /* PREFIX_HORIZON x PREFIX_QUANTILES doubles, each step's quantiles ascending */

The state holds the step count and, per member (``PREFIX_MEMBERS``: ``n_models`` seeds x ``snapshots``, the
``PREFIX_member`` records of ``s.m``), what ``models/esrnn_step.StepState`` holds for one series: the level, the
seasonal rings (``PREFIX_SEASON``, ``PREFIX_SEASON2``), the last window of de-seasonalised values, every dilated
layer's phase states (h, and c for a cell with a memory) and the network's last output. Each member has its own
per-series constants (alpha, gamma (gamma2) and the initial seasonal indices) and network weights; the code, the
additive form's scales and the quantile levels are shared (``deploy/c99_esrnn_members.py``, which also takes the
members' median in ``PREFIX_forecast``, as ``predict`` does). The network's weights are float32, its arithmetic the
cell's own C step (``deploy/cells``); the smoothing runs in double. ``push`` refuses a value that is not finite
(or not positive in the multiplicative form) with -1, the state untouched.

The export checks itself when a C compiler is found: it is compiled with -Werror, series 0 is pushed its fitted
span and then 1,000 more values, and every forecast is compared with the members' own steps (``StepState``, which
equal ``predict``) and their median: the largest difference over max(1, |y|) must stay below 1e-5.
"""

from __future__ import annotations

import ctypes
import math
from pathlib import Path

import numpy

from gatedrnn.backend import to_numpy
from gatedrnn.deploy.c99 import c_array, check_folder, check_prefix, write_sources
from gatedrnn.deploy.c99_esrnn_members import MembersReference, continuation, forecast_lines, member_arrays, weights_table
from gatedrnn.deploy.c99_kernels import KERNELS, TANH
from gatedrnn.deploy.c99_run import compile_c, compile_copy
from gatedrnn.deploy.c_text import c_comment, strings_section
from gatedrnn.deploy.cells import c_step
from gatedrnn.errors import UserError

PUSHES = 1000


def _spec(f, prefix: str):
    check_prefix(prefix)
    if not getattr(f, "models", None):
        raise UserError("export --c: expected a fitted Forecaster(model='esrnn') (fit or load first), got none")
    model = f.models[0]
    layers = [layer for block in model.blocks for layer in block]
    cls = layers[0].stack.layer_class
    code = c_step(cls)
    if not code:
        raise UserError(f"export --c: expected a cell with a C step, got {cls.name}")
    return model, layers, code


def _gates(layer) -> int:
    return int(to_numpy(layer.stack.layers[0].step_weights()).shape[1])


def _network(model, layers, p: str) -> list:
    """``<p>_network``: one step of member ``w``'s network at window position ``pos``, into ``m->out``."""
    H, k = model.config["hidden_size"], 0
    Ll = "log(m->level)" if model.mult else f"m->level / {p}_scale[s->series]"
    lines = [f"static void {p}_network({p}_state *s, {p}_member *m, const {p}_weights *w, long pos)", "{",
             f"    const double Ll = {Ll};", "    int j;",
             f"    for (j = 0; j < {model.window}; ++j) s->x[j] = (float)(m->D[(pos + j) % {model.window}] - Ll);"]
    src = "s->x"
    for b, block in enumerate(model.blocks):
        if b > 0:
            lines.append(f"    for (j = 0; j < {H}; ++j) s->res[j] = {src}[j];")
        for layer in block:
            N, d = _gates(layer), layer.dilation
            h, c = f"(m->h{k} + (pos % {d}) * {H})", f"(m->c{k} + (pos % {d}) * {H})"
            lines += [f"    for (j = 0; j < {N}; ++j) s->g[j] = w->b{k}[j];",
                      f"    {p}_axpy(s->g, w->wx{k}, {src}, {layer.input_size}, {N});",
                      f"    {p}_axpy(s->g, w->wh{k}, {h}, {H}, {N});",
                      f"    {p}_cell(s->g, {h}, {c if layer.stack.layer_class.has_cell else '0'});",
                      f"    for (j = 0; j < {H}; ++j) s->z[j] = {h}[j];"]
            src, k = "s->z", k + 1
        if b > 0:
            lines.append(f"    for (j = 0; j < {H}; ++j) s->z[j] += s->res[j];")
    HQ = model.horizon * len(model.quantiles)
    return lines + [f"    for (j = 0; j < {H}; ++j) s->a[j] = w->hid_b[j];", f"    {p}_axpy(s->a, w->hid_w, s->z, {H}, {H});",
                    f"    for (j = 0; j < {H}; ++j) s->a[j] = (float)tanh((double)s->a[j]);",
                    f"    for (j = 0; j < {HQ}; ++j) s->y[j] = w->head_b[j];", f"    {p}_axpy(s->y, w->head_w, s->a, {H}, {HQ});",
                    f"    for (j = 0; j < {HQ}; ++j) m->out[j] = (double)s->y[j];", "    m->last = Ll;", "}"]


def _header(model, layers, p: str, K: int, strings_h: list, note: str) -> str:
    P, H, HQ = p.upper(), model.config["hidden_size"], model.horizon * len(model.quantiles)
    N = max(_gates(layer) for layer in layers)
    member = ["/* one member's state of one series */", "typedef struct {",
              f"    double s[{model.season or 1}], S[{model.season2 or 1}], D[{model.window}];"]
    member += [f"    float h{k}[{layer.dilation * H}], c{k}[{layer.dilation * H}];" for k, layer in enumerate(layers)]
    member += [f"    double out[{HQ}], level, last;", f"}} {p}_member;", ""]
    state = ["typedef struct {", "    long t;", "    int series;", f"    {p}_member m[{P}_MEMBERS];",
             f"    float x[{model.window}], g[{N}], z[{H}], res[{H}], a[{H}], y[{HQ}];", f"}} {p}_state;", ""]
    return "\n".join([f"/* {note}. Generated by gatedrnn: do not edit. */", f"#ifndef {P}_H", f"#define {P}_H", "",
                      f"#define {P}_N_SERIES {model.n_series}", f"#define {P}_HORIZON {model.horizon}",
                      f"#define {P}_QUANTILES {len(model.quantiles)}", f"#define {P}_WINDOW {model.window}",
                      f"#define {P}_SEASON {model.season or 1}", f"#define {P}_SEASON2 {model.season2 or 1}",
                      f"#define {P}_MEMBERS {K}", ""] + member + state +
                     strings_h + ["/* the quantile levels of each step's outputs, ascending */",
                                  f"extern const double {p}_levels[{P}_QUANTILES];",
                                  f"int {p}_init({p}_state *s, int series);", f"int {p}_push({p}_state *s, double y);",
                                  f"int {p}_forecast(const {p}_state *s, double *out);",
                                  f"int {p}_state_bytes(void);", "", "#endif", ""])


def _smooth_lines(model, p: str) -> list:
    """``<p>_smooth``: the Holt-Winters update of one member by the value ``y`` at step ``t`` of series ``i``."""
    mult = model.mult
    strip = (lambda y, a, b: f"{y} / ({a} * {b})") if mult else (lambda y, a, b: f"{y} - {a} - {b}")
    F = (lambda v: f"log({v})") if mult else (lambda v: f"{v} / {p}_scale[i]")
    lines = [f"static void {p}_smooth({p}_member *m, const {p}_weights *w, long t, int i, double y)", "{",
             f"    const int js = (int)(t % {model.season or 1}), jS = (int)(t % {model.season2 or 1});",
             "    const double st = m->s[js], St = m->S[jS];", f"    const double v = {strip('y', 'st', 'St')};",
             "    const double lev = t == 0 ? v : w->alpha[i] * v + (1.0 - w->alpha[i]) * m->level;",
             f"    double D = {F('y')} - {F('st')};",
             f"    m->s[js] = w->gamma[i] * ({strip('y', 'lev', 'St')}) + (1.0 - w->gamma[i]) * st;"]
    if model.season2:
        lines += [f"    m->S[jS] = w->gamma2[i] * ({strip('y', 'lev', 'st')}) + (1.0 - w->gamma2[i]) * St;",
                  f"    D = D - {F('St')};"]
    return lines + ["    m->level = lev;", f"    m->D[t % {model.window}] = D;", "}"]


def _api(model, p: str, K: int) -> list:
    """``<p>_init`` and ``<p>_push`` (every member by the value, then the step count)."""
    neutral = "1.0" if model.mult else "0.0"
    return [f"int {p}_init({p}_state *s, int series)", "{", "    int j, k;",
            f"    if (series < 0 || series >= {model.n_series}) return -1;",
            "    memset_zero((unsigned char *)s, sizeof *s);", "    s->series = series;",
            f"    for (k = 0; k < {K}; ++k) {{", f"        const {p}_weights *w = &{p}_members[k];",
            f"        for (j = 0; j < {model.season or 1}; ++j) s->m[k].s[j] = "
            f"{f'w->s0[(long)series * {model.season} + j]' if model.season else neutral};",
            f"        for (j = 0; j < {model.season2 or 1}; ++j) s->m[k].S[j] = "
            f"{f'w->S0[(long)series * {model.season2} + j]' if model.season2 else neutral};",
            "        (void)w;", "    }", "    return 0;", "}", "",
            f"int {p}_push({p}_state *s, double y)", "{", "    int k;",
            "    if (!isfinite(y)" + (" || y <= 0.0" if model.mult else "") + ") return -1;",
            f"    for (k = 0; k < {K}; ++k) {{", f"        {p}_smooth(&s->m[k], &{p}_members[k], s->t, s->series, y);",
            f"        if (s->t + 1 >= {model.window}) {p}_network(s, &s->m[k], &{p}_members[k], s->t + 1 - {model.window});",
            "    }", "    s->t += 1;", "    return 0;", "}"]


def esrnn_c_sources(f, *, prefix: str = "model", origin: str = "") -> tuple[str, str]:
    """-> (header, source) of the fitted ``Forecaster(model="esrnn")`` ``f`` (module docstring)."""
    model, layers, code = _spec(f, prefix)
    p, H, K = prefix, model.config["hidden_size"], len(f.models)
    note = c_comment(f"ES-RNN forecaster, {str(layers[0].stack.name).upper()} {H} units, dilations "
                     f"{[list(b) for b in f.dilations]}, season {model.season or 'none'}, horizon {model.horizon}, "
                     f"{K} member(s)")
    strings_h, strings_c = strings_section(p, None, origin)
    levels = c_array("double", f"{p}_levels", list(model.levels))
    levels[0] = levels[0].replace("static const", "const")       # declared in the header
    arrays = [] if model.mult else c_array("double", f"{p}_scale", model.scales)
    fields: list = []
    for k, member in enumerate(f.models):
        lines, fields = member_arrays(member, [la for block in member.blocks for la in block], f"{p}_m{k}")
        arrays += lines
    typedef, table = weights_table(p, fields, K)
    cell = [f"static void {p}_cell(float *g, float *h, float *c)", "{", f"    const int H = {H};", "    int j;",
            "    (void)H;", "    (void)c;", "    for (j = 0; j < H; ++j) {"] + \
        ["        " + line for line in code.strip().splitlines()] + ["    }", "}"]
    zero = ["static void memset_zero(unsigned char *b, unsigned long n)", "{", "    unsigned long k;",
            "    for (k = 0; k < n; ++k) b[k] = 0;", "}"]
    kernels = [KERNELS.format(p=p)] + ([TANH.format(p=p)] if "fast_tanh(" in code else [])
    source = [f"/* {note}. Generated by gatedrnn: do not edit. */", "#include <math.h>", "", f'#include "{p}.h"', ""] + \
        strings_c + [""] + typedef + [""] + arrays + levels + table + [""] + kernels + cell + [""] + zero + [""] + \
        _smooth_lines(model, p) + [""] + _network(model, layers, p) + [""] + _api(model, p, K) + [""] + \
        forecast_lines(model, p, K) + ["", f"int {p}_state_bytes(void) {{ return (int)sizeof({p}_state); }}", ""]
    return _header(model, layers, p, K, strings_h, note), "\n".join(source)


def export_esrnn_c(f, folder, *, prefix: str = "model", origin: str = "") -> dict:
    out = check_folder(folder)
    header, source = esrnn_c_sources(f, prefix=prefix, origin=origin)
    return write_sources(out, prefix, header, source)


def check_esrnn_c(f, folder, prefix: str, cc=None, pushes: int = PUSHES) -> dict:
    """Compile the export in ``folder`` and run series 0 through it and through every member's ``StepState``: the
    largest difference of the forecasts from the members' median over max(1, |y|) after each of the last
    ``pushes`` values."""
    folder = Path(folder)
    lib = ctypes.CDLL(str(compile_c([folder / f"{prefix}.c"], folder / f"lib{prefix}.so", cc=cc)))
    state = ctypes.create_string_buffer(getattr(lib, f"{prefix}_state_bytes")())
    if getattr(lib, f"{prefix}_init")(state, 0) != 0:
        raise RuntimeError("the C export refused series 0")
    push, forecast = getattr(lib, f"{prefix}_push"), getattr(lib, f"{prefix}_forecast")
    push.argtypes = [ctypes.c_void_p, ctypes.c_double]
    ref = MembersReference(f, 0)
    for v in ref.span:
        push(state, float(v))
    out = numpy.empty(f.horizon * len(f.quantiles))
    worst, refused = 0.0, 0
    for v in continuation(ref.span, pushes):
        refused += push(state, float(v)) != 0
        forecast(state, out.ctypes.data_as(ctypes.c_void_p))
        want = ref.push(v).reshape(-1)
        worst = max(worst, float(numpy.max(numpy.abs(out - want) / numpy.maximum(1.0, numpy.abs(want)))))
    if refused or not math.isfinite(worst):
        raise UserError(f"export check: expected the compiled C to accept every value and agree with the "
                        f"forecaster, got {refused} refusals and a difference of {worst}")
    return {"max_diff": worst, "state_bytes": int(getattr(lib, f"{prefix}_state_bytes")())}


def export_esrnn_c_folder(f, out: Path, *, prefix: str = "model", int8: bool = False, origin: str = "",
                          echo=print) -> dict:
    """Write, then (with a C compiler) compile in a temporary folder and compare over ``PUSHES`` values."""
    if int8:
        raise UserError("--int8: expected it without a Forecaster(model='esrnn') (its C export is float32), got both")
    result = export_esrnn_c(f, out, prefix=prefix, origin=origin)
    echo(f"wrote {result['header']} and {result['source']} ({result['bytes']:,} bytes): ES-RNN forecaster of "
         f"{len(f.panel.ids)} series, {len(f.models)} member(s) and their median; {prefix}_init(state, series), "
         f"{prefix}_push(state, value), {prefix}_forecast(state, out)")
    result["max_diff"] = None
    cc = compile_copy(result, lambda tmp, cc: check_esrnn_c(f, tmp, prefix, cc=cc), echo)
    if cc is not None:
        echo(f"compiled as C99 with {Path(cc).name} (-Wall -Wextra -pedantic -Werror); C vs the forecaster over "
             f"{PUSHES} pushes after series 0's span: max difference {result['max_diff']:.2e} x max(1, |y|); state "
             f"{result['state_bytes']:,} bytes")
    return result
