"""Embedding: token ids -> vectors, ``y[b, t] = W[ids[b, t]]``."""

from __future__ import annotations

import numpy

from gatedrnn.backend import resolve_dtype, xp
from gatedrnn.errors import UserError, check_ids
from gatedrnn.init import normal
from gatedrnn.layers.base import Layer


class Embedding(Layer):
    """A lookup table ``W`` of shape ``(num_embeddings, embedding_dim)`` (PyTorch's ``weight``).

    Initialised N(0, 1) like ``torch.nn.Embedding`` unless ``std`` is given. ``forward`` takes integer ids
    of any shape and returns ``ids.shape + (embedding_dim,)``; ``backward`` scatter-adds the output gradient
    into the rows that were read (a row read twice gets both contributions).
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, *, std: float = 1.0, dtype=None, seed=None):
        super().__init__()
        dtype = resolve_dtype(dtype)
        rng = numpy.random.default_rng(seed)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.W = self.add_param("weight", normal(rng, (num_embeddings, embedding_dim), std, dtype))
        self._ids = None

    def forward(self, ids):
        ids = xp.asarray(ids)
        check_ids("Embedding input", ids, self.num_embeddings)
        self._ids = ids
        return xp.take(self.W, ids, axis=0)

    def backward(self, dout):
        if self._ids is None:
            raise UserError("Embedding.backward: expected a forward call first, got none")
        ids = self._ids
        if tuple(dout.shape) != ids.shape + (self.embedding_dim,):
            raise UserError(f"Embedding.backward: expected dout shape {ids.shape + (self.embedding_dim,)}, got {tuple(dout.shape)}")
        scatter_add_rows(self.grads[0], ids.reshape(-1), dout.reshape(-1, self.embedding_dim).astype(self.W.dtype, copy=False))
        return None


def scatter_add_rows(G, ids, rows) -> None:
    """``G[ids[k]] += rows[k]`` for every k, repeated ids accumulating (what ``numpy.add.at`` does, faster).

    Wide rows go one by one (a row add costs less than ``add.at``'s per-element indexing); narrow rows are
    sorted by id and summed per id with ``add.reduceat``, one indexed add for all. Both add in token order.
    """
    if ids.size == 0:
        return
    if rows.shape[1] >= 128 and xp is numpy:
        for r, v in zip(ids.tolist(), rows):
            g = G[r]
            g += v
        return
    order = xp.argsort(ids, kind="stable")
    s = ids[order]
    starts = xp.flatnonzero(xp.concatenate((xp.ones(1, dtype=bool), s[1:] != s[:-1])))
    G[s[starts]] += xp.add.reduceat(rows[order], starts, axis=0)
