"""Front ends for long inputs, between a sequence classifier's raw samples and its recurrent stack, each causal so
that a stream computes it one sample at a time with constant memory:

* ``norm="running"``: each sample scaled by its own sequence's mean and std so far (``layers.running_norm``);
* ``conv=C``: a causal convolution, a pointwise ``Linear`` (input dims -> ``C`` channels) then the shared
  depthwise ``layers.conv.CausalConv1d`` (``conv_kernel`` taps per channel) and SiLU: a bank of ``C`` learned
  filters over the raw samples (a depthwise-separable convolution, as in LSTM-FCN's convolutional branch);
  ``conv_layers=L`` stacks L such blocks (``models/front_blocks.py``), ``conv_norm="layer"`` puts a LayerNorm over
  the channels of each step before each SiLU, ``conv_residual`` adds each later block's input to its output;
* ``frame=k``: ``k`` consecutive steps stacked into one (``layers.frames``): the recurrent stack runs ``k`` times
  fewer steps, on ``k`` times wider inputs.

They apply in that order. ``FrontEnd.forward(x, lengths) -> (y, lengths // frame)``; ``backward(dy)`` accumulates
the parameters' gradients (the input's is not needed: it is data). ``FrontStream`` is the one-sample form
``Stream`` uses: a sample in, a frame out every ``frame`` samples, holding the running sums, each block's ``conv_kernel - 1``
last projected samples and one frame's buffer.
"""

from __future__ import annotations

import math

import numpy

from gatedrnn.backend import to_numpy, xp
from gatedrnn.errors import UserError, check_choice, check_int, show
from gatedrnn.layers import Linear
from gatedrnn.layers.base import Layer
from gatedrnn.layers.conv import CausalConv1d
from gatedrnn.layers.frames import FrameStack
from gatedrnn.layers.running_norm import RunningNorm
from gatedrnn.layers.silu import SiLU
from gatedrnn.models.front_blocks import CONV_NORMS, ConvBlock

NORMS = ("none", "running")
DEFAULTS = {"frame": 1, "conv": 0, "conv_kernel": 4, "norm": "none"}
BLOCK_DEFAULTS = {"conv_layers": 1, "conv_norm": "none", "conv_residual": False}
MAX_CONV_LAYERS = 16


def uses_front(options: dict) -> bool:
    """Whether the settings ask for any front end (frame > 1, conv > 0 or a normalisation)."""
    return any(options.get(k, v) != v for k, v in DEFAULTS.items() if k != "conv_kernel")


def check_blocks(conv: int, conv_layers: int = 1, conv_norm: str = "none", conv_residual: bool = False) -> None:
    """The conv blocks' settings: 1 to 16 layers, more than one (or a norm, or residuals) only with ``conv`` > 0."""
    check_int("conv_layers", conv_layers)
    if conv_layers > MAX_CONV_LAYERS:
        raise UserError(f"conv_layers: expected an integer in [1, {MAX_CONV_LAYERS}], got {show(conv_layers)}")
    check_choice("conv_norm", conv_norm, CONV_NORMS)
    if not isinstance(conv_residual, (bool, numpy.bool_)):
        raise UserError(f"conv_residual: expected true or false, got {show(conv_residual)}")
    if not conv and (conv_layers > 1 or conv_norm != "none" or conv_residual):
        raise UserError(f"conv_layers, conv_norm, conv_residual: expected conv > 0 (the channels of the blocks), "
                        f"got conv {show(conv)}")


def block_options(options: dict) -> dict:
    """The conv blocks' settings of ``options`` that differ from the defaults (a model's config keeps only those)."""
    return {k: options[k] for k, v in BLOCK_DEFAULTS.items() if k in options and options[k] != v}


class FrontEnd(Layer):
    """See the module docstring; ``output_size`` = ``frame * (conv or input_size)``. ``blocks`` the conv blocks
    (``proj``/``conv``/``act`` the first one's parts, None without a convolution)."""

    def __init__(self, input_size: int, *, frame: int = 1, conv: int = 0, conv_kernel: int = 4, norm: str = "none",
                 conv_layers: int = 1, conv_norm: str = "none", conv_residual: bool = False, dtype=None, seed=None):
        super().__init__()
        check_int("frame", frame)
        check_int("conv", conv, 0)
        check_int("conv_kernel", conv_kernel)
        check_choice("norm", norm, NORMS)
        check_blocks(conv, conv_layers, conv_norm, conv_residual)
        rng = numpy.random.default_rng(seed)
        seeds = [tuple(rng.integers(2**63, size=2)) for _ in range(conv_layers)]
        self.input_size, self.frame_size, self.channels = input_size, frame, conv or input_size
        self.norm = RunningNorm() if norm == "running" else None
        self.blocks: list[ConvBlock] = []
        for i in range(conv_layers if conv else 0):
            block = ConvBlock(input_size if i == 0 else conv, conv, conv_kernel, norm=conv_norm,
                              residual=conv_residual and i > 0, dtype=dtype, seeds=seeds[i])
            self.blocks.append(self.add_child("" if i == 0 else f"block{i}.", block))
        first = self.blocks[0] if self.blocks else None
        self.proj: Linear | None = first.proj if first else None
        self.conv: CausalConv1d | None = first.conv if first else None
        self.act: SiLU | None = first.act if first else None
        self.frames = FrameStack(frame)
        self.output_size = frame * self.channels

    def forward(self, x, lengths=None):
        if self.norm is not None:
            x = self.norm.forward(x)
        for block in self.blocks:
            x = block.forward(x)
        return self.frames.forward(x, lengths)

    def backward(self, dy):
        d = self.frames.backward(dy)
        for block in reversed(self.blocks):
            d = block.backward(d)
        return None


class FrontStream:
    """``FrontStream(front, batch, dtype)``: ``push(x, out, scale=None) -> bool`` feeds one sample (``(D,)`` or
    ``(batch, D)``; ``scale`` = (mean, std) applied first) and, when it completes a frame, writes it into ``out``
    and returns True. ``reset()`` empties every buffer. Constant memory."""

    def __init__(self, front: FrontEnd, batch: int, dtype):
        self.front, self.batch, self.dtype = front, batch, numpy.dtype(dtype)
        self.input_size, C = front.input_size, front.channels
        self.sums = front.norm.zeros(batch, self.input_size) if front.norm is not None else None
        self.buffers = [b.conv.zeros(batch) for b in front.blocks]
        self.work = [xp.zeros((batch, C), dtype=self.dtype) for _ in front.blocks[1:]]
        self.frame = xp.zeros((batch, front.output_size), dtype=self.dtype)
        self.slots = [self.frame[:, j * C:(j + 1) * C] for j in range(front.frame_size)]
        self.j = 0

    @property
    def buffer(self):
        """The first conv block's buffer (None without a convolution)."""
        return self.buffers[0] if self.buffers else None

    def reset(self) -> None:
        for a in (self.sums, self.frame, *self.buffers):
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
        if f.blocks:
            outs = self.work + [slot]
            for block, buffer, dst in zip(f.blocks, self.buffers, outs):
                v = block.step(v, buffer, dst)
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
        if len(f.blocks) == 1 and f.blocks[0].norm is None and f.conv is not None and f.proj is not None:
            P = numpy.abs(to_numpy(f.proj.W).astype(numpy.float64))
            bp = numpy.zeros(P.shape[0]) if f.proj.b is None else numpy.abs(to_numpy(f.proj.b).astype(numpy.float64))
            taps = numpy.abs(to_numpy(f.conv.weight).astype(numpy.float64)).sum(axis=(1, 2))
            cb = numpy.zeros_like(taps) if f.conv.bias is None else numpy.abs(to_numpy(f.conv.bias).astype(numpy.float64))
            gain, offset = float((taps * P.sum(axis=1)).max()), float((taps * bp + cb).max())
            limit = max(limit - offset, 0.0) / max(gain, 1e-300)
        elif f.blocks:
            limit = _blocks_limit(f.blocks, frame_limit)
        if f.norm is not None:
            limit *= math.sqrt(f.norm.eps) / 2
        return limit


def _blocks_limit(blocks, frame_limit: float) -> float:
    """The largest input size for which the blocks' outputs stay within ``frame_limit`` and every value inside
    them within it too (bisection on the logarithm: each block's bound grows with its input's)."""
    def fits(x: float) -> bool:
        for block in blocks:
            x, inside = block.bound(x)
            if not (inside <= frame_limit and x <= frame_limit):
                return False
        return True

    lo, hi = -300.0, 300.0
    if not fits(10.0 ** lo):
        return 0.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if fits(10.0 ** mid) else (lo, mid)
    return 10.0 ** lo


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


class MaxPool:
    """A classifier's max pooling, one step at a time: ``add(h) -> [element-wise max of the h so far, 1]``
    (batch, H + 1), a running max (constant memory); ``reset()`` starts a new sequence."""

    def __init__(self, batch: int, hidden: int, dtype):
        self.row = xp.zeros((batch, hidden + 1), dtype=dtype)
        self.count = 0
        self.reset()

    def reset(self) -> None:
        self.row[...] = 0
        self.row[:, -1] = 1
        self.count = 0

    def add(self, h):
        top = self.row[:, :-1]
        if self.count:
            xp.maximum(top, h, out=top)
        else:
            top[...] = h
        self.count += 1
        return self.row


def pooling_stream(model, batch: int, dtype) -> MeanPool | MaxPool | None:
    """The one-step form of a classifier's mean or max pooling (None for last pooling or another model)."""
    pooling = getattr(model, "pooling", "last")
    if pooling == "mean":
        return MeanPool(batch, model.rnn.hidden_size, dtype)
    return MaxPool(batch, model.rnn.hidden_size, dtype) if pooling == "max" else None


def front_exported(model) -> bool:
    """Whether deploy's front-end exports (``c99_front.py``, ``onnx_front.py``) write ``model``: a classifier with a
    front end, or with mean or max pooling (the running pool kept in the state; the plain exports read the last
    state only)."""
    return getattr(model, "front", None) is not None or getattr(model, "pooling", "last") in ("mean", "max")


def export_front(model) -> FrontEnd:
    """The classifier's front end; for one without, a pass-through (one raw sample a step, no conv, no norm)."""
    front = getattr(model, "front", None)
    return front if front is not None else FrontEnd(model.rnn.input_size, dtype=model.rnn.dtype)


def front_stream(model, batch: int, dtype) -> FrontStream | None:
    """The one-sample form of ``model.front`` (None when the model has no front end)."""
    front = getattr(model, "front", None)
    return None if front is None else FrontStream(front, batch, dtype)
