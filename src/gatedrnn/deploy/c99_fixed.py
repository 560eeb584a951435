"""A model as fixed-point C99 (``gatedrnn export RUN --c DIR --fixed q15``): ``<prefix>.h`` and ``<prefix>.c``
whose step uses integer arithmetic only (no float, no ``<math.h>``; ``<stdint.h>`` alone), for microcontrollers
without an FPU::

    #include "model.h"
    model_state s;                       /* the int16 hidden states, the int32 scratch, a saturation count */
    model_reset(&s);
    model_step(&s, x, y);                /* x: MODEL_INPUT_SIZE int16, y: MODEL_OUTPUT_SIZE int32 */

The input is int16 with ``MODEL_INPUT_FRAC`` fractional bits (x = round(value * 2^MODEL_INPUT_FRAC)): for a
``Classifier``'s checkpoint the raw samples, in the units of its training data, standardised inside the step
(``MODEL_INPUT_FRAC`` chosen so that mean +- 8 std of every input fits); otherwise the standardised input in Q12.
A standardised value outside [-8, 8) saturates there and is counted, like any value that leaves its type
(``s.saturated``, since the reset; ``model_step`` returns 1 when this step clamped one, else 0): nothing wraps.
The outputs are int32 with ``MODEL_OUTPUT_FRAC`` = 16 fractional bits (class logits, regression outputs, or a
stack's top hidden state). Formats and rounding: ``deploy/fixed_point.py``; the Python reference that the C equals
bit for bit: ``deploy/fixed_stream.py``.

Each layer is the float export's structure (``deploy/c99.py``) in integers: the pre-activation starts from the Q16
bias row, then each stored int16 block of input and recurrent rows adds its product sum, shifted into Q16; the
unit's gate math is the cell's ``Q15_STEP`` (C statements in its module in ``deploy/cells/``, next to its NumPy
twin ``q15_update``). A low-rank matrix W = A B (``fixed_stream``: a layer's ``factors``) is two products, t = v A into
the int32 scratch ``s->t`` (Q16), then g += t B. A block is stored dense, or in compressed sparse rows (8-bit
column indices up to 256 inputs, else 16-bit; 16-bit row starts) when that is smaller. Weights are ``static const`` (flash); labels and the
checkpoint's path reach the C text only as escaped literals (``deploy/c_text.py``).
"""

from __future__ import annotations

import re

import numpy

from gatedrnn.deploy.c99 import c_array, check_prefix
from gatedrnn.deploy.c99_fixed_kernels import ARITH, DOT, DOT_CSR, KINDS, SIGMOID, TANH
from gatedrnn.deploy.c_text import MAX_LITERAL, c_comment, strings_section, utf8
from gatedrnn.deploy.cells import q15_step
from gatedrnn.deploy.fixed_point import G_FRAC, H_FRAC, TABLE_SHIFT, TABLE_SIZE, X_FRAC, tanh_table
from gatedrnn.deploy.fixed_stream import FixedModel
from gatedrnn.errors import UserError

_BYTES = {"int16_t": 2, "int32_t": 4, "uint16_t": 2, "uint8_t": 1, "unsigned char": 1}


def csr_or_dense(q: numpy.ndarray) -> tuple[str, int]:
    """How to store ``q`` (outputs, inputs): ("dense" or "csr8"/"csr16", bytes), whichever is smaller."""
    n_out, n_in = q.shape
    nnz = int(numpy.count_nonzero(q))
    dense = 2 * q.size
    idx = 1 if n_in <= 256 else 2
    csr = 2 * nnz + idx * nnz + 2 * (n_out + 1)
    if csr < dense and nnz <= 65535:
        return f"csr{8 * idx}", csr
    return "dense", dense


def _matrix(p: str, name: str, q, x: str, g: str, shift: int, arrays: list, calls: list,
            wide: str = "") -> tuple[tuple[str, str], int]:
    """Store ``q`` (outputs, inputs) and call its kernel into ``g`` from ``x`` (int16, or int32 with ``wide`` "32");
    -> ((the storage, ``wide``): the kernel, multiplies)."""
    how, _ = csr_or_dense(q)
    n_out, n_in = q.shape
    if how == "dense":
        arrays += c_array("int16_t", f"{p}_{name}_w", q)
        calls.append(f"    {p}_dot{wide}({g}, {p}_{name}_w, {x}, {n_in}, {n_out}, {shift}, &s->saturated);")
        return (how, wide), q.size
    rows, cols = numpy.nonzero(q)                 # row-major order: by output, then by input
    starts = numpy.concatenate([[0], numpy.cumsum(numpy.bincount(rows, minlength=n_out))])
    arrays += c_array("int16_t", f"{p}_{name}_v", q[rows, cols])
    arrays += c_array("uint8_t" if how == "csr8" else "uint16_t", f"{p}_{name}_c", cols)
    arrays += c_array("uint16_t", f"{p}_{name}_r", starts)
    calls.append(f"    {p}_dot{wide}_{how}({g}, {p}_{name}_v, {p}_{name}_c, {p}_{name}_r, {x}, {n_out}, {shift}, "
                 f"&s->saturated);")
    return (how, wide), len(rows)


def _bias(p: str, k: int, layer, arrays: list, calls: list) -> None:
    """Layer k's Q16 bias row into the scratch, a block of H columns at a time: a block whose value is the same in
    every unit (zeros, a cell's scalar) as one constant, any other as an array."""
    H = layer.hidden_size
    for m in range(len(layer.bias) // H):
        part = layer.bias[m * H:(m + 1) * H]
        if (part == part[0]).all():
            calls.append(f"    for (j = 0; j < {H}; ++j) s->g[{m * H} + j] = {int(part[0])};")
        else:
            arrays += c_array("int32_t", f"{p}_b{k}_{m}", part)
            calls.append(f"    for (j = 0; j < {H}; ++j) s->g[{m * H} + j] = {p}_b{k}_{m}[j];")


def _body(fm: FixedModel, p: str, arrays: list, calls: list) -> tuple[set, int]:
    """The arrays and the statements of the step after its input; -> (the kernels used, multiplies per step)."""
    used, macs = set(), 0
    src = "s->x" if fm.standardize is not None else "x"
    for k, layer in enumerate(fm.layers):
        _bias(p, k, layer, arrays, calls)
        for m, (part, a, b, q, shift) in enumerate(layer.blocks):
            vec = src if part == "x" else f"s->h[{k}]"
            how, n = _matrix(p, f"{part}{k}_{m}", q.T, vec, f"s->g + {a}", shift, arrays, calls)
            used.add(how)
            macs += n
        macs += _factors(p, k, layer, src, arrays, calls, used)
        calls.append(f"    {p}_cell(s->g, s->h[{k}], &s->saturated);")
        src = f"s->h[{k}]"
    if fm.head is None:
        calls.append(f"    for (j = 0; j < {fm.output_size}; ++j) y[j] = (int32_t){src}[j] * "
                     f"{1 << (G_FRAC - H_FRAC)};")
        return used, macs
    q, shift, b = fm.head
    arrays += c_array("int32_t", f"{p}_head_b", b)
    calls.append(f"    for (j = 0; j < {fm.output_size}; ++j) y[j] = {p}_head_b[j];")
    how, n = _matrix(p, "head", q.T, src, "y", shift, arrays, calls)
    used.add(how)
    return used, macs + n


def _factors(p: str, k: int, layer, src: str, arrays: list, calls: list, used: set) -> int:
    """Layer k's low-rank matrices, two products each: s->t = (v A) in Q16, then g += t B; -> multiplies."""
    macs = 0
    for m, (part, a, b, q1, s1, q2, s2) in enumerate(layer.factors):
        vec = src if part == "x" else f"s->h[{k}]"
        calls.append(f"    for (j = 0; j < {q1.shape[1]}; ++j) s->t[j] = 0;")
        how, n = _matrix(p, f"{part}{k}_f{m}a", q1.T, vec, "s->t", s1, arrays, calls)
        used.add(how)
        macs += n
        how, n = _matrix(p, f"{part}{k}_f{m}b", q2.T, "s->t", f"s->g + {a}", s2, arrays, calls, wide="32")
        used.add(how)
        macs += n
    return macs


def _cell(fm: FixedModel, p: str) -> list[str]:
    """The unit step of every layer (one cell, one width): the cell's ``q15_step`` in a loop over units."""
    layer = fm.layers[0]
    code = str(q15_step(layer.cls)).strip().splitlines()
    return [f"static void {p}_cell(const int32_t *g, int16_t *h, uint32_t *sat)", "{",
            f"    const int H = {layer.hidden_size}, HF = {H_FRAC};", "    int j;", "    (void)HF;",
            "    for (j = 0; j < H; ++j) {"] + ["        " + line for line in code] + ["    }", "}", ""]


def _kernels(fm: FixedModel, p: str, used: set) -> list[str]:
    code = "".join(str(q15_step(layer.cls)) for layer in fm.layers)
    parts = [ARITH.format(p=p)]
    if "q_tanh(" in code or "q_sigmoid(" in code:
        mask, half = (1 << TABLE_SHIFT) - 1, 1 << (TABLE_SHIFT - 1)
        parts.append(TANH.format(p=p, size=TABLE_SIZE, shift=TABLE_SHIFT, mask=mask, half=half))
    if "q_sigmoid(" in code:
        parts.append(SIGMOID.format(p=p))
    for wide, (xt, mt) in KINDS.items():
        if ("dense", wide) in used:
            parts.append(DOT.format(p=p, w=wide, xt=xt, mt=mt))
        for bits, ctype in ((8, "uint8_t"), (16, "uint16_t")):
            if (f"csr{bits}", wide) in used:
                parts.append(DOT_CSR.format(p=p, b=bits, t=ctype, w=wide, xt=xt, mt=mt))
    return "\n".join(parts).splitlines()


def _entry(fm: FixedModel, p: str, arrays: list) -> list[str]:
    """The step's first statements: the integer standardisation of raw inputs, when the model has one."""
    st = fm.standardize
    if st is None:
        return []
    arrays += c_array("int32_t", f"{p}_in_mean", st["mean"]) + c_array("int32_t", f"{p}_in_k", st["k"])
    arrays += c_array("unsigned char", f"{p}_in_sk", st["sk"])
    return [f"    for (j = 0; j < {fm.input_size}; ++j)",
            f"        s->x[j] = q_h((int64_t)((int32_t)x[j] - {p}_in_mean[j]) * {p}_in_k[j], {p}_in_sk[j], "
            "&s->saturated);"]


def header_text(fm: FixedModel, p: str, note: str, strings: list[str]) -> str:
    P, L, H = p.upper(), len(fm.layers), fm.layers[0].hidden_size
    in_frac = fm.standardize["rf"] if fm.standardize is not None else X_FRAC
    what = ("raw int16 samples (standardised inside)" if fm.standardize is not None
            else "the standardised input in Q12")
    state = ["typedef struct {", f"    int16_t h[{L}][{H}];        /* each layer's hidden state, Q2.13 */",
             f"    int32_t g[{fm.width}];          /* scratch: one layer's pre-activations, Q16 */"]
    if fm.standardize is not None:
        state.append(f"    int16_t x[{fm.input_size}];          /* scratch: the standardised input, Q12 */")
    if fm.rank:
        state.append(f"    int32_t t[{fm.rank}];          /* scratch: a low-rank product's middle, Q16 */")
    state += ["    uint32_t saturated;       /* values clamped since the reset */", f"}} {p}_state;"]
    lines = [f"/* {note}", f" * {p}_reset(&s) zeroes the state; {p}_step(&s, x, y): {P}_INPUT_SIZE int16 in, x = "
             f"round(value * 2^{P}_INPUT_FRAC),", f" * {what}; {P}_OUTPUT_SIZE int32 out with {P}_OUTPUT_FRAC "
             "fractional bits. Returns 1 when a value", " * saturated in this step (counted in s.saturated), else 0."
             " Integer arithmetic only: C99, <stdint.h>,", " * no float. Generated by gatedrnn: do not edit. */",
             f"#ifndef {P}_H", f"#define {P}_H", "", "#include <stdint.h>", "",
             f"#define {P}_INPUT_SIZE {fm.input_size}", f"#define {P}_OUTPUT_SIZE {fm.output_size}",
             f"#define {P}_HIDDEN_SIZE {H}", f"#define {P}_NUM_LAYERS {L}", f"#define {P}_INPUT_FRAC ({in_frac})",
             f"#define {P}_OUTPUT_FRAC {G_FRAC}", f"#define {P}_STATE_FRAC {H_FRAC}", ""]
    lines += state + ["", f"void {p}_reset({p}_state *s);", f"int {p}_step({p}_state *s, const int16_t *x, int32_t *y);",
                      ""] + strings + ["", f"#endif /* {P}_H */", ""]
    return "\n".join(lines)


def _check_labels(fm: FixedModel, labels) -> None:
    if labels is None:
        return
    if fm.kind != "classifier" or len(labels) != fm.output_size:
        raise UserError(f"C export labels: expected one label per output of a classifier ({fm.output_size}), got "
                        f"{len(labels)}")
    for i, label in enumerate(labels):
        if not isinstance(label, (str, int, float)) or len(utf8(str(label))) > MAX_LITERAL:
            raise UserError(f"C export labels: expected text or numbers of at most {MAX_LITERAL} bytes (UTF-8), got "
                            f"a {type(label).__name__} of {len(utf8(str(label))):,} bytes (label {i})")


def fixed_sources(fm: FixedModel, *, prefix: str = "model", labels=None, origin: str = "",
                  note: str = "") -> tuple[str, str, dict]:
    """-> (header text, source text, ``{"macs", "weight_bytes"}``) of the fixed-point step of ``fm``."""
    p = check_prefix(prefix)
    _check_labels(fm, labels)
    strings_h, strings_c = strings_section(p, labels, origin)
    arrays = c_array("int16_t", f"{p}_tanh_q15", tanh_table())
    calls: list[str] = []
    first = _entry(fm, p, arrays)
    used, macs = _body(fm, p, arrays, calls)
    note = c_comment(note or fm.description)
    reset = [f"void {p}_reset({p}_state *s)", "{", "    int k, j;",
             f"    for (k = 0; k < {len(fm.layers)}; ++k) for (j = 0; j < {fm.layers[0].hidden_size}; ++j) "
             "s->h[k][j] = 0;", "    s->saturated = 0;", "}"]
    step = [f"int {p}_step({p}_state *s, const int16_t *x, int32_t *y)", "{", "    const uint32_t before = "
            "s->saturated;", "    int j;"] + first + calls + ["    return s->saturated != before;", "}"]
    source = [f"/* {note}. Generated by gatedrnn: do not edit. */", "#include <stdint.h>", "", f'#include "{p}.h"',
              ""] + strings_c + [""] + arrays + [""] + _kernels(fm, p, used) + [""] + _cell(fm, p) + reset + [""] + \
        step + [""]
    text = "\n".join(source)
    return header_text(fm, p, note, strings_h), text, {"macs": macs, "weight_bytes": weight_bytes(text)}


def weight_bytes(source: str) -> int:
    """Bytes of the ``static const`` arrays (weights, tables) in a generated source."""
    found = re.findall(r"static const (int16_t|int32_t|uint16_t|uint8_t|unsigned char) \w+\[(\d+)\]", source)
    return sum(_BYTES[ctype] * int(n) for ctype, n in found)
