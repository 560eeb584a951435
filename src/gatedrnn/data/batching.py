"""Truncated back-propagation through time, the book's way (and Zaremba et al. 2014's).

The token array is cut into ``batch_size`` contiguous streams laid side by side, one per row::

    ids = [a b c d e f g h i j k l m]   batch_size 3  ->  x = [[a b c d]    t = [[b c d e]
                                                            [e f g h]         [f g h i]
                                                            [i j k l]]        [j k l m]]

and read left to right in windows of ``time_size`` columns. Row ``b`` of window ``k + 1`` continues row
``b`` of window ``k``, so the hidden state at the end of one window is the right initial state of the next:
the trainer carries it over and cuts it from the graph (gradients stop at the window boundary). The
reshape is the only work: every window is a view, no Python loop touches individual tokens.
"""

from __future__ import annotations

import math

import numpy

from gatedrnn.errors import UserError, check_int


class TBPTTBatches:
    """Windows ``(x, t)`` of shape ``(batch_size, time_size)`` over ``batch_size`` parallel streams of ``ids``.

    ``len()`` is the number of windows per epoch; indexing and iteration give views. The last window is
    shorter when ``time_size`` does not divide the stream length, unless ``drop_last`` (the book drops it
    in training). The ``(len(ids) - 1) % batch_size`` tokens that do not fill a stream are left out. ``name``
    (which data: ``"valid split"``), ``batch_name`` and ``time_name`` (the settings the sizes come from) are
    what the error messages call them.
    """

    def __init__(self, ids, batch_size: int, time_size: int, *, drop_last: bool = False, name: str = "TBPTTBatches",
                 batch_name: str = "batch_size", time_name: str = "time_size"):
        ids = numpy.asarray(ids)
        if ids.ndim != 1 or not numpy.issubdtype(ids.dtype, numpy.integer):
            raise UserError(f"{name} ids: expected a 1-d integer array, got shape {ids.shape} dtype {ids.dtype}")
        for label, v in ((batch_name, batch_size), (time_name, time_size)):
            check_int(f"{name} {label}", v)
        n = (len(ids) - 1) // batch_size
        if n < 1 or (drop_last and n < time_size):
            # ``name`` says which data (the valid split ...), the labels which settings set the sizes
            need = batch_size * (time_size if drop_last else 1) + 1
            raise UserError(f"{name}: expected at least {need:,} tokens for {batch_name} {batch_size}"
                            f"{f' and {time_name} {time_size}' if drop_last else ''}, got {len(ids):,}")
        self.batch_size, self.time_size, self.stream_len = int(batch_size), int(time_size), n
        self.x = ids[: n * batch_size].reshape(batch_size, n)
        self.t = ids[1: n * batch_size + 1].reshape(batch_size, n)
        self._len = n // time_size if drop_last else math.ceil(n / time_size)

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, k: int):
        if not -self._len <= k < self._len:
            raise IndexError(f"TBPTTBatches: window {k} out of range for {self._len} windows")
        k %= self._len
        s = slice(k * self.time_size, min((k + 1) * self.time_size, self.stream_len))
        return self.x[:, s], self.t[:, s]

    def __iter__(self):
        for k in range(self._len):
            yield self[k]

    @property
    def num_tokens(self) -> int:
        """Target tokens per epoch (what a perplexity over all windows averages over)."""
        return self.batch_size * min(self._len * self.time_size, self.stream_len)

    def __repr__(self) -> str:
        return (f"TBPTTBatches({self.batch_size} streams x {self.stream_len:,} tokens, windows of {self.time_size}, "
                f"{self._len} per epoch)")
