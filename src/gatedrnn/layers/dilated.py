"""A dilated recurrent layer (Chang et al. 2017, "Dilated Recurrent Neural Networks"): step t reads the state of
step t - d instead of t - 1, so d interleaved sequences run side by side.

``Dilated(stack, d)`` wraps any recurrent stack of the project's cells (``make_recurrent``) over batch-first input
``(batch, time, input_size)``. The time axis is padded at its end to a multiple of d and folded into the batch:
sequence (b, j) holds the steps j, j + d, j + 2d, ... of row b, and the stack runs over the d-times-larger batch
of d-times-shorter sequences (one pass, no loop over the phases). The padding comes after every real step, so it
changes no output of a causal stack. ``forward(x) -> y`` (batch, time, hidden_size) starts from a zero state;
``backward(dy) -> dx`` unfolds the gradients the same way. ``d = 1`` is the stack itself.
"""

from __future__ import annotations

from gatedrnn.backend import xp
from gatedrnn.errors import UserError, check_int, check_rank
from gatedrnn.layers.base import Layer


class Dilated(Layer):
    """The recurrent ``stack`` with dilation ``dilation`` (module docstring)."""

    def __init__(self, stack, dilation: int):
        super().__init__()
        self.dilation = check_int("dilation", dilation)
        self.stack = self.add_child("", stack)
        self.input_size, self.hidden_size = stack.input_size, stack.hidden_size
        self._shape = None

    def _fold(self, x):
        """(B, T, D) -> (B * d, ceil(T / d), D), zero-padded at the end."""
        B, T, D = x.shape
        d = self.dilation
        n = -(-T // d)
        if n * d != T:
            x = xp.concatenate([x, xp.zeros((B, n * d - T, D), dtype=x.dtype)], axis=1)
        return x.reshape(B, n, d, D).transpose(0, 2, 1, 3).reshape(B * d, n, D)

    def _unfold(self, y, B, T):
        """(B * d, n, H) -> (B, T, H): the inverse of ``_fold``, the padding cut off."""
        d, n, H = self.dilation, y.shape[1], y.shape[2]
        return y.reshape(B, d, n, H).transpose(0, 2, 1, 3).reshape(B, n * d, H)[:, :T]

    def forward(self, x):
        check_rank("Dilated input", x, 3, "(batch, time, input_size)")
        B, T = x.shape[:2]
        self._shape = (B, T)
        y, _ = self.stack.forward(self._fold(x))
        return xp.ascontiguousarray(self._unfold(y, B, T))

    def backward(self, dy):
        if self._shape is None:
            raise UserError("Dilated.backward: expected a forward call first, got none")
        B, T = self._shape
        self._shape = None
        dx = self.stack.backward(self._fold(dy))
        return xp.ascontiguousarray(self._unfold(dx, B, T))
