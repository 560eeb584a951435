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
        t = xp.tanh(C * (x + K * x * x * x))
        self.cache = (x, t)
        return 0.5 * x * (1.0 + t)

    def backward(self, dy):
        if self.cache is None:
            raise UserError("GELU.backward: expected a forward call first, got none")
        x, t = self.cache
        slope = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * C * (1.0 + 3.0 * K * x * x)
        return dy * slope
