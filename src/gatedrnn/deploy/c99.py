"""A model as standalone C99: ``export_c(model, folder)`` writes ``<prefix>.h`` and ``<prefix>.c`` (default
``model.h``/``model.c``), what ``gatedrnn export RUN --c DIR`` runs.

The C code is ``Stream``'s step written out: no dynamic allocation, no global state, nothing beyond ``<math.h>``
(``isfinite``, ``fabs``, ``NAN``; link with ``-lm``), warning-free under ``cc -std=c99 -Wall -Wextra -pedantic``::

    #include "model.h"
    model_state s;                       /* everything a stream holds: the state and the step's scratch */
    model_reset(&s);
    if (model_step(&s, x, y) != 0) ...   /* x: MODEL_INPUT_SIZE floats (a token id for a language model) */

``model_step`` returns 0, or -1 for an input it refuses (a value that is not finite; a token id outside the
vocabulary), leaving the state as it was. What goes in
and out depends on the model:

* ``SequenceRegressor``: ``input_size`` floats in, ``output_size`` out (the head on every step; a whole
  ``Forecaster``, with its ring buffer, normalisation and members, is ``deploy/c99_forecaster.py``);
* ``LanguageModel``: ``int`` token id in, ``vocab_size`` logits out; the embedding is a ``const`` table;
* ``SequenceClassifier`` (pooling ``"last"``): ``input_size`` floats in, the class logits of the sequence so far
  out; with ``standardize=(mean, std)`` (a ``Classifier``'s scaling) raw inputs, standardised inside;
* a bare recurrent stack: ``input_size`` floats in, the top layer's ``hidden_size`` state out.

Weights are ``static const`` arrays (flash on a microcontroller). Each layer's pre-activation is its cell's
fused step matrix ``[W_ih; W_hh; b]`` (``layer.step_weights()``, the columns as the cell's one-step update wants
them), applied as "bias, plus the input rows times x, plus the recurrent rows times h"; column blocks of H that
are all zero in the input or recurrent rows are not stored (the GRU's candidate split, the min cells' missing
recurrent matrix). A low-rank matrix (``layer.step_factors()``: W = A B, FastGRNN and FastRNN with ranks) is stored
as its two factors and applied as two products, (v A) B, with float32 weights (int8 weights quantise the
product). The gate math of one unit is the cell's C step (``deploy/cells/``, keyed by the cell's
registry name, the twin of its ``step_update``: the body of ``for (j = 0; j < H; ++j)`` reading ``g[k * H + j]``,
``h[j]``, ``c[j]`` and writing ``h[j]``, ``c[j]``): no cell is named here. Its tanh is ``fast_tanh``, defined in
the generated file: a rational function within 3.5e-7 of tanh (Eigen's), several times faster than glibc's
``tanhf``; the outputs stay within 1e-5 of ``Stream`` over 10 000 steps (tests/deploy/test_c99.py). With ``int8=True``
every weight matrix is int8 with a float32 scale per output unit (``models/quantize.py``); biases, activations
and state stay float32, and each product is ``scale * sum(q * x)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy

from gatedrnn.atomic import atomic_file
from gatedrnn.backend import to_numpy
from gatedrnn.deploy.c99_header import header_text, reset_lines, signature
from gatedrnn.deploy.c99_kernels import HEAD8, KERNELS, KERNELS8, TANH
from gatedrnn.deploy.c_text import MAX_LITERAL, c_comment, strings_section, utf8
from gatedrnn.deploy.cells import c_cells, c_step
from gatedrnn.errors import UserError
from gatedrnn.layers import Embedding, Linear
from gatedrnn.layers.recurrent import RecurrentStack
from gatedrnn.models.quantize import quantize_stream
from gatedrnn.models.stream import Stream, model_parts

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")
_PER_LINE = 8


def check_prefix(prefix: str) -> str:
    if not isinstance(prefix, str) or not _IDENT.fullmatch(prefix):
        raise UserError(f"C prefix: expected a C identifier of at most 32 characters (letters, digits, _), "
                        f"got {prefix!r}")
    return prefix


@dataclass
class _Spec:
    """What the generator needs, gathered and checked once."""
    prefix: str
    model: object
    embed: Embedding | None
    rnn: RecurrentStack
    head: Linear | None
    int8: bool
    quantized: dict | None = None
    standardize: tuple | None = None

    @property
    def step_code(self) -> str:   # _spec refused a cell without one
        code = c_step(self.rnn.layer_class)
        if code is None:
            raise RuntimeError(f"C export: expected a cell with a C step (deploy/cells/), got {self.rnn.layer_class.__name__}")
        return code


def _standardize(standardize, s: _Spec):
    D = s.rnn.input_size
    mean, std = (numpy.asarray(a, dtype=numpy.float64) for a in standardize)
    if s.embed is not None or mean.shape != (D,) or std.shape != (D,) \
            or not (numpy.isfinite(mean).all() and numpy.isfinite(std).all() and (std > 0).all()):
        raise UserError(f"C export standardize: expected finite (mean, std > 0) of {D} values for a model with "
                        f"float inputs, got shapes {mean.shape} and {std.shape}")
    return mean, std


def _spec(model, prefix, int8, standardize=None) -> _Spec:
    embed, rnn, head = model_parts(model)                # a one-line UserError for any other model
    cls = rnn.layer_class
    if not c_step(cls):
        raise UserError(f"C export: expected a cell with a C mapping ({', '.join(c_cells())}), got {cls.name}")
    s = _Spec(check_prefix(prefix), model, embed, rnn, head, bool(int8))
    if standardize is not None:
        s.standardize = _standardize(standardize, s)
    parts = [layer.step_weights() for layer in rnn.layers] + [to_numpy(x.W) for x in (embed, head) if x is not None]
    if head is not None and head.b is not None:
        parts.append(to_numpy(head.b))
    if not all(numpy.isfinite(a).all() for a in parts):
        raise UserError("C export: expected finite weights, got NaN or Inf (a diverged training?)")
    if int8:
        s.quantized = quantize_stream(Stream(model))
    return s


# -- C text ----------------------------------------------------------------------------------------------------
def _num(v: float) -> str:
    return f"{v:.8e}f"


def c_array(ctype: str, name: str, values) -> list[str]:
    """A ``static const`` C array of ``values`` (float32 written to round-trip, doubles by ``repr``, integers)."""
    flat = numpy.asarray(values).reshape(-1)
    if ctype == "float":
        items = [_num(v) for v in flat.astype(numpy.float32).tolist()]
    else:
        items = [repr(float(v)) if ctype == "double" else str(v) for v in flat.tolist()]
    if not items:
        items = ["0"]
    body = [", ".join(items[i:i + _PER_LINE]) for i in range(0, len(items), _PER_LINE)]
    return [f"static const {ctype} {name}[{len(items)}] = {{", "    " + ",\n    ".join(body), "};"]


def _blocks(W, H: int) -> list[tuple[int, int]]:
    """Column ranges [a, b) of W covering its blocks of H columns that hold a nonzero value (runs merged)."""
    nz = [bool(numpy.any(W[:, k * H:(k + 1) * H])) for k in range(W.shape[1] // H)]
    runs, k = [], 0
    while k < len(nz):
        if nz[k]:
            start = k
            while k < len(nz) and nz[k]:
                k += 1
            runs.append((start * H, k * H))
        else:
            k += 1
    return runs


def _layer(s: _Spec, k: int, out: list, calls: list, src: str) -> int:
    """Append layer k's arrays to ``out`` and its step to ``calls``; returns its widest scratch need."""
    p, layer = s.prefix, s.rnn.layers[k]
    D, H = layer.input_size, layer.hidden_size
    W = numpy.array(layer.step_weights(), dtype=numpy.float64)
    N = W.shape[1]
    bias = W[D + H] if s.quantized is None else s.quantized["layers"][k]["b"]
    factors = layer.step_factors() if s.quantized is None and hasattr(layer, "step_factors") else []
    for part, a, b, _, _ in factors:              # low rank (float32): the two factors instead of their product
        W[slice(0, D) if part == "x" else slice(D, D + H), a:b] = 0.0
    out += c_array("float", f"{p}_b{k}", bias)
    calls.append(f"    for (j = 0; j < {N}; ++j) s->g[j] = {p}_b{k}[j];")
    widest = 0
    for part, rows, vec in (("x", slice(0, D), src), ("h", slice(D, D + H), f"s->h[{k}]")):
        for m, (a, b) in enumerate(_blocks(W[rows], H)):
            name, n_in = f"{p}_{part}{k}_{m}", rows.stop - rows.start
            if s.quantized is None:
                out += c_array("float", f"{name}_w", numpy.asarray(W[rows, a:b], dtype=numpy.float32))
                calls.append(f"    {p}_axpy(s->g + {a}, {name}_w, {vec}, {n_in}, {b - a});")
            else:
                q, scale = s.quantized["layers"][k][part]
                out += c_array("signed char", f"{name}_q", q[:, a:b]) + c_array("float", f"{name}_s", scale[a:b])
                calls.append(f"    {p}_axpy8(s->g + {a}, {name}_q, {name}_s, {vec}, {n_in}, {b - a}, s->acc);")
                widest = max(widest, b - a)
    for m, (part, a, b, A, B) in enumerate(factors):     # g += (v A) B, the middle in a local of r floats
        name, r = f"{p}_{part}{k}_f{m}", A.shape[1]
        out += c_array("float", f"{name}a", A.astype(numpy.float32)) + c_array("float", f"{name}b", B.astype(numpy.float32))
        calls += [f"    {{ float t[{r}] = {{0.0f}};",
                  f"      {p}_axpy(t, {name}a, {src if part == 'x' else f's->h[{k}]'}, {A.shape[0]}, {r});",
                  f"      {p}_axpy(s->g + {a}, {name}b, t, {r}, {b - a}); }}"]
    calls.append(f"    {p}_cell(s->g, s->h[{k}], {'s->c[%d]' % k if layer.has_cell else '0'});")
    return widest


def _cell(s: _Spec) -> list[str]:
    code = s.step_code.strip().splitlines()
    return [f"static void {s.prefix}_cell(float *g, float *h, float *c)", "{",
            f"    const int H = {s.rnn.hidden_size};", "    int j;", "    (void)H;", "    (void)c;",
            "    for (j = 0; j < H; ++j) {"] + ["        " + line for line in code] + ["    }", "}"]


def _head(s: _Spec, out: list, calls: list, y: str) -> None:
    """The head's arrays and its step (into ``y``), or the top layer's state copied out."""
    p, L, H = s.prefix, s.rnn.num_layers, s.rnn.hidden_size
    top = f"s->h[{L - 1}]"
    if s.head is None:
        calls.append(f"    for (j = 0; j < {H}; ++j) {y}[j] = {top}[j];")
        return
    n_out = s.head.out_features
    if s.quantized is None:
        W = numpy.asarray(to_numpy(s.head.W), dtype=numpy.float32).T
        b = numpy.zeros(n_out, numpy.float32) if s.head.b is None else to_numpy(s.head.b)
        out += c_array("float", f"{p}_head_w", W) + c_array("float", f"{p}_head_b", b)
        calls.append(f"    for (j = 0; j < {n_out}; ++j) {y}[j] = {p}_head_b[j];")
        calls.append(f"    {p}_axpy({y}, {p}_head_w, {top}, {H}, {n_out});")
    else:
        (q, scale), b = s.quantized["head"]["w"], s.quantized["head"]["b"]
        out += c_array("signed char", f"{p}_head_q", q) + c_array("float", f"{p}_head_s", scale)
        out += c_array("float", f"{p}_head_b", b)
        calls.append(f"    {p}_head8({y}, {p}_head_q, {p}_head_s, {p}_head_b, {top}, {H}, {n_out});")


def _entry(s: _Spec, out: list) -> tuple[list, list, str]:
    """(the step's first lines, its last lines, layer 0's input): a token id through the embedding, or float inputs
    (standardised first when the step has a ``standardize``)."""
    p, E = s.prefix, None
    if s.embed is not None:
        V, E = s.embed.W.shape
        first = [f"    if (token < 0 || token >= {V}) return -1;"]
        if s.quantized is None:
            out += c_array("float", f"{p}_embed", to_numpy(s.embed.W))
            return first, [], f"({p}_embed + (long)token * {E})"
        q, scale = s.quantized["embed"]
        out += c_array("signed char", f"{p}_embed_q", q) + c_array("float", f"{p}_embed_s", scale)
        first.append(f"    for (j = 0; j < {E}; ++j) s->x[j] = (float){p}_embed_q[(long)token * {E} + j] * "
                     f"{p}_embed_s[token];")
        return first, [], "s->x"
    D = s.rnn.input_size
    first = [f"    for (j = 0; j < {D}; ++j) if (!isfinite(x[j])) return -1;"]
    if s.standardize is None:
        return first, [], "x"
    out += c_array("double", f"{p}_in_mean", s.standardize[0]) + c_array("double", f"{p}_in_std", s.standardize[1])
    first.append(f"    for (j = 0; j < {D}; ++j) s->x[j] = (float)((x[j] - {p}_in_mean[j]) / {p}_in_std[j]);")
    return first, [], "s->x"


def describe(model, int8: bool = False) -> str:
    """One line: the model's type, cell and sizes, and the precision of its weights."""
    _, rnn, _ = model_parts(model)
    return (f"{type(model).__name__}, {str(rnn.name).upper()} {rnn.hidden_size} units x {rnn.num_layers}, "
            f"{'int8' if int8 else 'float32'} weights")


def _strings(s: _Spec, labels, origin) -> tuple[list[str], list[str]]:
    n_out = s.head.out_features if s.head is not None else None
    if labels is not None and (s.embed is not None or s.head is None or len(labels) != n_out):
        raise UserError(f"C export labels: expected one label per output of a classifier ({n_out}), got "
                        f"{len(labels)} for a {type(s.model).__name__}")
    for i, label in enumerate(labels or ()):
        if not isinstance(label, (str, int, float)):
            raise UserError(f"C export labels: expected text or numbers, got {type(label).__name__} (label {i})")
        if len(utf8(str(label))) > MAX_LITERAL:
            raise UserError(f"C export labels: expected labels of at most {MAX_LITERAL} bytes (UTF-8), got "
                            f"{len(utf8(str(label))):,} in label {i}")
    return strings_section(s.prefix, labels, origin)


def c_sources(model, *, prefix: str = "model", int8: bool = False, standardize=None,
              note: str = "", labels=None, origin: str = "") -> tuple[str, str]:
    """-> (header text, source text) of ``model`` (see the module docstring); ``standardize`` ``(mean, std)`` (one value per input)
    makes a step with float inputs standardise them first (a classifier's scaling). ``labels`` (a classifier's,
    one per output) and ``origin`` (where the model came from) become the string constants ``<prefix>_class_names``
    and ``<prefix>_origin``, escaped byte by byte (``deploy/c_text.py``); ``note`` heads both files as a comment,
    reduced to characters that cannot end it. Raises a one-line ``UserError`` for a model or cell the exporter does
    not support."""
    s = _spec(model, prefix, int8, standardize)
    p = s.prefix
    strings_h, strings_c = _strings(s, labels, origin)
    arrays: list[str] = []
    calls: list[str] = []
    first, last, src = _entry(s, arrays)
    widest = 0
    for k in range(s.rnn.num_layers):
        widest = max(widest, _layer(s, k, arrays, calls, src if k == 0 else f"s->h[{k - 1}]"))
    _head(s, arrays, calls, "y")
    N = max(layer.step_width or 0 for layer in s.rnn.layers) * s.rnn.hidden_size   # cells with a C step have a step_width
    note = c_comment(note or describe(model, int8))
    kernels = []
    if any(f"{p}_axpy(" in c for c in calls):
        kernels.append(KERNELS.format(p=p))
    if widest:
        kernels.append(KERNELS8.format(p=p))
    if any(f"{p}_head8(" in c for c in calls):
        kernels.append(HEAD8.format(p=p))
    if "fast_tanh(" in s.step_code:
        kernels.append(TANH.format(p=p))
    step = [signature(s), "{", "    int j;"] + first + calls + last + ["    return 0;", "}"]
    source = [f"/* {note}. Generated by gatedrnn: do not edit. */", "#include <math.h>", "",
              f'#include "{p}.h"', ""] + strings_c + [""] + arrays + [""] + kernels + _cell(s) + [""] + reset_lines(s) + \
        [""] + step + [""]
    return header_text(s, N, widest, note, strings_h), "\n".join(source)


def const_bytes(source: str) -> int:
    """Bytes of the ``static const`` arrays (the weights) in a generated source."""
    sizes = {"float": 4, "signed char": 1, "double": 8}
    found = re.findall(r"static const (float|signed char|double) \w+\[(\d+)\]", source)
    return sum(sizes[ctype] * int(n) for ctype, n in found)


def check_folder(folder) -> Path:
    """The output folder: refused when it is an existing file (one line)."""
    out = Path(folder)
    if out.exists() and not out.is_dir():
        raise UserError(f"--c {out}: expected a folder (for model.h and model.c), got a file")
    return out


def export_c(model, folder, *, prefix: str = "model", int8: bool = False, standardize=None,
             note: str = "", labels=None, origin: str = "") -> dict:
    """Write ``<prefix>.h`` and ``<prefix>.c`` into ``folder`` (created if needed): both texts are made first,
    then each file goes through a temporary name and a rename, so an error leaves nothing half-written.
    Returns ``{"header", "source"}`` (paths), ``"bytes"`` (both files) and ``"weight_bytes"`` (its arrays)."""
    out = check_folder(folder)
    header, source = c_sources(model, prefix=prefix, int8=int8, standardize=standardize, note=note,
                               labels=labels, origin=origin)
    return write_sources(out, prefix, header, source)


def write_sources(out: Path, prefix: str, header: str, source: str) -> dict:
    """Both texts into ``out/<prefix>.h`` and ``.c``, each through a temporary name and a rename; -> the dict
    ``export_c`` returns."""
    h_path, c_path = out / f"{prefix}.h", out / f"{prefix}.c"
    with atomic_file(h_path) as th, atomic_file(c_path) as tc:
        Path(th).write_text(header, encoding="utf-8")
        Path(tc).write_text(source, encoding="utf-8")
    return {"header": h_path, "source": c_path, "bytes": len(header.encode()) + len(source.encode()),
            "weight_bytes": const_bytes(source)}
