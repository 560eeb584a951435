"""The residual feed-forward block of a pre-norm network (a Transformer's, and the min cells' blocks)::

    y = x + W2 act(W1 norm(x) + b1) + b2        W1 (m d, d), W2 (d, m d), m = ff_mult, act GELU (tanh) or SiLU

Backward: dx = dy + norm.backward(W1.backward(act.backward(W2.backward(dy)))), the residual path passing dy as is.
"""

from __future__ import annotations

import numpy

from gatedrnn.errors import check_choice, check_int
from gatedrnn.layers.base import Layer
from gatedrnn.layers.gelu import GELU
from gatedrnn.layers.linear import Linear
from gatedrnn.layers.norms import make_norm
from gatedrnn.layers.silu import SiLU

ACTIVATIONS = {"gelu": GELU, "silu": SiLU}


class FeedForward(Layer):
    """``FeedForward(d, ff_mult=4, norm="layer", activation="gelu")``: parameters ``norm.*``, ``fc1.*``, ``fc2.*``
    (``nn.Linear`` layouts); input (..., d) -> output of the same shape."""

    def __init__(self, d: int, ff_mult: int = 4, *, norm: str = "layer", activation: str = "gelu", dtype=None,
                 seed=None):
        super().__init__()
        check_int("FeedForward d", d)
        check_int("FeedForward ff_mult", ff_mult)
        rng = numpy.random.default_rng(seed)
        s1, s2 = rng.integers(2**63, size=2)
        self.norm = self.add_child("norm.", make_norm(norm, d, dtype=dtype))
        self.fc1 = self.add_child("fc1.", Linear(d, ff_mult * d, dtype=dtype, seed=s1))
        self.act = self.add_child("", ACTIVATIONS[check_choice("activation", activation, sorted(ACTIVATIONS))]())
        self.fc2 = self.add_child("fc2.", Linear(ff_mult * d, d, dtype=dtype, seed=s2))

    def forward(self, x):
        return x + self.fc2.forward(self.act.forward(self.fc1.forward(self.norm.forward(x))))

    def backward(self, dy):
        return dy + self.norm.backward(self.fc1.backward(self.act.backward(self.fc2.backward(dy))))
