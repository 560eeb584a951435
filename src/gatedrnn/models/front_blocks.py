"""One block of a front end's causal convolution (``models/front.py``), depthwise-separable as LSTM-FCN's
convolutional branch but causal so that it streams::

    u = proj(x)                 pointwise Linear: channel mixing (input width -> C channels)
    c = conv(u)                 layers.conv.CausalConv1d: C filters of k taps, each over its own channel
    n = norm(c)                 conv_norm "layer": LayerNorm over the C channels of each step (no state in time)
    y = SiLU(n) [+ x]           residual when asked and the widths agree (blocks after the first)

``norm="layer"`` normalises each step's C values by their own mean and spread: it needs no statistics of a batch
nor of the past, so the stream, the C step and the batch forward compute the same thing (batch normalisation
would need its batch statistics frozen into an affine to do that). ``backward`` goes through the layers' own
backward passes and returns the input's gradient, so that blocks stack. ``step`` is the one-sample form, the
conv's ``k - 1`` inputs kept in the caller's buffer.
"""

from __future__ import annotations

import math

import numpy

from gatedrnn.backend import sigmoid, to_numpy, xp
from gatedrnn.errors import check_choice
from gatedrnn.layers import Linear
from gatedrnn.layers.base import Layer
from gatedrnn.layers.conv import CausalConv1d
from gatedrnn.layers.layernorm import LayerNorm
from gatedrnn.layers.silu import SiLU

CONV_NORMS = ("none", "layer")


def _abs(a) -> numpy.ndarray:
    return numpy.abs(to_numpy(a).astype(numpy.float64))


class ConvBlock(Layer):
    """``ConvBlock(in_size, channels, kernel, norm="none", residual=False, seeds=(proj's, conv's))``; parameters ``proj.W``, ``proj.b``,
    ``conv.weight``, ``conv.bias`` (and ``norm.weight``, ``norm.bias``)."""

    def __init__(self, in_size: int, channels: int, kernel: int, *, norm: str = "none", residual: bool = False,
                 dtype=None, seeds=(None, None)):
        super().__init__()
        check_choice("conv_norm", norm, CONV_NORMS)
        s1, s2 = seeds
        self.in_size, self.channels = in_size, channels
        self.residual = bool(residual) and in_size == channels
        self.proj = self.add_child("proj.", Linear(in_size, channels, dtype=dtype, seed=s1))
        self.conv = self.add_child("conv.", CausalConv1d(channels, kernel, dtype=dtype, seed=s2))
        self.norm = self.add_child("norm.", LayerNorm(channels, dtype=dtype)) if norm == "layer" else None
        self.act = SiLU()

    def forward(self, x):
        y = self.conv.forward(self.proj.forward(x))[0]
        if self.norm is not None:
            y = self.norm.forward(y)
        y = self.act.forward(y)
        return y + x if self.residual else y

    def backward(self, dy):
        d = self.act.backward(dy)
        if self.norm is not None:
            d = self.norm.backward(d)
        dx = self.proj.backward(self.conv.backward(d))
        return dx + dy if self.residual else dx

    def step(self, v, buffer, out):
        """One sample ``v`` (batch, in_size) -> ``out`` (batch, channels); ``buffer`` the conv's, shifted in place."""
        u = v @ self.proj.W.T
        if self.proj.b is not None:
            u += self.proj.b
        self.conv.step(u, buffer, out=out)
        if self.norm is not None:
            n = self.norm
            c = out - out.mean(axis=-1, keepdims=True)
            out[...] = c / xp.sqrt((c * c).mean(axis=-1, keepdims=True) + n.eps) * n.weight + n.bias
        out *= sigmoid(out)
        if self.residual:
            out += v
        return out

    def bound(self, x: float) -> tuple[float, float]:
        """For inputs of at most ``x`` in size -> (a bound on the outputs' size, one on every value inside)."""
        P, bp = _abs(self.proj.W), (0.0 if self.proj.b is None else _abs(self.proj.b))
        u = P.sum(axis=1) * x + bp
        taps = _abs(self.conv.weight).sum(axis=(1, 2))
        c = taps * u + (0.0 if self.conv.bias is None else _abs(self.conv.bias))
        inside = float(max(u.max(), c.max()))
        y = float(c.max())
        if self.norm is not None:       # |(c - mean) / sd| <= sqrt(C - 1) whatever c is; squares of c summed first
            inside = max(inside, inside * inside * self.channels)
            y = math.sqrt(self.channels - 1) * float(_abs(self.norm.weight).max()) + float(_abs(self.norm.bias).max())
        return y + (x if self.residual else 0.0), inside
