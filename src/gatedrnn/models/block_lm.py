"""A language model of min-cell blocks: Embedding -> ``MinBlockStack`` (pre-norm residual blocks of causal conv,
minGRU/minLSTM and feed-forward, then a norm) -> Linear over the vocabulary."""

from __future__ import annotations

from typing import Any

import numpy

from gatedrnn.backend import resolve_dtype
from gatedrnn.layers import Embedding, Linear
from gatedrnn.models.base import Model
from gatedrnn.models.block import MinBlockStack


class BlockLM(Model):
    """``BlockLM(vocab_size, d_model=128, num_layers=3, *, cell="mingru", expansion=2.0, conv_kernel=4, ff_mult=4,
    norm="layer", forget_bias=1.0, tie_weights=False, dtype=float32, seed=None)``.

    ``forward(ids, state=None) -> (logits, state)`` with ids (batch, time), logits (batch, time, vocab) and the
    state ``(h, buffer)`` of the stack (each block's hidden vector and its conv's last k-1 inputs): carried across
    windows in training, and one token at a time in ``generate`` and ``BlockStream`` (constant memory).
    ``backward(dlogits, dstate=None)``. Embedding N(0, 1) (``nn.Embedding``'s), every Linear ``nn.Linear``'s."""

    def __init__(self, vocab_size: int, d_model: int = 128, num_layers: int = 3, *, cell: str = "mingru",
                 expansion: float = 2.0, conv_kernel: int = 4, ff_mult: int = 4, norm: str = "layer",
                 forget_bias: float = 1.0, tie_weights: bool = False, dtype: Any = None,
                 seed: int | None = None) -> None:
        super().__init__()
        dtype = resolve_dtype(dtype)
        s = numpy.random.default_rng(seed).integers(2**63, size=3)
        self.config = dict(vocab_size=vocab_size, d_model=d_model, num_layers=num_layers, cell=cell,
                           expansion=float(expansion), conv_kernel=conv_kernel, ff_mult=ff_mult, norm=norm,
                           forget_bias=forget_bias, tie_weights=tie_weights)
        self.embed = self.add_child("embed.", Embedding(vocab_size, d_model, dtype=dtype, seed=s[0]))
        self.blocks = self.add_child("", MinBlockStack(d_model, num_layers, cell=cell, expansion=expansion,
                                                       conv_kernel=conv_kernel, ff_mult=ff_mult, norm=norm,
                                                       forget_bias=forget_bias, dtype=dtype, seed=s[1]))
        tied = dict(weight=self.embed.W, weight_grad=self.embed.grads[0]) if tie_weights else {}
        self.out = self.add_child("out.", Linear(d_model, vocab_size, dtype=dtype, seed=s[2], **tied))
        self.dstate = None

    @property
    def vocab_size(self) -> int:
        return self.embed.num_embeddings

    def forward(self, ids: Any, state: Any = None) -> tuple[Any, Any]:
        y, state = self.blocks.forward(self.embed.forward(ids), state)
        return self.out.forward(y), state

    def backward(self, dlogits: Any, dstate: Any = None) -> None:
        dx = self.blocks.backward(self.out.backward(dlogits), dstate)
        self.dstate = self.blocks.dstate
        self.embed.backward(dx)
        return None

    def make_stream(self, batch: int = 1, **kwargs):
        """``Stream(block_lm)`` lands here: a ``BlockStream`` (one token at a time, constant memory)."""
        from gatedrnn.models.block_stream import BlockStream

        return BlockStream(self, batch, **kwargs)
