"""SiLU (swish; Elfwing et al. 2018), PyTorch's ``nn.SiLU``: ``y = x sigmoid(x)``, dy/dx = s (1 + x (1 - s))."""

from __future__ import annotations

from gatedrnn.backend import sigmoid
from gatedrnn.errors import UserError, check_float
from gatedrnn.layers.base import Layer


class SiLU(Layer):
    """Elementwise, no parameters; any shape."""

    def __init__(self):
        super().__init__()
        self.cache = None

    def forward(self, x):
        check_float("SiLU input", x)
        s = sigmoid(x)
        self.cache = (x, s)
        return x * s

    def backward(self, dy):
        if self.cache is None:
            raise UserError("SiLU.backward: expected a forward call first, got none")
        x, s = self.cache
        return dy * (s * (1.0 + x * (1.0 - s)))
