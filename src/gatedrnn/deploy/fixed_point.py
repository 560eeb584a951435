"""The integer arithmetic of the fixed-point (Q15) C export, in Python: the formats, the tanh table, the helpers a
cell's integer step uses (``Q15Ops``), and the rounding and saturation rules that the generated C
(``deploy/c99_fixed.py``) follows bit for bit.

Formats (a value v held as the integer round(v * 2**f), "f fractional bits"):

* ``X_FRAC`` = 12: a standardised input, int16 (Q3.12: |v| < 8);
* ``H_FRAC`` = 13: a hidden state, int16 (Q2.13: |v| < 4);
* ``G_FRAC`` = 16: a pre-activation, a bias, a cell's scalar, an output, int32 (Q15.16);
* Q15: what the tanh and the sigmoid give, in [-32767, 32767] and [0, 32767];
* weights: int16, one number of fractional bits per stored block (as many as the block's largest weight allows),
  so a product sum is shifted right by (weight bits + input bits - 16) into Q16.

Rules: a right shift rounds to nearest, ties up (``round_shift``: add half, then floor); floor is computed
without shifting a negative number in C (implementation-defined in C99). A value that leaves its type saturates at
the type's limit and is counted (``Q15Ops.saturated``; the C state's ``saturated``): nothing wraps. tanh is a
table of ``TABLE_SIZE + 1`` Q15 values on [0, 8] (step 1/16) with linear interpolation between them and odd
symmetry; at most 4e-4 from tanh. The sigmoid is (1 + tanh(v / 2)) / 2, as in the float step.
"""

from __future__ import annotations

import math

import numpy

from gatedrnn.errors import UserError
from gatedrnn.layers.fast_base import STATE_FRAC

X_FRAC, H_FRAC, G_FRAC = 12, STATE_FRAC, 16       # H_FRAC: the grid of quantisation-aware training's states too
TABLE_SHIFT = 12                                  # table step 2**-4 in Q16
TABLE_SIZE = 128                                  # entries past 0: [0, 8] in steps of 1/16
TABLE_TOP = TABLE_SIZE << TABLE_SHIFT             # 8.0 in Q16
INT16 = (-32768, 32767)
INT32 = (-2 ** 31, 2 ** 31 - 1)


def tanh_table() -> numpy.ndarray:
    """tanh(k / 16) in Q15 for k = 0..TABLE_SIZE (int64), at most 32767."""
    k = numpy.arange(TABLE_SIZE + 1, dtype=numpy.float64)
    return numpy.minimum(numpy.rint(numpy.tanh(k / 16.0) * 32768.0), 32767).astype(numpy.int64)


def round_shift(v, s):
    """``v / 2**s`` rounded to nearest, ties up (int64; ``s`` >= 0, a number or one per element)."""
    v = numpy.asarray(v, dtype=numpy.int64)
    s = numpy.asarray(s, dtype=numpy.int64)
    half = numpy.where(s > 0, numpy.left_shift(numpy.int64(1), numpy.maximum(s - 1, 0)), 0)
    return (v + half) >> s


class Q15Ops:
    """The helpers of a cell's ``q15_update`` (the twins of the C ``q_tanh``, ``q_sigmoid``, ``q_h``), counting
    saturations in ``saturated``."""

    def __init__(self):
        self.table = tanh_table()
        self.saturated = 0

    def tanh(self, v):
        """v in Q16 -> tanh(v) in Q15."""
        v = numpy.asarray(v, dtype=numpy.int64)
        a = numpy.minimum(numpy.abs(v), TABLE_TOP)
        i, f = a >> TABLE_SHIFT, a & ((1 << TABLE_SHIFT) - 1)
        t = self.table
        lo, hi = t[i], t[numpy.minimum(i + 1, TABLE_SIZE)]
        y = lo + (((hi - lo) * f + (1 << (TABLE_SHIFT - 1))) >> TABLE_SHIFT)
        return numpy.where(v < 0, -y, y)

    def sigmoid(self, v):
        """v in Q16 -> sigmoid(v) in Q15, (32768 + tanh(v / 2)) / 2."""
        return (32768 + self.tanh(numpy.asarray(v, dtype=numpy.int64) >> 1)) >> 1

    def clip(self, v, limits):
        """``v`` clamped to ``limits``, each clamped value counted."""
        v = numpy.asarray(v, dtype=numpy.int64)
        out = numpy.clip(v, *limits)
        self.saturated += int(numpy.count_nonzero(out != v))
        return out

    def h(self, v, s: int):
        """A new hidden state: ``v`` shifted right by ``s`` (rounded), saturated to int16."""
        return self.clip(round_shift(v, s), INT16)


def frac_bits(values, in_frac: int, what: str) -> int:
    """The fractional bits of an int16 block holding ``values`` (as many as its largest magnitude allows, at most
    40), at least ``G_FRAC - in_frac`` so that its products shift right into Q16."""
    top = float(numpy.max(numpy.abs(values), initial=0.0))
    if top == 0.0:
        return G_FRAC - in_frac
    f = min(40, math.floor(math.log2(32767.0 / top)))
    if f < G_FRAC - in_frac:
        limit = 32767.0 / 2 ** (G_FRAC - in_frac)
        raise UserError(f"fixed-point export {what}: expected weights of magnitude below {limit:.0f} (int16 with "
                        f"{G_FRAC - in_frac} fractional bits), got {top:.6g}")
    return f


def quantize_block(values, in_frac: int, what: str) -> tuple[numpy.ndarray, int]:
    """-> (int64 array of round(values * 2**f), the right shift f + in_frac - G_FRAC of its products into Q16)."""
    f = frac_bits(values, in_frac, what)
    q = numpy.rint(numpy.asarray(values, dtype=numpy.float64) * 2.0 ** f).astype(numpy.int64)
    return numpy.clip(q, -32767, 32767), f + in_frac - G_FRAC


def quantize_q16(values, what: str) -> numpy.ndarray:
    """Biases and scalars: round(values * 2**16) as int64, refused in one line when outside int32."""
    v = numpy.asarray(values, dtype=numpy.float64)
    if not numpy.isfinite(v).all() or float(numpy.max(numpy.abs(v), initial=0.0)) >= 32767.0:
        raise UserError(f"fixed-point export {what}: expected finite values of magnitude below 32767 (Q15.16), got "
                        f"{float(numpy.max(numpy.abs(v))):.6g}")
    return numpy.rint(v * 2.0 ** G_FRAC).astype(numpy.int64)


def raw_frac(mean, std) -> int:
    """The fractional bits of the raw int16 inputs of a step that standardises: as many as keep mean +- 8 std of
    every input inside int16, from -15 to 15."""
    top = float(numpy.max(numpy.abs(mean) + 8.0 * numpy.asarray(std)))
    return max(-15, min(15, math.floor(math.log2(32767.0 / top)))) if top > 0 else 15


def quantize_standardize(mean, std, rf: int) -> dict:
    """Integer standardisation of raw inputs with ``rf`` fractional bits into Q12: ``x = round_shift((raw -
    mean_q) * k, sk)``, ``k`` about 15 bits (``{"rf", "mean", "k", "sk"}``, int64 arrays)."""
    mean, std = numpy.asarray(mean, dtype=numpy.float64), numpy.asarray(std, dtype=numpy.float64)
    mean_q = numpy.rint(mean * 2.0 ** rf).astype(numpy.int64)
    ratio = 2.0 ** (X_FRAC - rf) / std
    sk = numpy.maximum(0, 14 - numpy.floor(numpy.log2(ratio))).astype(numpy.int64)
    k = numpy.rint(ratio * 2.0 ** sk.astype(numpy.float64)).astype(numpy.int64)
    if (k >= 2 ** 31).any() or (numpy.abs(mean_q) >= 2 ** 30).any():
        raise UserError(f"fixed-point export standardisation: expected each input's std above 2**-31 of its range, "
                        f"got std {float(std.min()):.3g} for raw inputs with {rf} fractional bits")
    return {"rf": rf, "mean": mean_q, "k": k, "sk": sk}
