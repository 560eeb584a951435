"""Sequence classification: a recurrent stack read to one vector per sequence (its last valid state, the mean of
its valid steps or their element-wise max), a linear layer to class logits; trained with softmax cross-entropy.

Sequences of different lengths travel padded, as ``Padded(x, lengths)``: ``x`` (batch, time, input_size) and the
integer ``lengths`` (batch,). The Trainer passes a batch's ``x`` to ``model.forward(x, state)`` as it is, so a batch
``(Padded(x, lengths), targets)`` trains with no change to the loop; ``Padded`` slices by rows like an array, which
is what splitting a batch over MPI ranks needs. A plain array is a batch of full-length sequences.
"""

from __future__ import annotations

from typing import Any

import numpy

from gatedrnn.backend import resolve_dtype, to_numpy, xp
from gatedrnn.errors import UserError, check_choice, check_int
from gatedrnn.layers import Dropout, Linear, make_recurrent
from gatedrnn.models.base import Model
from gatedrnn.models.front import FrontEnd, block_options, check_blocks, uses_front

POOLINGS = ("last", "mean", "max")


class Padded:
    """A batch of sequences padded to one length: ``x`` (batch, time, input_size) and ``lengths`` (batch,)."""

    __slots__ = ("x", "lengths")

    def __init__(self, x, lengths):
        self.x, self.lengths = x, lengths

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, rows) -> "Padded":
        return Padded(self.x[rows], self.lengths[rows])

    def __repr__(self) -> str:
        return f"Padded(x of shape {tuple(self.x.shape)}, lengths {to_numpy(self.lengths).tolist()})"


class SequenceClassifier(Model):
    """``x -> logits (batch, num_classes)``; ``x`` a ``Padded`` batch or an array (batch, time, input_size).

    ``forward(x, state=None) -> (logits, state)``; ``backward(dlogits)`` accumulates every gradient. ``pooling``:
    ``"last"`` reads the top layer's output at each sequence's last valid step (its final state), ``"mean"`` the
    mean of its outputs over the valid steps, ``"max"`` their element-wise max over the valid steps (the gradient of
    each unit goes to its argmax step, the first one on a tie). ``dropout`` applies between recurrent layers and to the pooled
    vector in training mode.
    """

    def __init__(self, input_size: int, hidden_size: int, num_classes: int, num_layers: int = 1, *,
                 cell: str = "lstm", pooling: str = "last", dropout: float = 0.0, forget_bias: float = 1.0,
                 frame: int = 1, conv: int = 0, conv_kernel: int = 4, norm: str = "none", dtype=None, seed=None,
                 rank_ih=None, rank_hh=None, conv_layers: int = 1, conv_norm: str = "none",
                 conv_residual: bool = False):
        super().__init__()
        check_int("num_classes", num_classes, 2)
        check_choice("pooling", pooling, POOLINGS)
        dtype = resolve_dtype(dtype)
        rng = numpy.random.default_rng(seed)
        s1, s2, s3 = rng.integers(2**63, size=3)
        self.config = dict(input_size=input_size, hidden_size=hidden_size, num_classes=num_classes,
                           num_layers=num_layers, cell=cell, pooling=pooling, dropout=dropout, forget_bias=forget_bias)
        self.pooling = pooling
        ranks = {k: v for k, v in (("rank_ih", rank_ih), ("rank_hh", rank_hh)) if v is not None}
        self.config.update(ranks)               # low-rank W and U (cells with ``low_rank``); absent: full
        front: dict[str, Any] = dict(frame=frame, conv=conv, conv_kernel=conv_kernel, norm=norm)
        check_blocks(conv, conv_layers, conv_norm, conv_residual)   # stacked conv blocks: only their non-defaults kept
        front.update(block_options(dict(conv_layers=conv_layers, conv_norm=conv_norm, conv_residual=conv_residual)))
        self.front = None                       # models/front.py: frames, causal conv, running norm
        if uses_front(front):
            self.config.update(front)
            self.front = FrontEnd(input_size, **front, dtype=dtype, seed=int(rng.integers(2**63)))
            input_size = self.front.output_size
        self.rnn = self.add_child("rnn.", make_recurrent(cell, input_size, hidden_size, num_layers, dropout=dropout,
                                                          forget_bias=forget_bias, dtype=dtype, seed=s1, **ranks))
        self.drop = self.add_child("", Dropout(dropout, seed=s2))
        self.head = self.add_child("head.", Linear(hidden_size, num_classes, dtype=dtype, seed=s3))
        if self.front is not None:
            self.add_child("front.", self.front)
        self.dstate = None

    @staticmethod
    def _split(x):
        if isinstance(x, Padded):
            return x.x, x.lengths
        if isinstance(x, (tuple, list)):
            raise UserError(f"SequenceClassifier input: expected an array (batch, time, input_size) or a Padded "
                            f"batch, got a {type(x).__name__}")
        return x, None

    @staticmethod
    def _check_steps(x, lengths):
        """Pooling reads at least one step of every sequence: zero steps, or a length 0 in a padded batch, is one
        line (any other bad input is the stack's to report)."""
        if getattr(x, "ndim", None) == 3 and x.shape[1] == 0:
            raise UserError(f"SequenceClassifier input: expected at least one time step, got 0 (shape {tuple(x.shape)})")
        L = None if lengths is None else numpy.asarray(to_numpy(lengths))
        if L is not None and L.ndim == 1 and numpy.issubdtype(L.dtype, numpy.integer) and (L == 0).any():
            empty = numpy.flatnonzero(L == 0).tolist()
            which = ", ".join(map(str, empty[:5])) + (f" and {len(empty) - 5} more" if len(empty) > 5 else "")
            raise UserError(f"SequenceClassifier lengths: expected at least one time step in every sequence, got length 0 "
                            f"for sequence{'s' if len(empty) > 1 else ''} {which} (of {len(L)})")

    def forward(self, x, state=None):
        x, lengths = self._split(x)
        self._check_steps(x, lengths)
        if self.front is not None:
            x, lengths = self.front.forward(x, lengths)
        y, state = self.rnn.forward(x, state, lengths=lengths)
        B, T = y.shape[:2]
        L = xp.full(B, T, dtype=xp.int64) if lengths is None else xp.asarray(to_numpy(lengths), dtype=xp.int64)
        self._shape, self._L = y.shape, L
        if self.pooling == "last":
            pooled = y[xp.arange(B), L - 1]
        elif self.pooling == "max":
            pooled = self._max_pool(y, L)
        else:
            pooled = y.sum(axis=1) / L[:, None].astype(y.dtype)
        return self.head.forward(self.drop.forward(pooled)), state

    def _max_pool(self, y, L):
        """The element-wise max of ``y`` (batch, time, H) over each row's first ``L`` steps; keeps the argmax step of
        every unit (the first on a tie) for ``backward``."""
        valid = (xp.arange(y.shape[1])[None, :] < L[:, None])[:, :, None]
        masked = xp.where(valid, y, -xp.inf)
        self._argmax = masked.argmax(axis=1)                     # (batch, H)
        return xp.take_along_axis(masked, self._argmax[:, None, :], axis=1)[:, 0]

    def backward(self, dlogits, dstate=None):
        dp = self.drop.backward(self.head.backward(dlogits))
        B, T, H = self._shape
        L = self._L
        if self.pooling == "last":
            dy = xp.zeros(self._shape, dtype=dp.dtype)
            dy[xp.arange(B), L - 1] = dp
        elif self.pooling == "max":             # each unit's gradient to its argmax step
            dy = xp.zeros(self._shape, dtype=dp.dtype)
            dy[xp.arange(B)[:, None], self._argmax, xp.arange(H)[None, :]] = dp
        else:                                   # the stack zeroes the steps past each length
            dy = xp.broadcast_to((dp / L[:, None].astype(dp.dtype))[:, None, :], self._shape)
        dx = self.rnn.backward(dy, dstate)
        self.dstate = self.rnn.dstate
        return dx if self.front is None else self.front.backward(dx)
