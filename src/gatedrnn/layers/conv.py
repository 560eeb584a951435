"""A causal depthwise 1-d convolution over time: each channel filtered by its own kernel of ``k`` taps, output
step t reading inputs t-k+1 .. t only (never a later one: a non-causal conv leaks the future into a language model
and gives a fake near-zero loss). PyTorch's ``nn.Conv1d(C, C, k, groups=C, padding=k-1)`` with the last k-1
outputs dropped, weight (C, 1, k)::

    y[b, t, c] = bias[c] + sum_j weight[c, 0, j] * xp[b, t + j, c],   xp = [buffer (k-1 steps); x]

``buffer`` holds the k-1 inputs before the first step (zeros when None): carried from the end of the previous
window it makes a sequence cut in pieces equal to the whole, and ``step`` runs one step at a time with only those
k-1 inputs kept (constant memory). Backward::

    dweight[c, j] = sum_{b,t} dy[b, t, c] xp[b, t + j, c],   dxp[b, t + j, c] += dy[b, t, c] weight[c, 0, j]

the first k-1 rows of dxp being the gradient of the buffer (``dbuffer``), the rest dx.
"""

from __future__ import annotations

import math

import numpy

from gatedrnn.backend import resolve_dtype, xp
from gatedrnn.errors import UserError, check_dim, check_float, check_int, check_rank, check_shape
from gatedrnn.init import uniform
from gatedrnn.layers.base import Layer


class CausalConv1d(Layer):
    """``CausalConv1d(channels, kernel_size=4)`` over batch-first ``(batch, time, channels)``; weights
    U(-1/sqrt(k), 1/sqrt(k)), PyTorch's default for a depthwise conv (fan-in k).

    ``forward(x, buffer=None) -> (y, buffer)``: ``buffer`` (batch, k-1, channels) the inputs before x, the
    returned one the last k-1 inputs of ``[buffer; x]``. ``backward(dy, dbuffer=None) -> dx``, the initial
    buffer's gradient left in ``self.dstate``. ``step(x_t, buffer) -> y_t``: one step, the buffer shifted in place.
    """

    def __init__(self, channels: int, kernel_size: int = 4, *, bias: bool = True, dtype=None, seed=None):
        super().__init__()
        check_int("CausalConv1d channels", channels)
        check_int("CausalConv1d kernel_size", kernel_size)
        dtype = resolve_dtype(dtype)
        rng = numpy.random.default_rng(seed)
        self.channels, self.k = channels, kernel_size
        bound = 1.0 / math.sqrt(kernel_size)
        self.weight = self.add_param("weight", uniform(rng, (channels, 1, kernel_size), bound, dtype))
        self.bias = self.add_param("bias", uniform(rng, (channels,), bound, dtype)) if bias else None
        self.cache = None
        self.dstate = None

    def zeros(self, batch: int):
        """An empty buffer (the k-1 inputs before a sequence: zeros)."""
        return xp.zeros((batch, self.k - 1, self.channels), dtype=self.weight.dtype)

    def _padded(self, x, buffer):
        check_rank("CausalConv1d input", x, 3, "(batch, time, channels)")
        check_float("CausalConv1d input", x)
        check_dim("CausalConv1d input", x, 2, self.channels, "channels")
        B = x.shape[0]
        if buffer is None:
            buffer = self.zeros(B)
        check_shape("CausalConv1d buffer", buffer, (B, self.k - 1, self.channels))
        return xp.concatenate([buffer.astype(self.weight.dtype, copy=False),
                               x.astype(self.weight.dtype, copy=False)], axis=1)

    def forward(self, x, buffer=None):
        xpad = self._padded(x, buffer)
        T, k = x.shape[1], self.k
        w = self.weight[:, 0, :]                       # (C, k)
        y = xpad[:, k - 1:] * w[:, k - 1]              # tap k-1 reads x_t itself
        for j in range(k - 1):
            y += xpad[:, j:j + T] * w[:, j]
        if self.bias is not None:
            y += self.bias
        self.cache = xpad
        return y, xpad[:, T:].copy()

    def backward(self, dy, dbuffer=None):
        if self.cache is None:
            raise UserError("CausalConv1d.backward: expected a forward call first, got none")
        xpad, self.cache = self.cache, None
        B, T = dy.shape[0], dy.shape[1]
        k = self.k
        check_shape("CausalConv1d.backward dy", dy, (B, T, self.channels))
        w = self.weight[:, 0, :]
        dxpad = xp.zeros_like(xpad)
        if dbuffer is not None:
            dxpad[:, T:] += dbuffer
        dy2 = dy.reshape(B * T, self.channels)
        for j in range(k):
            self.grads[0][:, 0, j] += (xpad[:, j:j + T].reshape(B * T, self.channels) * dy2).sum(axis=0)
            dxpad[:, j:j + T] += dy * w[:, j]
        if self.bias is not None:
            self.grads[1] += dy2.sum(axis=0)
        self.dstate = dxpad[:, :k - 1]
        return dxpad[:, k - 1:]

    def step(self, x, buffer, out=None):
        """One step: ``x`` (batch, channels) the input at t, ``buffer`` (batch, k-1, channels) the k-1 before it
        (shifted in place to end with ``x``) -> y_t (batch, channels), into ``out`` when given."""
        w = self.weight[:, 0, :]
        k = self.k
        out = xp.multiply(x, w[:, k - 1], out=out)
        for j in range(k - 1):
            out += buffer[:, j] * w[:, j]
        if self.bias is not None:
            out += self.bias
        if k > 1:
            buffer[:, :-1] = buffer[:, 1:]
            buffer[:, -1] = x
        return out
