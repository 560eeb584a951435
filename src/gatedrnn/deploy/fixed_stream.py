"""A model in fixed point, and its Python reference step: what the fixed-point C export (``deploy/c99_fixed.py``)
writes and computes, in NumPy int64, bit for bit (formats and rules: ``deploy/fixed_point.py``).

``fixed_model(model, standardize=None)`` quantises a model whose cell has an integer step (its ``Q15_STEP`` and its twin
``q15_update`` in ``deploy/cells/``; ``fixed_cells()``) and whose inputs are floats: a ``SequenceClassifier``
(pooling "last"), a ``SequenceRegressor`` or a bare recurrent stack. Each layer's fused step matrix
``[W_ih; W_hh; b]`` (``layer.step_weights()``) becomes a Q16 bias row and, for each run of column blocks of H that
holds a weight, an int16 block of its input rows and one of its recurrent rows, each with its own fractional bits;
the head likewise. A low-rank matrix (``layer.step_factors()``: W = A B) stays two int16 factors: the step computes
t = v A into Q16 (int32, saturated) and adds t B, so it stores and multiplies r (rows + H) weights, not rows H.
Without ``standardize`` a step takes the standardised input in Q12; with ``standardize=(mean, std)`` (a
``Classifier``'s scaling) it takes raw int16 samples with ``rf`` fractional bits (``raw_frac``, or
given) and standardises them inside. Outputs are int32 in Q16 (the class logits, the regression, or a stack's top
hidden state).

``FixedStream(fm)``: ``reset()``, ``step(x) -> y``, ``run(xs) -> ys`` (int64) and ``saturated`` (values clamped
since the reset, as the C state counts them). ``fm.encode(xs)`` turns float inputs (raw ones when the model
standardises) into the int16 inputs of a step, rounding and clamping.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy

from gatedrnn.backend import to_numpy
from gatedrnn.deploy import fixed_point as fp
from gatedrnn.deploy.c99 import _blocks
from gatedrnn.deploy.cells import fixed_cells, q15_step, q15_update
from gatedrnn.errors import UserError
from gatedrnn.models.stream import model_parts


@dataclass
class FixedLayer:
    """One layer: the cell's class, sizes, the Q16 bias row and the int16 blocks ``(part, a, b, q, shift)``,
    ``part`` "x" (input rows) or "h" (recurrent rows), ``q`` (rows, b - a) feeding columns [a, b)."""
    cls: type
    input_size: int
    hidden_size: int
    bias: numpy.ndarray
    blocks: list = field(default_factory=list)
    factors: list = field(default_factory=list)    # (part, a, b, q1, shift1, q2, shift2): (v q1) q2 into [a, b)


@dataclass
class FixedModel:
    """A model in integers (see the module docstring)."""
    kind: str
    layers: list
    head: tuple | None                 # (q (hidden, outputs), shift, bias Q16) or None
    standardize: dict | None
    input_size: int
    output_size: int
    description: str

    @property
    def width(self) -> int:
        """Columns of the pre-activation scratch (the widest layer's)."""
        return max(len(layer.bias) for layer in self.layers)

    @property
    def rank(self) -> int:
        """Entries of the low-rank products' scratch (the largest rank; 0 without factors)."""
        return max((f[3].shape[1] for layer in self.layers for f in layer.factors), default=0)

    def encode(self, xs) -> numpy.ndarray:
        """Float inputs (raw ones for a model that standardises) -> the int16 inputs of a step (int64)."""
        bits = self.standardize["rf"] if self.standardize is not None else fp.X_FRAC
        q = numpy.rint(numpy.asarray(xs, dtype=numpy.float64) * 2.0 ** bits)
        return numpy.clip(q, *fp.INT16).astype(numpy.int64)


def _layer(layer, in_frac: int, k: int) -> FixedLayer:
    D, H = layer.input_size, layer.hidden_size
    W = numpy.asarray(layer.step_weights(), dtype=numpy.float64)
    if not numpy.isfinite(W).all():
        raise UserError("fixed-point export: expected finite weights, got NaN or Inf (a diverged training?)")
    out = FixedLayer(type(layer), D, H, fp.quantize_q16(W[D + H], f"layer {k} biases and scalars"))
    rows = {"x": slice(0, D), "h": slice(D, D + H)}
    factors = layer.step_factors() if hasattr(layer, "step_factors") else []
    for part, a, b, _, _ in factors:              # a low-rank matrix: its two factors instead of its product
        W[rows[part], a:b] = 0.0
    for part, frac in (("x", in_frac), ("h", fp.H_FRAC)):
        what = f"layer {k} {'input' if part == 'x' else 'recurrent'} weights"
        for a, b in _blocks(W[rows[part]], H):
            q, shift = fp.quantize_block(W[rows[part], a:b], frac, what)
            out.blocks.append((part, a, b, q, shift))
    for part, a, b, A, B in factors:
        frac = in_frac if part == "x" else fp.H_FRAC
        what = f"layer {k} {'input' if part == 'x' else 'recurrent'} low-rank factor"
        q1, s1 = fp.quantize_block(A, frac, f"{what} 1")               # (x A) into Q16, int32
        q2, s2 = fp.quantize_block(B, fp.G_FRAC, f"{what} 2")          # then times B into Q16
        out.factors.append((part, a, b, q1, s1, q2, s2))
    return out


def fixed_model(model, standardize=None, rf: int | None = None) -> FixedModel:
    """Quantise ``model`` (see the module docstring); a model or cell without an integer step is one line."""
    embed, rnn, head = model_parts(model)
    cls = rnn.layer_class
    if embed is not None:
        raise UserError(f"--fixed q15: expected a model with float inputs (a classifier, a regressor or a stack), got "
                        f"a {type(model).__name__} (token ids in)")
    if not q15_step(cls):
        raise UserError(f"--fixed q15: expected a cell with an integer kernel ({', '.join(fixed_cells())}), got "
                        f"{cls.name}")
    layers = [_layer(layer, fp.X_FRAC if k == 0 else fp.H_FRAC, k) for k, layer in enumerate(rnn.layers)]
    qhead, n_out = None, rnn.hidden_size
    if head is not None:
        W = numpy.asarray(to_numpy(head.W), dtype=numpy.float64).T            # (hidden, outputs)
        b = numpy.zeros(W.shape[1]) if head.b is None else numpy.asarray(to_numpy(head.b), dtype=numpy.float64)
        if not (numpy.isfinite(W).all() and numpy.isfinite(b).all()):
            raise UserError("fixed-point export: expected finite weights, got NaN or Inf (a diverged training?)")
        q, shift = fp.quantize_block(W, fp.H_FRAC, "head weights")
        qhead, n_out = (q, shift, fp.quantize_q16(b, "head biases")), W.shape[1]
    std = None
    if standardize is not None:
        mean, sd = (numpy.asarray(a, dtype=numpy.float64) for a in standardize)
        D = rnn.input_size
        if mean.shape != (D,) or sd.shape != (D,) or not (numpy.isfinite(mean).all() and numpy.isfinite(sd).all()
                                                           and (sd > 0).all()):
            raise UserError(f"fixed-point export standardize: expected finite (mean, std > 0) of {D} values, got "
                            f"shapes {mean.shape} and {sd.shape}")
        std = fp.quantize_standardize(mean, sd, fp.raw_frac(mean, sd) if rf is None else int(rf))
    kind = "classifier" if hasattr(model, "pooling") else ("regressor" if head is not None else "stack")
    what = (f"{type(model).__name__}, {str(rnn.name).upper()} {rnn.hidden_size} units x {rnn.num_layers}, "
            f"Q15 fixed point (int16 weights and states)")
    return FixedModel(kind, layers, qhead, std, rnn.input_size, n_out, what)


class FixedStream:
    """The Python reference of the fixed-point C step (see the module docstring)."""

    def __init__(self, fm: FixedModel):
        self.fm = fm
        self.ops = fp.Q15Ops()
        self.reset()

    @property
    def saturated(self) -> int:
        return self.ops.saturated

    def reset(self) -> None:
        self.h = [numpy.zeros(layer.hidden_size, dtype=numpy.int64) for layer in self.fm.layers]
        self.ops.saturated = 0

    def _inputs(self, x) -> numpy.ndarray:
        x = numpy.asarray(x, dtype=numpy.int64).reshape(self.fm.input_size)
        st = self.fm.standardize
        if st is None:
            return x
        return self.ops.clip(fp.round_shift((x - st["mean"]) * st["k"], st["sk"]), fp.INT16)

    def step(self, x) -> numpy.ndarray:
        """One int16 input vector -> the int32 outputs in Q16 (int64 array)."""
        src, ops = self._inputs(x), self.ops
        for k, layer in enumerate(self.fm.layers):
            g = layer.bias.copy()
            for part, a, b, q, shift in layer.blocks:
                v = src if part == "x" else self.h[k]
                g[a:b] = ops.clip(g[a:b] + fp.round_shift(v @ q, shift), fp.INT32)
            for part, a, b, q1, s1, q2, s2 in layer.factors:      # low rank: two products, the middle in int32
                t = ops.clip(fp.round_shift((src if part == "x" else self.h[k]) @ q1, s1), fp.INT32)
                g[a:b] = ops.clip(g[a:b] + fp.round_shift(t @ q2, s2), fp.INT32)
            self.h[k] = q15_update(layer.cls)(g, self.h[k], fp.H_FRAC, ops)
            src = self.h[k]
        if self.fm.head is None:
            return src * (1 << (fp.G_FRAC - fp.H_FRAC))
        q, shift, b = self.fm.head
        return ops.clip(b + fp.round_shift(src @ q, shift), fp.INT32)

    def run(self, xs) -> numpy.ndarray:
        """Step through ``xs`` (steps, input_size) int16 values -> (steps, outputs) int64."""
        xs = numpy.asarray(xs, dtype=numpy.int64).reshape(-1, self.fm.input_size)
        return numpy.stack([self.step(x) for x in xs]) if len(xs) else numpy.zeros((0, self.fm.output_size),
                                                                                      numpy.int64)
