"""Sequence regression: an RNN stack with a linear head on every step (many-to-many) or the last (many-to-one)."""

from __future__ import annotations

from typing import Any

import numpy

from gatedrnn.backend import resolve_dtype, xp
from gatedrnn.errors import UserError
from gatedrnn.layers import Linear, make_recurrent
from gatedrnn.models.base import Model


class SequenceRegressor(Model):
    """``x (batch, time, input_size) -> y``: ``(batch, time, output_size)``, or ``(batch, output_size)`` when
    ``many_to_one``. ``forward(x, state=None) -> (y, state)``; ``backward(dy)`` accumulates gradients."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int = 1, num_layers: int = 1, *,
                 cell: str = "lstm", many_to_one: bool = False, dropout: float = 0.0, forget_bias: float = 1.0,
                 dtype: Any = None, seed: int | None = None) -> None:
        super().__init__()
        dtype = resolve_dtype(dtype)
        rng = numpy.random.default_rng(seed)
        s1, s2 = rng.integers(2**63, size=2)
        self.config = dict(input_size=input_size, hidden_size=hidden_size, output_size=output_size,
                           num_layers=num_layers, cell=cell, many_to_one=many_to_one, dropout=dropout,
                           forget_bias=forget_bias)
        self.many_to_one = many_to_one
        self.rnn = make_recurrent(cell, input_size, hidden_size, num_layers, dropout=dropout, forget_bias=forget_bias,
                                  dtype=dtype, seed=s1)
        self.head = Linear(hidden_size, output_size, dtype=dtype, seed=s2)
        self.add_child("rnn.", self.rnn)
        self.add_child("head.", self.head)
        self.dstate: Any = None

    def forward(self, x: Any, state: Any = None) -> tuple[Any, Any]:
        if self.many_to_one and getattr(x, "ndim", None) == 3 and x.shape[1] == 0:   # (other bad input: the stack's)
            raise UserError(f"SequenceRegressor input: expected at least one time step (many_to_one reads the last), "
                            f"got 0 (shape {tuple(x.shape)})")
        y, state = self.rnn.forward(x, state)
        self._shape = y.shape
        return self.head.forward(y[:, -1] if self.many_to_one else y), state

    def backward(self, dy: Any, dstate: Any = None) -> Any:
        dh = self.head.backward(dy)
        if self.many_to_one:
            full = xp.zeros(self._shape, dtype=dh.dtype)
            full[:, -1] = dh
            dh = full
        dx = self.rnn.backward(dh, dstate)
        self.dstate = self.rnn.dstate
        return dx
