"""RMSNorm over the last axis (Zhang & Sennrich 2019), PyTorch's ``nn.RMSNorm(d, eps)``::

    r = 1 / sqrt(mean(x^2) + eps),   xh = x r,   y = xh * weight

Backward, with dxh = dy * weight and means over the last axis::

    dx = r (dxh - xh mean(dxh xh)),   dweight = sum dy xh
"""

from __future__ import annotations

from gatedrnn.backend import resolve_dtype, xp
from gatedrnn.errors import UserError, check_dim, check_float, check_positive
from gatedrnn.layers.base import Layer


class RMSNorm(Layer):
    """``RMSNorm(d, eps=1e-6)``: a ``weight`` that starts at 1, no bias, no centring; input of any leading shape."""

    def __init__(self, d: int, eps: float = 1e-6, *, dtype=None):
        super().__init__()
        dtype = resolve_dtype(dtype)
        self.d, self.eps = d, float(check_positive("RMSNorm eps", eps))
        self.weight = self.add_param("weight", xp.ones((d,), dtype=dtype))
        self.cache = None

    def forward(self, x):
        check_float("RMSNorm input", x)
        check_dim("RMSNorm input", x, -1, self.d, "d")
        x = x.astype(self.weight.dtype, copy=False)
        r = 1.0 / xp.sqrt((x * x).mean(axis=-1, keepdims=True) + self.eps)
        xh = x * r
        self.cache = (xh, r)
        return xh * self.weight

    def backward(self, dy):
        if self.cache is None:
            raise UserError("RMSNorm.backward: expected a forward call first, got none")
        xh, r = self.cache
        self.grads[0] += (dy * xh).sum(axis=tuple(range(dy.ndim - 1)))
        dxh = dy * self.weight
        dx = dxh - xh * (dxh * xh).mean(axis=-1, keepdims=True)
        dx *= r
        return dx
