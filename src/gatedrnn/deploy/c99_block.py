"""A ``BlockLM`` (min-cell residual blocks, ``--arch block``) as standalone C99: ``block_sources(model)`` gives
``<prefix>.h`` and ``<prefix>.c`` with the ``BlockStream`` step written out, the same conventions as
``deploy/c99.py`` (no allocation, no global state, ``<math.h>`` only; ``-lm``)::

    #include "model.h"
    model_state s;                        /* every block's hidden vector and conv buffer, and the step's scratch */
    model_reset(&s);
    if (model_step(&s, token, y) != 0)    /* a token id in [0, MODEL_VOCAB_SIZE) in, MODEL_OUTPUT_SIZE logits out */

Per block: the norm (LayerNorm, or RMSNorm without centring), one step of the causal depthwise conv (its last k-1
inputs shift along a buffer, oldest first), the min cell's pre-activation ``b + W c`` over its fused step matrix
(``layer.step_weights()``: its recurrent rows are zero, no gate of a min cell reads h) and its C step
(``deploy/cells/``), the projection and the residual, then the feed-forward part (norm, fc1, GELU in its tanh
form or SiLU, fc2, residual); then the last norm and the output layer. The state is ``L (E d + (k-1) d)`` floats, as ``BlockStream``'s.
Matrices are stored (inputs, outputs) and applied by ``deploy/c99_kernels.py``'s axpy; tanh is ``fast_tanh``.
Labels never occur; the checkpoint's path and the note reach the text only through ``deploy/c_text.py``.
"""

from __future__ import annotations

import numpy

from gatedrnn.backend import to_numpy
from gatedrnn.deploy.c99 import _blocks, _num, c_array, check_prefix
from gatedrnn.deploy.c99_kernels import KERNELS, TANH
from gatedrnn.deploy.c_text import c_comment, strings_section
from gatedrnn.deploy.cells import c_step
from gatedrnn.errors import UserError

NORM = """\
static void {p}_norm(const float *x, const float *w, const float *b, float eps, float *out, int n)
{{    /* LayerNorm (b given: centred, then the bias) or RMSNorm (b null) of x into out */
    float mu = 0.0f, ms = 0.0f;
    int j;
    if (b) {{
        for (j = 0; j < n; ++j) mu += x[j];
        mu /= (float)n;
    }}
    for (j = 0; j < n; ++j) {{
        out[j] = x[j] - mu;
        ms += out[j] * out[j];
    }}
    ms = 1.0f / sqrtf(ms / (float)n + eps);
    for (j = 0; j < n; ++j) out[j] = out[j] * ms * w[j] + (b ? b[j] : 0.0f);
}}

static void {p}_conv(const float *u, float *buf, const float *taps, const float *bias, float *out, int k, int n)
{{    /* one causal depthwise conv step: taps (k, n), row k-1 on u, row i on buffer row i; the buffer shifts */
    int i, j;
    for (j = 0; j < n; ++j) out[j] = u[j] * taps[(long)(k - 1) * n + j] + bias[j];
    for (i = 0; i + 1 < k; ++i)
        for (j = 0; j < n; ++j) out[j] += buf[(long)i * n + j] * taps[(long)i * n + j];
    for (i = 0; i + 2 < k; ++i)
        for (j = 0; j < n; ++j) buf[(long)i * n + j] = buf[(long)(i + 1) * n + j];
    if (k > 1)
        for (j = 0; j < n; ++j) buf[(long)(k - 2) * n + j] = u[j];
}}
"""

ACT = {
    "GELU": "a[j] = 0.5f * a[j] * (1.0f + fast_tanh(0.7978845608028654f * (a[j] + 0.044715f * a[j] * a[j] * a[j])));",
    "SiLU": "a[j] = a[j] / (1.0f + expf(-a[j]));",
}


def _linear(p: str, name: str, layer, arrays: list) -> tuple[str, str]:
    """A Linear's (inputs, outputs) matrix and bias as arrays -> (the matrix's name, the bias's name)."""
    W = numpy.asarray(to_numpy(layer.W), dtype=numpy.float32).T
    b = numpy.zeros(W.shape[1], numpy.float32) if layer.b is None else to_numpy(layer.b)
    arrays += c_array("float", f"{p}_{name}_w", W) + c_array("float", f"{p}_{name}_b", b)
    return f"{p}_{name}_w", f"{p}_{name}_b"


def _norm(p: str, name: str, layer, arrays: list, x: str, out: str, n: int) -> str:
    arrays += c_array("float", f"{p}_{name}_w", to_numpy(layer.weight))
    bias = getattr(layer, "bias", None)
    if bias is not None:
        arrays += c_array("float", f"{p}_{name}_b", to_numpy(bias))
    b = f"{p}_{name}_b" if bias is not None else "0"
    return f"    {p}_norm({x}, {p}_{name}_w, {b}, {_num(layer.eps)}, {out}, {n});"


def _block(model, i: int, p: str, arrays: list, calls: list) -> None:
    """Block i's arrays and statements (see the module docstring)."""
    block = model.blocks.blocks[i]
    cell, d, k = block.rnn.layers[0], model.blocks.d_model, model.blocks.k
    D, H = cell.input_size, cell.hidden_size
    W = numpy.asarray(cell.step_weights(), dtype=numpy.float64)
    if numpy.any(W[D:D + H]):
        raise UserError(f"C export of a block model: expected a min cell (no recurrent matrix), got {cell.name}")
    calls.append(_norm(p, f"n1_{i}", block.norm, arrays, "s->x", "s->u", d))
    arrays += c_array("float", f"{p}_taps{i}", to_numpy(block.conv.weight)[:, 0, :].T)
    arrays += c_array("float", f"{p}_convb{i}", to_numpy(block.conv.bias))
    calls.append(f"    {p}_conv(s->u, {'s->buf[%d][0]' % i if k > 1 else '0'}, {p}_taps{i}, {p}_convb{i}, s->c, {k}, "
                 f"{d});")
    arrays += c_array("float", f"{p}_b{i}", W[D + H])
    calls.append(f"    for (j = 0; j < {W.shape[1]}; ++j) s->g[j] = {p}_b{i}[j];")
    for m, (a, b) in enumerate(_blocks(W[:D], H)):
        arrays += c_array("float", f"{p}_x{i}_{m}_w", numpy.asarray(W[:D, a:b], dtype=numpy.float32))
        calls.append(f"    {p}_axpy(s->g + {a}, {p}_x{i}_{m}_w, s->c, {D}, {b - a});")
    calls.append(f"    {p}_cell(s->g, s->h[{i}], 0);")
    w, bias = _linear(p, f"proj{i}", block.proj, arrays)
    calls += [f"    for (j = 0; j < {d}; ++j) s->u[j] = {bias}[j];", f"    {p}_axpy(s->u, {w}, s->h[{i}], {H}, {d});",
              f"    for (j = 0; j < {d}; ++j) s->x[j] += s->u[j];"]
    ff, F = block.ff, block.ff.fc1.out_features
    calls.append(_norm(p, f"n2_{i}", ff.norm, arrays, "s->x", "s->u", d))
    w1, b1 = _linear(p, f"fc1_{i}", ff.fc1, arrays)
    w2, b2 = _linear(p, f"fc2_{i}", ff.fc2, arrays)
    calls += [f"    for (j = 0; j < {F}; ++j) s->a[j] = {b1}[j];", f"    {p}_axpy(s->a, {w1}, s->u, {d}, {F});",
              f"    {p}_act(s->a, {F});", f"    for (j = 0; j < {d}; ++j) s->c[j] = {b2}[j];",
              f"    {p}_axpy(s->c, {w2}, s->a, {F}, {d});", f"    for (j = 0; j < {d}; ++j) s->x[j] += s->c[j];"]


def _check(model) -> None:
    blocks = model.blocks.blocks
    acts = {type(b.ff.act).__name__ for b in blocks}
    if not acts <= set(ACT) or len(acts) != 1:
        raise UserError(f"C export of a block model: expected GELU or SiLU feed-forward blocks, got {sorted(acts)}")
    if not all(c_step(b.rnn.layer_class) for b in blocks):
        raise UserError(f"C export of a block model: expected cells with a C step, got {blocks[0].rnn.name}")
    if not all(numpy.isfinite(to_numpy(a)).all() for _, a, _ in model.named_params()):
        raise UserError("C export: expected finite weights, got NaN or Inf (a diverged training?)")


def _state(model, p: str, N: int) -> list[str]:
    st = model.blocks
    L, H, d, k, F = st.num_layers, st.hidden_size, st.d_model, st.k, st.blocks[0].ff.fc1.out_features
    lines = ["typedef struct {", f"    float h[{L}][{H}];    /* each block's minRNN state */"]
    if k > 1:
        lines.append(f"    float buf[{L}][{k - 1}][{d}];    /* each block's conv: its last k-1 inputs, oldest first */")
    lines += [f"    float x[{d}];    /* scratch: the residual stream */", f"    float u[{d}];", f"    float c[{d}];",
              f"    float g[{N}];    /* scratch: the cell's pre-activations */", f"    float a[{F}];    /* scratch: the "
              "feed-forward layer */", f"}} {p}_state;"]
    return lines


def block_sources(model, *, prefix: str = "model", note: str = "", origin: str = "") -> tuple[str, str]:
    """-> (header text, source text) of ``model`` (a ``BlockLM``; see the module docstring)."""
    p, P = check_prefix(prefix), prefix.upper()
    _check(model)
    st = model.blocks
    V, d = model.embed.W.shape
    strings_h, strings_c = strings_section(p, None, origin)
    arrays = c_array("float", f"{p}_embed", to_numpy(model.embed.W))
    calls = [f"    if (token < 0 || token >= {V}) return -1;",
             f"    for (j = 0; j < {d}; ++j) s->x[j] = {p}_embed[(long)token * {d} + j];"]
    for i in range(st.num_layers):
        _block(model, i, p, arrays, calls)
    calls.append(_norm(p, "nf", st.norm, arrays, "s->x", "s->u", d))
    w, b = _linear(p, "out", model.out, arrays)
    calls += [f"    for (j = 0; j < {V}; ++j) y[j] = {b}[j];", f"    {p}_axpy(y, {w}, s->u, {d}, {V});"]
    cell = st.blocks[0].rnn.layers[0]
    N = cell.step_width * st.hidden_size
    act = ACT[type(st.blocks[0].ff.act).__name__]
    note = c_comment(note or f"BlockLM, {st.num_layers} blocks of {str(cell.name).upper()}, d_model {d}, float32")
    funcs = [KERNELS.format(p=p), TANH.format(p=p), NORM.format(p=p),
             f"static void {p}_act(float *a, int n)", "{", "    int j;", f"    for (j = 0; j < n; ++j) {act}", "}", "",
             f"static void {p}_cell(float *g, float *h, float *c)", "{", f"    const int H = {st.hidden_size};",
             "    int j;", "    (void)H;", "    (void)c;", "    for (j = 0; j < H; ++j) {"] + \
        ["        " + line for line in str(c_step(type(cell))).strip().splitlines()] + ["    }", "}", ""]
    zero = ["    for (i = 0; i < (int)(sizeof s->h / sizeof(float)); ++i) (&s->h[0][0])[i] = 0.0f;"]
    if st.k > 1:
        zero.append("    for (i = 0; i < (int)(sizeof s->buf / sizeof(float)); ++i) (&s->buf[0][0][0])[i] = 0.0f;")
    reset = [f"void {p}_reset({p}_state *s)", "{", "    int i;"] + zero + ["}", ""]
    step = [f"int {p}_step({p}_state *s, int token, float *y)", "{", "    int j;"] + calls + ["    return 0;", "}", ""]
    source = [f"/* {note}. Generated by gatedrnn: do not edit. */", "#include <math.h>", "",
              f'#include "{p}.h"', ""] + strings_c + [""] + arrays + [""] + funcs + reset + step
    header = [f"/* {note}", f" * {p}_reset(&s) zeroes the state; {p}_step(&s, token, y): a token id in [0, "
              f"{P}_VOCAB_SIZE) in, {P}_OUTPUT_SIZE logits", " * out. Returns 0, or -1 for a token outside the "
              "vocabulary (state untouched). C99, no allocation, needs", " * <math.h> (link with -lm). Generated by "
              "gatedrnn: do not edit. */", f"#ifndef {P}_H", f"#define {P}_H", "", f"#define {P}_VOCAB_SIZE {V}",
              f"#define {P}_OUTPUT_SIZE {V}", f"#define {P}_HIDDEN_SIZE {st.hidden_size}",
              f"#define {P}_NUM_LAYERS {st.num_layers}", ""] + _state(model, p, N) + \
        ["", f"void {p}_reset({p}_state *s);", f"int {p}_step({p}_state *s, int token, float *y);", ""] + strings_h + \
        ["", f"#endif /* {P}_H */", ""]
    return "\n".join(header), "\n".join(source)
