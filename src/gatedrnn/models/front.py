"""Front ends for long inputs, between a sequence classifier's raw samples and its recurrent stack, each causal so
that a stream computes it one sample at a time with constant memory:

* ``norm="running"``: each sample scaled by its own sequence's mean and std so far (``layers.running_norm``);
* ``conv=C``: a causal convolution, a pointwise ``Linear`` (input dims -> ``C`` channels) then the shared
  depthwise ``layers.conv.CausalConv1d`` (``conv_kernel`` taps per channel) and SiLU: a bank of ``C`` learned
  filters over the raw samples (a depthwise-separable convolution, as in LSTM-FCN's convolutional branch);
* ``frame=k``: ``k`` consecutive steps stacked into one (``layers.frames``): the recurrent stack runs ``k`` times
  fewer steps, on ``k`` times wider inputs.

They apply in that order. ``FrontEnd.forward(x, lengths) -> (y, lengths // frame)``; ``backward(dy)`` accumulates
the parameters' gradients (the input's is not needed: it is data). ``FrontStream`` is the one-sample form
``Stream`` uses: a sample in, a frame out every ``frame`` samples, holding the running sums, the ``conv_kernel - 1``
last projected samples and one frame's buffer.
"""

from __future__ import annotations

import math

import numpy

from gatedrnn.backend import sigmoid, to_numpy, xp
from gatedrnn.errors import UserError, check_choice, check_int
from gatedrnn.layers import Linear
from gatedrnn.layers.base import Layer
from gatedrnn.layers.conv import CausalConv1d
from gatedrnn.layers.frames import FrameStack
from gatedrnn.layers.running_norm import RunningNorm
from gatedrnn.layers.silu import SiLU

NORMS = ("none", "running")
DEFAULTS = {"frame": 1, "conv": 0, "conv_kernel": 4, "norm": "none"}


def uses_front(options: dict) -> bool:
    """Whether the settings ask for any front end (frame > 1, conv > 0 or a normalisation)."""
    return any(options.get(k, v) != v for k, v in DEFAULTS.items() if k != "conv_kernel")


class FrontEnd(Layer):
    """See the module docstring; ``output_size`` = ``frame * (conv or input_size)``."""

    def __init__(self, input_size: int, *, frame: int = 1, conv: int = 0, conv_kernel: int = 4, norm: str = "none",
                 dtype=None, seed=None):
        super().__init__()
        check_int("frame", frame)
        check_int("conv", conv, 0)
        check_int("conv_kernel", conv_kernel)
        check_choice("norm", norm, NORMS)
        s1, s2 = numpy.random.default_rng(seed).integers(2**63, size=2)
        self.input_size, self.frame_size, self.channels = input_size, frame, conv or input_size
        self.norm = RunningNorm() if norm == "running" else None
        self.proj = self.conv = self.act = None
        if conv:
            self.proj = self.add_child("proj.", Linear(input_size, conv, dtype=dtype, seed=s1))
            self.conv = self.add_child("conv.", CausalConv1d(conv, conv_kernel, dtype=dtype, seed=s2))
            self.act = SiLU()
        self.frames = FrameStack(frame)
        self.output_size = frame * self.channels

    def forward(self, x, lengths=None):
        if self.norm is not None:
            x = self.norm.forward(x)
        if self.conv is not None:
            x = self.act.forward(self.conv.forward(self.proj.forward(x))[0])
        return self.frames.forward(x, lengths)

    def backward(self, dy):
        d = self.frames.backward(dy)
        if self.conv is not None:
            self.proj.backward(self.conv.backward(self.act.backward(d)))
        return None


class FrontStream:
    """``FrontStream(front, batch, dtype)``: ``push(x, out, scale=None) -> bool`` feeds one sample (``(D,)`` or
    ``(batch, D)``; ``scale`` = (mean, std) applied first) and, when it completes a frame, writes it into ``out``
    and returns True. ``reset()`` empties every buffer. Constant memory."""

    def __init__(self, front: FrontEnd, batch: int, dtype):
        self.front, self.batch, self.dtype = front, batch, numpy.dtype(dtype)
        self.input_size, C = front.input_size, front.channels
        self.sums = front.norm.zeros(batch, self.input_size) if front.norm is not None else None
        self.buffer = front.conv.zeros(batch) if front.conv is not None else None
        self.frame = xp.zeros((batch, front.output_size), dtype=self.dtype)
        self.slots = [self.frame[:, j * C:(j + 1) * C] for j in range(front.frame_size)]
        self.j = 0

    def reset(self) -> None:
        for a in (self.sums, self.buffer, self.frame):
            if a is not None:
                a[...] = 0
        self.j = 0

    def _sample(self, x, scale):
        try:
            v = numpy.asarray(x, dtype=numpy.float64).reshape(self.batch, self.input_size)
        except (ValueError, TypeError):    # NumPy's answer to a wrong size or text
            raise UserError(f"Stream.step: expected an observation of shape ({self.input_size},)"
                            f"{'' if self.batch == 1 else f' or ({self.batch}, {self.input_size})'}, "
                            f"got {numpy.shape(x)}") from None
        if scale is not None:
            with numpy.errstate(over="ignore"):
                v = (v - scale[0]) / scale[1]
        return xp.asarray(v)

    def push(self, x, out, scale=None) -> bool:
        f, v = self.front, self._sample(x, scale)
        if f.norm is not None:
            v = f.norm.step(v, self.sums)
        v = v.astype(self.dtype)
        slot = self.slots[self.j]
        if f.conv is not None and f.proj is not None:      # the projection exists with the convolution
            u = v @ f.proj.W.T
            if f.proj.b is not None:
                u += f.proj.b
            f.conv.step(u, self.buffer, out=slot)
            slot *= sigmoid(slot)
        else:
            slot[...] = v
        self.j += 1
        if self.j < f.frame_size:
            return False
        out[...] = self.frame
        self.j = 0
        return True

    def raw_limit(self, frame_limit: float) -> float:
        """The largest |sample| (after the stream's standardisation) that keeps every frame value within
        ``frame_limit``: the convolution's gain and offset bounded by its weights, the running norm's by
        ``2 / sqrt(eps)`` (a sample at most X from zero is at most 2X from the mean so far)."""
        f, limit = self.front, frame_limit
        if f.conv is not None and f.proj is not None:
            P = numpy.abs(to_numpy(f.proj.W).astype(numpy.float64))
            bp = numpy.zeros(P.shape[0]) if f.proj.b is None else numpy.abs(to_numpy(f.proj.b).astype(numpy.float64))
            taps = numpy.abs(to_numpy(f.conv.weight).astype(numpy.float64)).sum(axis=(1, 2))
            cb = numpy.zeros_like(taps) if f.conv.bias is None else numpy.abs(to_numpy(f.conv.bias).astype(numpy.float64))
            gain, offset = float((taps * P.sum(axis=1)).max()), float((taps * bp + cb).max())
            limit = max(limit - offset, 0.0) / max(gain, 1e-300)
        if f.norm is not None:
            limit *= math.sqrt(f.norm.eps) / 2
        return limit


class MeanPool:
    """A classifier's mean pooling, one step at a time: ``add(h) -> [mean of the h so far, 1]`` (batch, H + 1),
    from a running sum (constant memory); ``reset()`` starts a new sequence."""

    def __init__(self, batch: int, hidden: int, dtype):
        self.sum = xp.zeros((batch, hidden), dtype=dtype)
        self.row = xp.zeros((batch, hidden + 1), dtype=dtype)
        self.count = 0
        self.reset()

    def reset(self) -> None:
        self.sum[...] = 0
        self.row[...] = 0
        self.row[:, -1] = 1
        self.count = 0

    def add(self, h):
        self.sum += h
        self.count += 1
        xp.divide(self.sum, self.count, out=self.row[:, :-1])
        return self.row


def front_stream(model, batch: int, dtype) -> FrontStream | None:
    """The one-sample form of ``model.front`` (None when the model has no front end)."""
    front = getattr(model, "front", None)
    return None if front is None else FrontStream(front, batch, dtype)
