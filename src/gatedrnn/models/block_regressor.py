"""Sequence regression or tagging on min-cell blocks: Linear(input -> d_model) -> ``MinBlockStack`` -> Linear head
on every step. Numeric inputs (one-hot symbols in the lab's tasks), so that it is a drop-in for
``SequenceRegressor`` wherever that one's many-to-many form is used."""

from __future__ import annotations

from typing import Any

import numpy

from gatedrnn.backend import resolve_dtype
from gatedrnn.layers import Linear
from gatedrnn.models.base import Model
from gatedrnn.models.block import MinBlockStack


class BlockRegressor(Model):
    """``BlockRegressor(input_size, d_model=64, output_size=1, num_layers=3, *, cell="mingru", expansion=2.0,
    conv_kernel=4, ff_mult=4, norm="layer", forget_bias=1.0, dtype=float32, seed=None)``: ``forward(x, state=None)
    -> (y (batch, time, output_size), state)``, ``backward(dy, dstate=None) -> dx``."""

    def __init__(self, input_size: int, d_model: int = 64, output_size: int = 1, num_layers: int = 3, *,
                 cell: str = "mingru", expansion: float = 2.0, conv_kernel: int = 4, ff_mult: int = 4,
                 norm: str = "layer", forget_bias: float = 1.0, dtype: Any = None, seed: int | None = None) -> None:
        super().__init__()
        dtype = resolve_dtype(dtype)
        s = numpy.random.default_rng(seed).integers(2**63, size=3)
        self.config = dict(input_size=input_size, d_model=d_model, output_size=output_size, num_layers=num_layers,
                           cell=cell, expansion=float(expansion), conv_kernel=conv_kernel, ff_mult=ff_mult,
                           norm=norm, forget_bias=forget_bias)
        self.inp = self.add_child("inp.", Linear(input_size, d_model, dtype=dtype, seed=s[0]))
        self.blocks = self.add_child("", MinBlockStack(d_model, num_layers, cell=cell, expansion=expansion,
                                                       conv_kernel=conv_kernel, ff_mult=ff_mult, norm=norm,
                                                       forget_bias=forget_bias, dtype=dtype, seed=s[1]))
        self.head = self.add_child("head.", Linear(d_model, output_size, dtype=dtype, seed=s[2]))
        self.dstate: Any = None

    def forward(self, x: Any, state: Any = None) -> tuple[Any, Any]:
        y, state = self.blocks.forward(self.inp.forward(x), state)
        return self.head.forward(y), state

    def backward(self, dy: Any, dstate: Any = None) -> Any:
        dx = self.blocks.backward(self.head.backward(dy), dstate)
        self.dstate = self.blocks.dstate
        return self.inp.backward(dx)
