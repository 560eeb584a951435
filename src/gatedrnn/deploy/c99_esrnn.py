"""``gatedrnn export FOLDER --c DIR`` of a ``Forecaster(model="esrnn")``: the hybrid as standalone C99, one value per
call, nothing beyond <math.h>, no allocation.

    PREFIX_state s;
    PREFIX_init(&s, series);          /* series i of the forecaster (0 .. PREFIX_N_SERIES - 1), before its first value */
    PREFIX_push(&s, value);           /* its values in order: the fitted ones (PREFIX_span_of), then the new ones */
    PREFIX_forecast(&s, out);         /* PREFIX_HORIZON x PREFIX_QUANTILES doubles, each step's quantiles ascending */

The state holds what ``models/esrnn_step.StepState`` holds for one series: the step count, the level, the seasonal
rings (``PREFIX_SEASON``, ``PREFIX_SEASON2``), the last window of de-seasonalised values, every dilated layer's
phase states (h, and c for a cell with a memory) and the network's last output. The per-series constants are
alpha, gamma (gamma2) and the initial seasonal indices (and the additive form's scale); the network's weights are
float32, its arithmetic the cell's own C step (``deploy/cells``); the smoothing runs in double. ``push`` refuses a
value that is not finite (or not positive in the multiplicative form) with -1, the state untouched.

The export checks itself when a C compiler is found: it is compiled with -Werror, series 0 is pushed its fitted
span and then 1,000 more values, and every forecast is compared with the forecaster's own step
(``StepState``, which equals ``predict``): the largest difference over max(1, |y|) must stay below 1e-5. A
forecaster of more than one member (``n_models``, ``snapshots``) is refused in one line.
"""

from __future__ import annotations

import ctypes
import math
from pathlib import Path

import numpy

from gatedrnn.backend import sigmoid, to_numpy
from gatedrnn.deploy.c99 import c_array, check_folder, check_prefix, write_sources
from gatedrnn.deploy.c99_kernels import KERNELS, TANH
from gatedrnn.deploy.c99_run import compile_c, compile_copy
from gatedrnn.deploy.c_text import c_comment, strings_section
from gatedrnn.deploy.cells import c_step
from gatedrnn.errors import UserError
from gatedrnn.models.esrnn_step import StepState, replay

PUSHES = 1000


def _spec(f, prefix: str):
    check_prefix(prefix)
    if len(f.models) != 1:
        raise UserError(f"export --c: expected a Forecaster(model='esrnn') of one member, got {len(f.models)} "
                        f"(n_models x snapshots; the C export holds one network)")
    model = f.models[0]
    layers = [layer for block in model.blocks for layer in block]
    cls = layers[0].stack.layer_class
    code = c_step(cls)
    if not code:
        raise UserError(f"export --c: expected a cell with a C step, got {cls.name}")
    return model, layers, code


def _constants(f, model, p: str) -> list:
    es = model.es
    out = c_array("double", f"{p}_alpha", to_numpy(sigmoid(es.alpha_raw)))
    out += c_array("double", f"{p}_gamma", to_numpy(sigmoid(es.gamma_raw)) if model.season else [0.0] * model.n_series)
    if model.season:
        out += c_array("double", f"{p}_s0", to_numpy(es._initial(es.init_raw)))
    if model.season2:
        out += c_array("double", f"{p}_gamma2", to_numpy(sigmoid(es.gamma2_raw)))
        out += c_array("double", f"{p}_S0", to_numpy(es._initial(es.init2_raw)))
    if not model.mult:
        out += c_array("double", f"{p}_scale", model.scales)
    return out


def _network(model, layers, p: str, out: list) -> list:
    """The arrays of every layer, the hidden tanh layer and the head; -> the step's lines."""
    H, lines, k = model.config["hidden_size"], [], 0
    lines.append(f"    for (j = 0; j < {model.window}; ++j) s->x[j] = (float)(s->D[(p + j) % {model.window}] - Ll);")
    src = "s->x"
    for b, block in enumerate(model.blocks):
        if b > 0:
            lines.append(f"    for (j = 0; j < {H}; ++j) s->res[j] = {src}[j];")
        for layer in block:
            W = numpy.asarray(to_numpy(layer.stack.layers[0].step_weights()), dtype=numpy.float64)
            D, N, d = layer.input_size, W.shape[1], layer.dilation
            out += c_array("float", f"{p}_b{k}", W[D + H]) + c_array("float", f"{p}_wx{k}", W[:D])
            out += c_array("float", f"{p}_wh{k}", W[D:D + H])
            h, c = f"(s->h{k} + (long)(p % {d}) * {H})", f"(s->c{k} + (long)(p % {d}) * {H})"
            lines += [f"    for (j = 0; j < {N}; ++j) s->g[j] = {p}_b{k}[j];",
                      f"    {p}_axpy(s->g, {p}_wx{k}, {src}, {D}, {N});",
                      f"    {p}_axpy(s->g, {p}_wh{k}, {h}, {H}, {N});",
                      f"    {p}_cell(s->g, {h}, {c if layer.stack.layer_class.has_cell else '0'});",
                      f"    for (j = 0; j < {H}; ++j) s->z[j] = {h}[j];"]
            src, k = "s->z", k + 1
        if b > 0:
            lines.append(f"    for (j = 0; j < {H}; ++j) s->z[j] += s->res[j];")
    HQ = model.horizon * len(model.quantiles)
    for name, lin in (("hid", model.hidden), ("head", model.head)):
        out += c_array("float", f"{p}_{name}_w", to_numpy(lin.W).T) + c_array("float", f"{p}_{name}_b", to_numpy(lin.b))
    lines += [f"    for (j = 0; j < {H}; ++j) s->a[j] = {p}_hid_b[j];", f"    {p}_axpy(s->a, {p}_hid_w, s->z, {H}, {H});",
              f"    for (j = 0; j < {H}; ++j) s->a[j] = (float)tanh((double)s->a[j]);",
              f"    for (j = 0; j < {HQ}; ++j) s->y[j] = {p}_head_b[j];", f"    {p}_axpy(s->y, {p}_head_w, s->a, {H}, {HQ});",
              f"    for (j = 0; j < {HQ}; ++j) s->out[j] = (double)s->y[j];", "    s->last = Ll;"]
    return lines


def _header(f, model, layers, p: str, strings_h: list, note: str) -> str:
    P, H = p.upper(), model.config["hidden_size"]
    N = max(len(to_numpy(layer.stack.layers[0].step_weights())[0]) for layer in layers)
    fields = [f"    double s[{model.season or 1}], S[{model.season2 or 1}], D[{model.window}];"]
    for k, layer in enumerate(layers):
        fields.append(f"    float h{k}[{layer.dilation * H}], c{k}[{layer.dilation * H}];")
    fields += [f"    float x[{model.window}], g[{N}], z[{H}], res[{H}], a[{H}], y[{model.horizon * len(model.quantiles)}];",
               f"    double out[{model.horizon * len(model.quantiles)}], level, last;"]
    return "\n".join([f"/* {note}. Generated by gatedrnn: do not edit. */", f"#ifndef {P}_H", f"#define {P}_H", "",
                      f"#define {P}_N_SERIES {model.n_series}", f"#define {P}_HORIZON {model.horizon}",
                      f"#define {P}_QUANTILES {len(model.quantiles)}", f"#define {P}_WINDOW {model.window}",
                      f"#define {P}_SEASON {model.season or 1}", f"#define {P}_SEASON2 {model.season2 or 1}", "",
                      "typedef struct {", "    long t;", "    int series;"] + fields + [f"}} {p}_state;", ""] +
                     strings_h + ["/* the quantile levels of each step's outputs, ascending */",
                                  f"extern const double {p}_levels[{P}_QUANTILES];",
                                  f"int {p}_init({p}_state *s, int series);", f"int {p}_push({p}_state *s, double y);",
                                  f"int {p}_forecast(const {p}_state *s, double *out);",
                                  f"int {p}_state_bytes(void);", "", "#endif", ""])


def _es_lines(model, p: str) -> list:
    mult = model.mult
    strip = (lambda y, a, b: f"{y} / ({a} * {b})") if mult else (lambda y, a, b: f"{y} - {a} - {b}")
    F = (lambda v: f"log({v})") if mult else (lambda v: f"{v} / {p}_scale[i]")
    two = model.season2 is not None
    lines = [f"int {p}_push({p}_state *s, double y)", "{", f"    const int i = s->series, js = (int)(s->t % {model.season or 1}),"
             f" jS = (int)(s->t % {model.season2 or 1});", "    double st, St, w, lev, D, Ll;", "    long p;", "    int j;",
             "    if (!isfinite(y)" + (" || y <= 0.0" if mult else "") + ") return -1;",
             "    st = s->s[js]; St = s->S[jS];", f"    w = {strip('y', 'st', 'St')};",
             f"    lev = s->t == 0 ? w : {p}_alpha[i] * w + (1.0 - {p}_alpha[i]) * s->level;",
             f"    s->s[js] = {p}_gamma[i] * ({strip('y', 'lev', 'St')}) + (1.0 - {p}_gamma[i]) * st;",
             f"    D = {F('y')} - {F('st')};"]
    if two:
        lines += [f"    s->S[jS] = {p}_gamma2[i] * ({strip('y', 'lev', 'st')}) + (1.0 - {p}_gamma2[i]) * St;",
                  f"    D = D - {F('St')};"]
    lines += ["    s->level = lev;", f"    s->D[s->t % {model.window}] = D;", "    s->t += 1;",
              f"    if (s->t < {model.window}) return 0;", f"    p = s->t - {model.window};", f"    Ll = {F('lev')};"]
    return lines


def _forecast_lines(model, p: str) -> list:
    mult, Q, H = model.mult, len(model.quantiles), model.horizon
    F = (lambda v: f"log({v})") if mult else (lambda v: f"{v} / {p}_scale[s->series]")
    fut = f"{F(f's->s[(s->t + k) % {model.season or 1}]')}"
    if model.season2:
        fut += f" + {F(f's->S[(s->t + k) % {model.season2}]')}"
    inv = "exp(u)" if mult else f"u * {p}_scale[s->series]"
    return [f"int {p}_forecast(const {p}_state *s, double *out)", "{", "    int k, q, r;",
            f"    if (s->t < {model.window}) return -1;", f"    for (k = 0; k < {H}; ++k) {{",
            f"        const double fut = {fut};", f"        double *o = out + (long)k * {Q};",
            f"        for (q = 0; q < {Q}; ++q) {{", f"            const double u = s->out[k * {Q} + q] + s->last + fut;",
            f"            const double v = {inv};", "            for (r = q; r > 0 && o[r - 1] > v; --r) o[r] = o[r - 1];",
            "            o[r] = v;", "        }", "    }", "    return 0;", "}"]


def esrnn_c_sources(f, *, prefix: str = "model", origin: str = "") -> tuple[str, str]:
    """-> (header, source) of the fitted ``Forecaster(model="esrnn")`` ``f`` (module docstring)."""
    model, layers, code = _spec(f, prefix)
    p, H = prefix, model.config["hidden_size"]
    note = c_comment(f"ES-RNN forecaster, {str(layers[0].stack.name).upper()} {H} units, dilations "
                     f"{[list(b) for b in f.dilations]}, season {model.season or 'none'}, horizon {model.horizon}")
    strings_h, strings_c = strings_section(p, None, origin)
    levels = c_array("double", f"{p}_levels", list(model.levels))
    levels[0] = levels[0].replace("static const", "const")       # declared in the header
    arrays = _constants(f, model, p) + levels
    net = _network(model, layers, p, arrays)
    cell = [f"static void {p}_cell(float *g, float *h, float *c)", "{", f"    const int H = {H};", "    int j;",
            "    (void)H;", "    (void)c;", "    for (j = 0; j < H; ++j) {"] + \
        ["        " + line for line in code.strip().splitlines()] + ["    }", "}"]
    neutral = "1.0" if model.mult else "0.0"
    s0 = f"{p}_s0[(long)series * {model.season} + j]" if model.season else neutral
    S0 = f"{p}_S0[(long)series * {model.season2} + j]" if model.season2 else neutral
    init = [f"int {p}_init({p}_state *s, int series)", "{", "    int j;",
            f"    if (series < 0 || series >= {model.n_series}) return -1;",
            "    memset_zero((unsigned char *)s, sizeof *s);", "    s->series = series;",
            f"    for (j = 0; j < {model.season or 1}; ++j) s->s[j] = {s0};",
            f"    for (j = 0; j < {model.season2 or 1}; ++j) s->S[j] = {S0};", "    return 0;", "}"]
    zero = ["static void memset_zero(unsigned char *b, unsigned long n)", "{", "    unsigned long k;",
            "    for (k = 0; k < n; ++k) b[k] = 0;", "}"]
    push = _es_lines(model, p) + net + ["    return 0;", "}"]
    kernels = [KERNELS.format(p=p)] + ([TANH.format(p=p)] if "fast_tanh(" in code else [])
    source = [f"/* {note}. Generated by gatedrnn: do not edit. */", "#include <math.h>", "", f'#include "{p}.h"', ""] + \
        strings_c + [""] + arrays + [""] + kernels + cell + [""] + zero + [""] + init + [""] + push + [""] + \
        _forecast_lines(model, p) + ["", f"int {p}_state_bytes(void) {{ return (int)sizeof({p}_state); }}", ""]
    return _header(f, model, layers, p, strings_h, note), "\n".join(source)


def export_esrnn_c(f, folder, *, prefix: str = "model", origin: str = "") -> dict:
    out = check_folder(folder)
    header, source = esrnn_c_sources(f, prefix=prefix, origin=origin)
    return write_sources(out, prefix, header, source)


def continuation(values, n: int, seed: int = 0):
    """``n`` positive values continuing ``values``: its last season-long stretches repeated, with 2 % noise."""
    rng = numpy.random.default_rng(seed)
    base = numpy.resize(values[-max(len(values) // 2, 1):], n)
    return base * numpy.exp(rng.normal(size=n) * 0.02)


def check_esrnn_c(f, folder, prefix: str, cc=None, pushes: int = PUSHES) -> dict:
    """Compile the export in ``folder`` and run series 0 through it and through ``StepState``: the largest
    difference of the forecasts over max(1, |y|) after each of the last ``pushes`` values."""
    folder = Path(folder)
    lib = ctypes.CDLL(str(compile_c([folder / f"{prefix}.c"], folder / f"lib{prefix}.so", cc=cc)))
    state = ctypes.create_string_buffer(getattr(lib, f"{prefix}_state_bytes")())
    if getattr(lib, f"{prefix}_init")(state, 0) != 0:
        raise RuntimeError("the C export refused series 0")
    push, forecast = getattr(lib, f"{prefix}_push"), getattr(lib, f"{prefix}_forecast")
    push.argtypes = [ctypes.c_void_p, ctypes.c_double]
    ref = StepState(f.models[0], f.models[0].scales)
    span = f.panel.values[0]
    replay(ref, [span])
    for v in span:
        push(state, float(v))
    H, Q = f.horizon, len(f.quantiles)
    out = numpy.empty(H * Q)
    worst, refused = 0.0, 0
    for v in continuation(span, pushes):
        refused += push(state, float(v)) != 0
        ref.push([0], [float(v)])
        forecast(state, out.ctypes.data_as(ctypes.c_void_p))
        want = ref.forecast([0])[0].reshape(-1)
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
         f"{len(f.panel.ids)} series; {prefix}_init(state, series), {prefix}_push(state, value), "
         f"{prefix}_forecast(state, out)")
    result["max_diff"] = None
    cc = compile_copy(result, lambda tmp, cc: check_esrnn_c(f, tmp, prefix, cc=cc), echo)
    if cc is not None:
        echo(f"compiled as C99 with {Path(cc).name} (-Wall -Wextra -pedantic -Werror); C vs the forecaster over "
             f"{PUSHES} pushes after series 0's span: max difference {result['max_diff']:.2e} x max(1, |y|); state "
             f"{result['state_bytes']:,} bytes")
    return result
