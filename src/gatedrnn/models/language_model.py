"""Word- or character-level language model: Embedding -> Dropout -> RNN stack -> Dropout -> Linear."""

from __future__ import annotations

from typing import Any

import numpy

from gatedrnn.backend import resolve_dtype
from gatedrnn.errors import UserError
from gatedrnn.init import uniform
from gatedrnn.layers import Dropout, Embedding, Linear, make_recurrent
from gatedrnn.models.base import Model


class LanguageModel(Model):
    """The book's Rnnlm (``num_layers=1``, no dropout) and BetterRnnlm (``num_layers=2``, dropout, tied weights).

    ``forward(ids, state=None) -> (logits, state)`` with ids ``(batch, time)`` and logits ``(batch, time, vocab)``;
    ``backward(dlogits)`` accumulates every gradient and leaves the initial-state gradient in ``self.dstate``.
    With ``tie_weights`` the output layer reuses the embedding matrix (Press & Wolf 2017; Inan et al. 2017),
    which needs ``embed_size == hidden_size``. Embedding and output weights start U(-0.1, 0.1) and the output
    bias at 0, as in Zaremba et al. (2014), whose recipe (lr 20, clip 0.25) the book's presets follow.
    """

    def __init__(self, vocab_size: int, embed_size: int = 100, hidden_size: int = 100, num_layers: int = 1, *,
                 cell: str = "lstm", dropout: float = 0.0, tie_weights: bool = False, forget_bias: float = 1.0,
                 dtype: Any = None, seed: int | None = None) -> None:
        super().__init__()
        dtype = resolve_dtype(dtype)
        if tie_weights and embed_size != hidden_size:
            raise UserError(f"tie_weights: expected embed_size == hidden_size, got {embed_size} and {hidden_size}")
        rng = numpy.random.default_rng(seed)
        seeds = rng.integers(2**63, size=5)
        self.config = dict(vocab_size=vocab_size, embed_size=embed_size, hidden_size=hidden_size,
                           num_layers=num_layers, cell=cell, dropout=dropout, tie_weights=tie_weights,
                           forget_bias=forget_bias)
        self.embed = Embedding(vocab_size, embed_size, dtype=dtype, seed=seeds[0])
        self.embed.W[...] = uniform(rng, self.embed.W.shape, 0.1, dtype)
        self.drop_in = Dropout(dropout, seed=seeds[1])
        self.rnn = make_recurrent(cell, embed_size, hidden_size, num_layers, dropout=dropout,
                                  forget_bias=forget_bias, dtype=dtype, seed=seeds[2])
        self.drop_out = Dropout(dropout, seed=seeds[3])
        if tie_weights:
            self.out = Linear(hidden_size, vocab_size, weight=self.embed.W, weight_grad=self.embed.grads[0],
                              dtype=dtype, seed=seeds[4])
        else:
            self.out = Linear(hidden_size, vocab_size, dtype=dtype, seed=seeds[4])
            self.out.W[...] = uniform(rng, self.out.W.shape, 0.1, dtype)
        if self.out.b is not None:   # always: the output layer has a bias (the check is for the type checker)
            self.out.b[...] = 0
        self.add_child("embed.", self.embed)
        self.add_child("", self.drop_in)
        self.add_child("rnn.", self.rnn)
        self.add_child("", self.drop_out)
        self.add_child("out.", self.out)
        self.dstate = None

    @property
    def vocab_size(self) -> int:
        return self.embed.num_embeddings

    def forward(self, ids: Any, state: Any = None) -> tuple[Any, Any]:
        x = self.drop_in.forward(self.embed.forward(ids))
        y, state = self.rnn.forward(x, state)
        return self.out.forward(self.drop_out.forward(y)), state

    def backward(self, dlogits: Any, dstate: Any = None) -> None:
        dy = self.drop_out.backward(self.out.backward(dlogits))
        dx = self.rnn.backward(dy, dstate)
        self.dstate = self.rnn.dstate
        self.embed.backward(self.drop_in.backward(dx))
        return None
