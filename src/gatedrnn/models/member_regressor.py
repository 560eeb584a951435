"""K many-to-one LSTM ``SequenceRegressor``s of one configuration trained as ONE batched network (an ensemble at
about the price of one member: every step of every member is one stacked GEMM, ``layers/lstm_members.py``).

``MemberRegressor(models)`` stacks the K models' parameters on a leading member axis (the arrays are copies:
``params[i][k]`` is ``models[k].params[i]``, with the same names), ``forward(x (K, B, T, D)) -> (y (K, B, out),
None)`` runs member k on its own batch ``x[k]``, ``backward(dy (K, B, out))`` accumulates every member's
gradients, and ``unstack()`` writes the trained weights back into the K models, which stay ordinary
``SequenceRegressor``s (their save, load, stream and exports are unchanged). Member k computes what
``models[k]`` computes, to floating-point round-off (tests/test_lstm_members.py). ``batchable(models)`` says
whether a set of models fits: LSTM cells, many-to-one, no dropout, one configuration and dtype.
"""

from __future__ import annotations

from gatedrnn.backend import xp
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


class MemberRegressor(Layer):
    """See the module docstring."""

    def __init__(self, models):
        super().__init__()
        if not batchable(models):
            raise UserError(f"MemberRegressor: expected many-to-one LSTM regressors of one configuration without "
                            f"dropout, got {[m.config for m in models][:2]}")
        self.models = list(models)
        stacked = [xp.stack([m.params[i] for m in models]) for i in range(len(models[0].params))]
        L = models[0].config["num_layers"]
        self.layers = [self.add_child("rnn.", LSTMMembersLayer(*stacked[4 * k:4 * k + 4]), suffix=f"_l{k}")
                       for k in range(L)]
        self.head = self.add_child("head.", LinearMembers(*stacked[4 * L:]))
        if self.names != list(models[0].names):
            raise UserError(f"MemberRegressor: expected the parameters {models[0].names}, got {self.names}")

    def forward(self, x, state=None):
        """x (K, B, T, D) -> (y (K, B, out), None); ``state`` must be None (windows are independent)."""
        if state is not None:
            raise UserError("MemberRegressor state: expected None (no state is carried), got one")
        K = len(self.models)
        if x.ndim != 4 or x.shape[0] != K:
            raise UserError(f"MemberRegressor input: expected shape ({K}, batch, time, input_size), got "
                            f"{tuple(x.shape)}")
        inp = xp.ascontiguousarray(x.transpose(2, 0, 1, 3), dtype=self.params[0].dtype)   # (T, K, B, D)
        for layer in self.layers:
            inp, _, _ = layer.forward(inp)
        return self.head.forward(inp[-1]), None

    def backward(self, dy, dstate=None):
        dh = self.head.backward(dy)                   # the loss reads the last step only: it enters as dh_T
        dY = None
        for k in reversed(range(len(self.layers))):
            dY, _, _ = self.layers[k].backward(dY, dh if k == len(self.layers) - 1 else None)
        return dY.transpose(1, 2, 0, 3)

    def unstack(self) -> list:
        """Write the trained weights back into the K models; returns them."""
        for k, m in enumerate(self.models):
            for mine, theirs in zip(self.params, m.params):
                theirs[...] = mine[k]
        return self.models
