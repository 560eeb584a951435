"""K many-to-one LSTM ``SequenceRegressor``s of one configuration trained as ONE batched network (an ensemble at
about the price of one member: every step of every member is one stacked GEMM, ``layers/lstm_members.py``).

``MemberRegressor(models)`` stacks the K models' parameters on a leading member axis (the arrays are copies:
``params[i][k]`` is ``models[k].params[i]``, with the same names), ``forward(x (K, B, T, D)) -> (y (K, B, out),
None)`` runs member k on its own batch ``x[k]``, ``backward(dy (K, B, out))`` accumulates every member's
gradients, and ``unstack()`` writes the trained weights back into the K models, which stay ordinary
``SequenceRegressor``s (their save, load, stream and exports are unchanged). Member k computes what
``models[k]`` computes, to floating-point round-off (tests/layers/test_lstm_members.py). ``batchable(models)`` says
whether a set of models fits: LSTM cells, many-to-one, no dropout, one configuration and dtype.

Threads: the members are independent, so with ``threads`` > 1 (default ``GATEDRNN_NUM_THREADS``, else 1:
``backend.default_threads``) they are split into that many groups of consecutive members, each group's forward
and backward run on its own thread (``backend.Workers``; NumPy and the BLAS release the GIL) over views of the
stacked parameters and gradients. Each member's arithmetic is the same either way. A problem too small to gain
(under ``MIN_ITEMS`` values of the gates per thread) stays on one thread.
"""

from __future__ import annotations

from gatedrnn.backend import Workers, xp
from gatedrnn.errors import UserError
from gatedrnn.layers.base import Layer
from gatedrnn.layers.linear_members import LinearMembers
from gatedrnn.layers.lstm_members import LSTMMembersLayer


def batchable(models) -> bool:
    """Whether ``MemberRegressor`` can train ``models`` together (module docstring)."""
    if not models:
        return False
    c = models[0].config
    same = all(m.config == c and m.params[0].dtype == models[0].params[0].dtype for m in models)
    return same and c.get("cell") == "lstm" and bool(c.get("many_to_one")) and not c.get("dropout")


class _Group:
    """The layers of members ``lo:hi``, over views of the stacked parameters and gradients."""

    def __init__(self, params: list, grads: list, num_layers: int, lo: int, hi: int):
        p, g = [a[lo:hi] for a in params], [a[lo:hi] for a in grads]
        self.layers = [LSTMMembersLayer(*p[4 * k:4 * k + 4], grads=g[4 * k:4 * k + 4]) for k in range(num_layers)]
        L = 4 * num_layers
        self.head = LinearMembers(*p[L:], grads=g[L:])

    def forward(self, x):
        for layer in self.layers:
            x, _, _ = layer.forward(x)
        return self.head.forward(xp.ascontiguousarray(x[:, -1]))

    def backward(self, dy):
        dh = self.head.backward(dy)                   # the loss reads the last step only: it enters as dh_T
        dY = None
        for k in reversed(range(len(self.layers))):
            dY, _, _ = self.layers[k].backward(dY, dh if k == len(self.layers) - 1 else None)
        return dY


class MemberRegressor(Layer):
    """See the module docstring."""

    MIN_ITEMS = 1 << 18

    def __init__(self, models, threads: int | None = None):
        super().__init__()
        if not batchable(models):
            raise UserError(f"MemberRegressor: expected many-to-one LSTM regressors of one configuration without "
                            f"dropout, got {[m.config for m in models][:2]}")
        self.models = list(models)
        for i, name in enumerate(models[0].names):
            self.add_param(name, xp.stack([m.params[i] for m in models]))
        self.transposed = set(models[0].transposed)
        self.num_layers = models[0].config["num_layers"]
        self.workers = Workers(threads)
        self._groups: dict = {}

    def _group(self, lo: int, hi: int) -> _Group:
        if (lo, hi) not in self._groups:
            self._groups[(lo, hi)] = _Group(self.params, self.grads, self.num_layers, lo, hi)
        return self._groups[(lo, hi)]

    def _split(self, fn, x) -> None:
        """``fn(group, lo, hi)`` for the groups of members the threads take (one group on one thread)."""
        K, per = x.shape[0], x[0].size // max(x.shape[-1], 1) * 4 * self.models[0].config["hidden_size"]
        self.workers.run(lambda lo, hi, part: fn(self._group(lo, hi), lo, hi), K, item_size=per,
                         min_items=self.MIN_ITEMS)

    def forward(self, x, state=None):
        """x (K, B, T, D) -> (y (K, B, out), None); ``state`` must be None (windows are independent)."""
        if state is not None:
            raise UserError("MemberRegressor state: expected None (no state is carried), got one")
        K = len(self.models)
        if x.ndim != 4 or x.shape[0] != K:
            raise UserError(f"MemberRegressor input: expected shape ({K}, batch, time, input_size), got "
                            f"{tuple(x.shape)}")
        if x.shape[2] == 0:
            raise UserError(f"MemberRegressor input: expected at least one time step (many-to-one reads the last), "
                            f"got 0 (shape {tuple(x.shape)})")
        inp = xp.ascontiguousarray(x.transpose(0, 2, 1, 3), dtype=self.params[0].dtype)   # (K, T, B, D)
        y = xp.empty((K, x.shape[1], self.params[-1].shape[-1]), dtype=inp.dtype)
        self._x_shape = inp.shape

        def run(group, lo, hi):
            y[lo:hi] = group.forward(inp[lo:hi])

        self._split(run, inp)
        return y, None

    def backward(self, dy, dstate=None):
        dx = xp.empty(self._x_shape, dtype=dy.dtype)

        def run(group, lo, hi):
            dx[lo:hi] = group.backward(dy[lo:hi])

        self._split(run, dx)
        return dx.transpose(0, 2, 1, 3)

    def unstack(self) -> list:
        """Write the trained weights back into the K models; returns them."""
        for k, m in enumerate(self.models):
            for mine, theirs in zip(self.params, m.params):
                theirs[...] = mine[k]
        return self.models
