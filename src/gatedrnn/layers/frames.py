"""Frame stacking: ``k`` consecutive steps of ``C`` channels become one step of ``k * C`` (strided by ``k``), the
way speech models shorten long inputs before their recurrent part. ``(batch, time, C) -> (batch, time // k, k C)``,
frame ``f`` holding steps ``f k .. f k + k - 1`` in order; a sequence of length ``L`` gives ``L // k`` frames (the
last ``L % k`` steps, an incomplete frame, are not read). Streaming, one step at a time, keeps one frame's buffer.
"""

from __future__ import annotations

from gatedrnn.backend import xp
from gatedrnn.errors import UserError, check_int, check_rank
from gatedrnn.layers.base import Layer


class FrameStack(Layer):
    """``FrameStack(k)``: ``forward(x, lengths=None) -> (frames, frame_lengths)``; ``backward(dframes) -> dx``
    (zeros for the steps of an incomplete last frame). No parameters."""

    def __init__(self, k: int):
        super().__init__()
        self.k = check_int("frame", k)
        self._shape = None

    def frame_lengths(self, lengths):
        """Frames per sequence: ``lengths // k``."""
        return None if lengths is None else lengths // self.k

    def forward(self, x, lengths=None):
        check_rank("frame input", x, 3, "(batch, time, channels)")
        B, T, C = x.shape
        if T < self.k:
            raise UserError(f"frame: expected at most the sequences' length ({T}), got {self.k}")
        F = T // self.k
        self._shape = x.shape
        return x[:, :F * self.k].reshape(B, F, self.k * C), self.frame_lengths(lengths)

    def backward(self, dy):
        if self._shape is None:
            raise UserError("FrameStack.backward: expected a forward call first, got none")
        B, T, C = self._shape
        dx = xp.zeros(self._shape, dtype=dy.dtype)
        F = dy.shape[1]
        dx[:, :F * self.k] = dy.reshape(B, F * self.k, C)
        return dx
