"""A sequence classifier with a front end (``models/front.py``: running normalisation, causal convolution, frame
stacking) as standalone C99: ``front_sources(model)`` gives ``<prefix>.h`` and ``<prefix>.c``, ``Stream``'s step
on raw samples written out, the conventions of ``deploy/c99.py`` (no allocation, no global state, ``<math.h>``
only; ``-lm``; warning-free under ``cc -std=c99 -Wall -Wextra -pedantic``)::

    #include "model.h"
    model_state s;                        /* the recurrent state, the front end's buffers and the step's scratch */
    model_reset(&s);                      /* a new sequence */
    r = model_step(&s, x, y);             /* x: MODEL_INPUT_SIZE raw floats, one sample */
    /* r == 1: a frame completed, y holds the MODEL_OUTPUT_SIZE class logits of the sequence so far;
       r == 0: the sample went into the frame being filled, y untouched;
       r == -1: refused (a value not finite, or beyond MODEL_INPUT_LIMIT once standardised), state untouched */

One step, in ``FrontStream.push``'s order: the sample standardised with the classifier's saved scaling (double); the
running normalisation (count, sum and sum of squares per input, double, as ``layers/running_norm.py``); the value
cast to float; with a convolution, for each conv block (``models/front_blocks.py``) the pointwise projection, one
step of the causal depthwise conv (``deploy/c99_block.py``'s, on the block's own buffer of its last k-1 inputs,
oldest first), its LayerNorm when it has one (``c99_block.py``'s), SiLU and its residual, the last block into the
next slot of the frame; when the frame holds ``MODEL_FRAME`` samples, the recurrent layers (``deploy/c99.py``'s
step, the frame as layer 0's input), the pooling (the top state, or the running mean or element-wise max of the top
states over the frames so far) and the head. Every buffer is in the state struct: its size does not depend on how many samples went
in.

With ``int8=True`` the recurrent layers and the head are int8 as the plain export's (``models/quantize.py``); the
front end stays float32 (``QuantizedStream`` computes the same). ``MODEL_INPUT_LIMIT`` is ``Stream``'s
``input_limit``: the bound on a standardised sample under which no value of the float32 model overflows.
Labels, the checkpoint's path and the note reach the C text only through ``deploy/c_text.py``.

A classifier without a front end but with mean or max pooling (whose running pool the plain ``deploy/c99.py`` step
does not keep) is written here too, behind a pass-through front (``models.front.export_front``: one raw sample a
step, ``MODEL_FRAME`` 1, the step returning 1 for every accepted sample).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy

from gatedrnn.backend import to_numpy
from gatedrnn.deploy.c99 import _cell, _head, _layer, _Spec, c_array, check_prefix
from gatedrnn.deploy.c99_block import NORM
from gatedrnn.deploy.c99_kernels import HEAD8, KERNELS, KERNELS8, TANH
from gatedrnn.deploy.c_text import MAX_LITERAL, c_comment, strings_section, utf8
from gatedrnn.deploy.cells import c_step
from gatedrnn.errors import UserError
from gatedrnn.models.classifier import SequenceClassifier
from gatedrnn.models.front import export_front, front_exported
from gatedrnn.models.quantize import QuantizedStream, quantize_stream
from gatedrnn.models.stream import Stream

# the causal conv step of the block export (its NORM text holds the norm, then the conv): the one C conv step
_CONV_START = "static void {p}_conv("
if _CONV_START not in NORM:
    raise RuntimeError("deploy/c99_block.py: expected its NORM text to hold the conv step, got none")
CONV = NORM[NORM.index(_CONV_START):]
LAYER_NORM = NORM[:NORM.index(_CONV_START)]      # its LayerNorm step, for the conv blocks' conv_norm "layer"


def describe_front(model, int8: bool = False) -> str:
    """One line: the classifier's front end, cell, sizes, pooling and precision."""
    f, rnn = model.front, model.rnn
    if f is None:
        parts = ["none (one raw sample a step)"]
    else:
        parts = (["running norm"] if f.norm is not None else []) + \
            ([f"conv {f.channels} x {f.conv.k} taps" + _blocks_text(f)] if f.conv is not None else []) + \
            [f"frame {f.frame_size}"]
    return (f"SequenceClassifier, front end {' + '.join(parts)}, {str(rnn.name).upper()} {rnn.hidden_size} units x "
            f"{rnn.num_layers}, {model.pooling} pooling, {'int8' if int8 else 'float32'} recurrent weights")


def _blocks_text(f) -> str:
    """The conv blocks beyond the first one's channels and taps ("" for one plain block)."""
    b = f.blocks[-1]
    extra = ([f"{len(f.blocks)} blocks"] if len(f.blocks) > 1 else []) + \
        (["LayerNorm"] if b.norm is not None else []) + (["residual"] if b.residual else [])
    return f" ({', '.join(extra)})" if extra else ""


def input_limit(model, int8: bool = False) -> float:
    """``Stream``'s bound on a standardised sample (``QuantizedStream``'s too with int8: the smaller of both)."""
    limit = Stream(model).input_limit
    if int8:                         # QuantizedStream.refresh sets the network's bound: the front end's applied here
        q = QuantizedStream(model)
        if q.front is not None:
            limit = min(limit, q.front.raw_limit(q.input_limit))
    return min(float(limit), sys.float_info.max)    # finite: a C literal (no bound for conv taps all zero)


def _check(model, labels, standardize):
    if not (isinstance(model, SequenceClassifier) and front_exported(model)):
        raise UserError(f"C export of a front end: expected a SequenceClassifier with a front end or mean or max "
                        f"pooling, got {type(model).__name__}")
    cls = model.rnn.layer_class
    if not c_step(cls):
        raise UserError(f"C export: expected a cell with a C mapping, got {cls.name}")
    if not all(numpy.isfinite(to_numpy(a)).all() for _, a, _ in model.named_params()):
        raise UserError("C export: expected finite weights, got NaN or Inf (a diverged training?)")
    D, C = export_front(model).input_size, model.head.out_features
    if standardize is not None:
        mean, std = (numpy.asarray(a, dtype=numpy.float64) for a in standardize)
        if mean.shape != (D,) or std.shape != (D,) or not (numpy.isfinite([mean, std]).all() and (std > 0).all()):
            raise UserError(f"C export standardize: expected finite (mean, std > 0) of {D} values, got shapes "
                            f"{mean.shape} and {std.shape}")
        standardize = (mean, std)
    if labels is not None:
        if len(labels) != C:
            raise UserError(f"C export labels: expected one label per class ({C}), got {len(labels)}")
        for i, label in enumerate(labels):
            if not isinstance(label, (str, int, float)) or len(utf8(str(label))) > MAX_LITERAL:
                raise UserError(f"C export labels: expected text or numbers of at most {MAX_LITERAL} bytes, got "
                                f"{type(label).__name__} (label {i})")
    return standardize


def _classifier(s: _Spec) -> Any:
    """The spec's model, a ``SequenceClassifier`` with a front end (``_Spec`` types it as any model)."""
    return s.model


def _fields(s: _Spec, N: int, A: int) -> list[tuple[str, str, tuple[int, ...], str, bool]]:
    """The state struct: (C type, name, dimensions, comment, carried from step to step)."""
    f, L, H = export_front(_classifier(s)), s.rnn.num_layers, s.rnn.hidden_size
    D, C, F = f.input_size, f.channels, f.frame_size
    out: list[tuple[str, str, tuple[int, ...], str, bool]] = [("float", "h", (L, H), "each layer's hidden state", True)]
    if s.rnn.layer_class.has_cell:
        out.append(("float", "c", (L, H), "each layer's memory cell", True))
    if f.norm is not None:
        out += [("double", "n", (), "running norm: samples so far", True),
                ("double", "sum", (D,), "running norm: sum of each input", True),
                ("double", "sq", (D,), "running norm: sum of its squares", True)]
    if f.conv is not None and f.conv.k > 1:
        for i in range(len(f.blocks)):
            out.append(("float", f"buf{i or ''}", (f.conv.k - 1, C), f"conv{f' block {i}' if i else ''}: its last "
                        "k-1 inputs, oldest first", True))
    out.append(("float", "frame", (F * C,), "the frame being filled", True))
    if F > 1:
        out.append(("int", "slot", (), "samples in it so far", True))
    if _classifier(s).pooling == "mean":
        out += [("float", "pool_sum", (H,), "mean pooling: sum of the top states", True),
                ("long", "count", (), "mean pooling: frames so far", True),
                ("float", "pool", (H,), "scratch: their mean", False)]
    elif _classifier(s).pooling == "max":
        out += [("float", "pool", (H,), "max pooling: the max of the top states", True),
                ("int", "started", (), "max pooling: 1 once a frame went in", True)]
    out.append(("float", "g", (N,), "scratch: one layer's pre-activations", False))
    if A:
        out.append(("float", "acc", (A,), "scratch: int8 products before their scale", False))
    if f.conv is not None:
        out += [("float", "x", (D,), "scratch: the sample as float", False),
                ("float", "u", (C,), "scratch: its projection", False)]
        if len(f.blocks) > 1:
            out.append(("float", "a", (2, C), "scratch: the conv blocks' outputs before the last", False))
    return out


def _header(s: _Spec, fields, limit: float, note: str, strings: list[str]) -> str:
    p, P, f = s.prefix, s.prefix.upper(), export_front(_classifier(s))
    lines = [f"/* {note}", f" * {p}_reset(&s) starts a sequence; {p}_step(&s, x, y): {P}_INPUT_SIZE raw floats in (one",
             f" * sample); returns 1 when it completes a frame of {P}_FRAME samples, with y = the {P}_OUTPUT_SIZE class",
             " * logits of the sequence so far, 0 between frames (y untouched), -1 for a refused sample (not finite,",
             f" * or beyond {P}_INPUT_LIMIT once standardised; state untouched). C99, no allocation, needs <math.h>",
             " * (link with -lm). Generated by gatedrnn: do not edit. */", f"#ifndef {P}_H", f"#define {P}_H", "",
             f"#define {P}_INPUT_SIZE {f.input_size}", f"#define {P}_OUTPUT_SIZE {_classifier(s).head.out_features}",
             f"#define {P}_HIDDEN_SIZE {s.rnn.hidden_size}", f"#define {P}_NUM_LAYERS {s.rnn.num_layers}",
             f"#define {P}_FRAME {f.frame_size}", f"#define {P}_INPUT_LIMIT {limit!r}", "", "typedef struct {"]
    for ctype, name, dims, comment, _ in fields:
        decl = f"{ctype} {name}{''.join(f'[{d}]' for d in dims)};"
        lines.append(f"    {decl:<24}/* {comment} */")
    lines += [f"}} {p}_state;", "", f"void {p}_reset({p}_state *s);", f"int {p}_step({p}_state *s, const float *x, "
              "float *y);", ""] + strings + ["", f"#endif /* {P}_H */", ""]
    return "\n".join(lines)


def _reset(p: str, fields) -> list[str]:
    lines = [f"void {p}_reset({p}_state *s)", "{", "    int i;"]
    for ctype, name, dims, _, carried in fields:
        if not carried:
            continue
        if not dims:
            lines.append(f"    s->{name} = 0;")
        elif len(dims) == 1:
            lines.append(f"    for (i = 0; i < {dims[0]}; ++i) s->{name}[i] = 0;")
        else:
            first = f"(&s->{name}{'[0]' * len(dims)})"
            lines.append(f"    for (i = 0; i < {int(numpy.prod(dims))}; ++i) {first}[i] = 0;")
    return lines + ["    (void)i;", "}"]


def _sample(s: _Spec, limit: float, arrays: list) -> list[str]:
    """The step's first lines: the sample standardised and checked (nothing changed before a refusal), then the
    running normalisation, into the double ``v``."""
    p, f = s.prefix, export_front(_classifier(s))
    D = f.input_size
    value = "(double)x[j]"
    if s.standardize is not None:
        arrays += c_array("double", f"{p}_in_mean", s.standardize[0]) + \
            c_array("double", f"{p}_in_std", s.standardize[1])
        value = f"((double)x[j] - {p}_in_mean[j]) / {p}_in_std[j]"
    lines = [f"    for (j = 0; j < {D}; ++j) {{", f"        v[j] = {value};",
             f"        if (!(fabs(v[j]) <= {limit!r})) return -1;    /* not finite, or too large */", "    }"]
    if f.norm is not None:
        lines += ["    s->n += 1.0;", f"    for (j = 0; j < {D}; ++j) {{", "        double m, var;",
                  "        s->sum[j] += v[j];", "        s->sq[j] += v[j] * v[j];", "        m = s->sum[j] / s->n;",
                  "        var = s->sq[j] / s->n - m * m;",
                  f"        v[j] = (v[j] - m) / sqrt((var > 0.0 ? var : 0.0) + {float(f.norm.eps)!r});", "    }"]
    return lines


def _front(s: _Spec, arrays: list) -> list[str]:
    """The sample (``v``) into the frame's next slot: as float, or through each conv block (projected, convolved,
    normalised, SiLU, residual)."""
    p, f = s.prefix, export_front(_classifier(s))
    D, C, F = f.input_size, f.channels, f.frame_size
    slot = "s->frame + s->slot * %d" % C if F > 1 else "s->frame"
    if f.conv is None:
        return [f"    dst = {slot};", f"    for (j = 0; j < {D}; ++j) dst[j] = (float)v[j];"]
    lines = [f"    dst = {slot};", f"    for (j = 0; j < {D}; ++j) s->x[j] = (float)v[j];"]
    L = len(f.blocks)
    for i, block in enumerate(f.blocks):
        lines += _block(p, block, i, "s->x" if i == 0 else f"s->a[{(i - 1) % 2}]",
                        "dst" if i == L - 1 else f"s->a[{i % 2}]", arrays)
    return lines


def _block(p: str, block, i: int, src: str, out: str, arrays: list) -> list[str]:
    """One conv block from ``src`` into ``out`` (``models/front_blocks.py``; block 0's arrays keep their names)."""
    n, C, k = str(i or ""), block.channels, block.conv.k
    W = numpy.asarray(to_numpy(block.proj.W), dtype=numpy.float32).T                      # (in, C)
    pb = numpy.zeros(C, numpy.float32) if block.proj.b is None else to_numpy(block.proj.b)
    taps = numpy.asarray(to_numpy(block.conv.weight), dtype=numpy.float32)[:, 0, :].T     # (k, C)
    cb = numpy.zeros(C, numpy.float32) if block.conv.bias is None else to_numpy(block.conv.bias)
    arrays += c_array("float", f"{p}_proj{n}_w", W) + c_array("float", f"{p}_proj{n}_b", pb)
    arrays += c_array("float", f"{p}_taps{n}", taps) + c_array("float", f"{p}_conv{n}_b", cb)
    buf = f"s->buf{n}[0]" if k > 1 else "0"
    lines = [f"    for (j = 0; j < {C}; ++j) s->u[j] = {p}_proj{n}_b[j];",
             f"    {p}_axpy(s->u, {p}_proj{n}_w, {src}, {block.in_size}, {C});",
             f"    {p}_conv(s->u, {buf}, {p}_taps{n}, {p}_conv{n}_b, {out}, {k}, {C});"]
    if block.norm is not None:
        arrays += c_array("float", f"{p}_norm{n}_w", to_numpy(block.norm.weight)) + \
            c_array("float", f"{p}_norm{n}_b", to_numpy(block.norm.bias))
        lines.append(f"    {p}_norm({out}, {p}_norm{n}_w, {p}_norm{n}_b, {float(block.norm.eps)!r}f, {out}, {C});")
    lines.append(f"    for (j = 0; j < {C}; ++j) {out}[j] *= 0.5f * fast_tanh(0.5f * {out}[j]) + 0.5f;    /* SiLU */")
    if block.residual:
        lines.append(f"    for (j = 0; j < {C}; ++j) {out}[j] += {src}[j];    /* residual */")
    return lines


def _network(s: _Spec, arrays: list) -> tuple[list[str], int]:
    """The frame's end, the recurrent layers, the pooling and the head into ``y`` -> (lines, widest int8 need)."""
    F, L, H = export_front(_classifier(s)).frame_size, s.rnn.num_layers, s.rnn.hidden_size
    lines = [f"    if (++s->slot < {F}) return 0;", "    s->slot = 0;"] if F > 1 else []
    widest = 0
    for k in range(L):
        widest = max(widest, _layer(s, k, arrays, lines, "s->frame" if k == 0 else f"s->h[{k - 1}]"))
    head: list[str] = []
    _head(s, arrays, head, "y")
    if _classifier(s).pooling == "mean":                # the head reads the mean of the top states instead of the last
        lines += ["    s->count += 1;", f"    for (j = 0; j < {H}; ++j) {{", f"        s->pool_sum[j] += s->h[{L - 1}][j];",
                  "        s->pool[j] = s->pool_sum[j] / (float)s->count;", "    }"]
        head = [line.replace(f"s->h[{L - 1}]", "s->pool") for line in head]
    elif _classifier(s).pooling == "max":               # the head reads the running max of the top states
        lines += [f"    for (j = 0; j < {H}; ++j)",
                  f"        if (!s->started || s->h[{L - 1}][j] > s->pool[j]) s->pool[j] = s->h[{L - 1}][j];",
                  "    s->started = 1;"]
        head = [line.replace(f"s->h[{L - 1}]", "s->pool") for line in head]
    return lines + head, widest


def front_sources(model, *, prefix: str = "model", int8: bool = False, standardize=None, labels=None,
                  note: str = "", origin: str = "") -> tuple[str, str]:
    """-> (header text, source text) of ``model`` (see the module docstring). ``standardize`` = (mean, std), one
    value per raw input (a ``Classifier``'s scaling); ``labels`` one per class; both, and ``origin``, reach the C
    text as escaped literals (``deploy/c_text.py``). A model or cell the exporter does not support is one line."""
    p = check_prefix(prefix)
    standardize = _check(model, labels, standardize)
    s = _Spec(p, model, None, model.rnn, model.head, bool(int8), standardize=standardize)
    if int8:
        s.quantized = quantize_stream(Stream(model))
    limit = input_limit(model, int8)
    strings_h, strings_c = strings_section(p, labels, origin)
    arrays: list[str] = []
    body = _sample(s, limit, arrays) + _front(s, arrays)
    net, widest = _network(s, arrays)
    N = (s.rnn.layer_class.step_width or 0) * s.rnn.hidden_size
    fields = _fields(s, N, widest)
    code = body + net + _cell(s)
    kernels = [KERNELS.format(p=p)] if any(f"{p}_axpy(" in line for line in code) else []
    if widest:
        kernels.append(KERNELS8.format(p=p))
    if any(f"{p}_head8(" in line for line in code):
        kernels.append(HEAD8.format(p=p))
    if any("fast_tanh(" in line for line in code):
        kernels.append(TANH.format(p=p))
    front = export_front(model)
    if any(b.norm is not None for b in front.blocks):
        kernels.append(LAYER_NORM.format(p=p))
    if front.conv is not None:
        kernels.append(CONV.format(p=p))
    note = c_comment(note or describe_front(model, int8))
    step = [f"int {p}_step({p}_state *s, const float *x, float *y)", "{",
            f"    double v[{front.input_size}];", "    float *dst;", "    int j;"] + body + net + \
        ["    return 1;", "}"]
    source = [f"/* {note}. Generated by gatedrnn: do not edit. */", "#include <math.h>", "", f'#include "{p}.h"', ""] + \
        strings_c + [""] + arrays + [""] + kernels + _cell(s) + [""] + _reset(p, fields) + [""] + step + [""]
    return _header(s, fields, limit, note, strings_h), "\n".join(source)
