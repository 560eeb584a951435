"""GELU in its tanh form (Hendrycks & Gimpel 2016), PyTorch's ``nn.GELU(approximate="tanh")``::

    u = c (x + 0.044715 x^3),  c = sqrt(2 / pi),   y = x (1 + tanh u) / 2
    dy/dx = (1 + t) / 2 + x (1 - t^2) c (1 + 3 * 0.044715 x^2) / 2,   t = tanh u
"""

from __future__ import annotations

import math

from gatedrnn.backend import xp
from gatedrnn.errors import UserError, check_float
from gatedrnn.layers.base import Layer

C = math.sqrt(2.0 / math.pi)
K = 0.044715


class GELU(Layer):
    """Elementwise, no parameters; any shape."""

    def __init__(self):
        super().__init__()
        self.cache = None

    def forward(self, x):
        check_float("GELU input", x)
        t = x * x                                # in place from here: few passes over a wide activation
        t *= K
        t += 1.0
        t *= x
        t *= C
        xp.tanh(t, out=t)
        self.cache = (x, t)
        y = t + 1.0
        y *= x
        y *= 0.5
        return y

    def backward(self, dy):
        if self.cache is None:
            raise UserError("GELU.backward: expected a forward call first, got none")
        x, t = self.cache
        s = t * t                                # slope = (1 + t) / 2 + x (1 - t^2) C (1 + 3 K x^2) / 2
        xp.subtract(1.0, s, out=s)
        s *= x
        s *= C
        q = x * x
        q *= 3.0 * K
        q += 1.0
        s *= q
        s += t
        s += 1.0
        s *= 0.5
        s *= dy
        return s
