"""LayerNorm over the last axis (Ba, Kiros & Hinton 2016), PyTorch's ``nn.LayerNorm(d)``::

    mu = mean(x),  var = mean((x - mu)^2),  r = 1 / sqrt(var + eps),  xh = (x - mu) r,  y = xh * weight + bias

Backward, with dxh = dy * weight and means over the last axis::

    dx = r (dxh - mean(dxh) - xh mean(dxh xh)),   dweight = sum dy xh,   dbias = sum dy
"""

from __future__ import annotations

from gatedrnn.backend import resolve_dtype, xp
from gatedrnn.errors import UserError, check_dim, check_float, check_positive
from gatedrnn.layers.base import Layer


class LayerNorm(Layer):
    """``LayerNorm(d, eps=1e-5)``: ``weight`` starts at 1 and ``bias`` at 0; input of any leading shape."""

    def __init__(self, d: int, eps: float = 1e-5, *, dtype=None):
        super().__init__()
        dtype = resolve_dtype(dtype)
        self.d, self.eps = d, float(check_positive("LayerNorm eps", eps))
        self.weight = self.add_param("weight", xp.ones((d,), dtype=dtype))
        self.bias = self.add_param("bias", xp.zeros((d,), dtype=dtype))
        self.cache = None

    def forward(self, x):
        check_float("LayerNorm input", x)
        check_dim("LayerNorm input", x, -1, self.d, "d")
        x = x.astype(self.weight.dtype, copy=False)
        xh = x - x.mean(axis=-1, keepdims=True)
        r = 1.0 / xp.sqrt((xh * xh).mean(axis=-1, keepdims=True) + self.eps)
        xh *= r
        self.cache = (xh, r)
        return xh * self.weight + self.bias

    def backward(self, dy):
        if self.cache is None:
            raise UserError("LayerNorm.backward: expected a forward call first, got none")
        xh, r = self.cache
        lead = tuple(range(dy.ndim - 1))
        self.grads[0] += (dy * xh).sum(axis=lead)
        self.grads[1] += dy.sum(axis=lead)
        dxh = dy * self.weight
        dx = dxh - dxh.mean(axis=-1, keepdims=True)
        dx -= xh * (dxh * xh).mean(axis=-1, keepdims=True)
        dx *= r
        return dx
