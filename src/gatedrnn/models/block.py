"""The min cells in the architecture they were designed for (Feng et al. 2024, "Were RNNs All We Needed?"): a stack
of pre-norm residual blocks, each

    u = conv(norm1(x))                      causal depthwise conv over time (kernel k, ``layers/conv.py``)
    x = x + proj(minRNN(u))                 minGRU or minLSTM of width E * d (E the expansion), projected back to d
    x = x + fc2(GELU(fc1(norm2(x))))        the feed-forward block (``layers/feedforward.py``, width ff_mult * d)

and a last norm. A bare min layer's gates read x_t alone, so one layer is a gated running average of linear maps
of its input; in a block the conv mixes a few steps before the gates, and the feed-forward part and the next block
mix history nonlinearly. Trained in parallel over time: the minRNN is the min cells' layer with its scans
(``layers/scan.py``: given an initial state the scans start from h_0 itself, never log(g(h_0)); g is evaluated
branch by branch, never on both sides of 0).

State (carried across windows, one token at a time): each block's hidden vector and the last k-1 inputs of its
conv: ``(h (layers, batch, E*d), buffer (layers, batch, k-1, d))``.
"""

from __future__ import annotations

import numpy

from gatedrnn.backend import resolve_dtype, xp
from gatedrnn.errors import UserError, check_choice, check_int, check_positive, check_shape
from gatedrnn.layers import Linear, make_recurrent
from gatedrnn.layers.base import Layer
from gatedrnn.layers.conv import CausalConv1d
from gatedrnn.layers.feedforward import FeedForward
from gatedrnn.layers.norms import NORMS, make_norm

BLOCK_CELLS = ("mingru", "minlstm")


def recurrent_width(d_model: int, expansion: float) -> int:
    """The minRNN's width: ``round(expansion * d_model)``, at least 1."""
    return max(1, int(round(float(expansion) * d_model)))


class MinBlock(Layer):
    """One residual block; see the module docstring. ``forward(x, h0, buffer) -> (y, h_T, buffer)``, x batch-first
    (batch, time, d); ``backward(dy, dh=None, dbuffer=None) -> dx`` leaves (dh0, dbuffer0) in ``self.dstate``."""

    def __init__(self, d: int, *, cell: str, expansion: float, conv_kernel: int, ff_mult: int, norm: str,
                 forget_bias: float, dtype, rng: numpy.random.Generator, scan: str = "loop"):
        super().__init__()
        s = rng.integers(2**63, size=4)
        self.hidden = H = recurrent_width(d, expansion)
        self.norm = self.add_child("norm.", make_norm(norm, d, dtype=dtype))
        self.conv = self.add_child("conv.", CausalConv1d(d, conv_kernel, dtype=dtype, seed=s[0]))
        self.rnn = self.add_child("rnn.", make_recurrent(cell, d, H, 1, forget_bias=forget_bias, dtype=dtype,
                                                         seed=s[1]))
        if scan != "loop":
            self.rnn.layers[0].scan = scan
        self.proj = self.add_child("proj.", Linear(H, d, dtype=dtype, seed=s[2]))
        self.ff = self.add_child("ff.", FeedForward(d, ff_mult, norm=norm, dtype=dtype, seed=s[3]))
        self.dstate = None

    def forward(self, x, h0=None, buffer=None):
        u, buffer = self.conv.forward(self.norm.forward(x), buffer)
        r, hT = self.rnn.forward(u, None if h0 is None else h0[None])
        return self.ff.forward(x + self.proj.forward(r)), hT[0], buffer

    def backward(self, dy, dh=None, dbuffer=None):
        dy = self.ff.backward(dy)
        du = self.rnn.backward(self.proj.backward(dy), None if dh is None else dh[None])
        dx = dy + self.norm.backward(self.conv.backward(du, dbuffer))
        self.dstate = (self.rnn.dstate[0], self.conv.dstate)
        return dx


class MinBlockStack(Layer):
    """``MinBlockStack(d_model, num_layers=3, *, cell="mingru", expansion=2.0, conv_kernel=4, ff_mult=4,
    norm="layer", forget_bias=1.0, dtype=float32, seed=None, scan="loop")`` over batch-first ``(batch, time,
    d_model)``: ``forward(x, state=None) -> (y, (h, buffer))``, y after the last norm; ``backward(dy,
    dstate=None) -> dx``, the initial state's gradient in ``self.dstate``."""

    def __init__(self, d_model: int, num_layers: int = 3, *, cell: str = "mingru", expansion: float = 2.0,
                 conv_kernel: int = 4, ff_mult: int = 4, norm: str = "layer", forget_bias: float = 1.0, dtype=None,
                 seed=None, scan: str = "loop"):
        super().__init__()
        check_int("MinBlockStack d_model", d_model)
        check_int("MinBlockStack num_layers", num_layers)
        check_int("MinBlockStack conv_kernel", conv_kernel)
        check_int("MinBlockStack ff_mult", ff_mult)
        check_positive("MinBlockStack expansion", expansion)
        check_choice("block cell", cell, BLOCK_CELLS)
        check_choice("norm", norm, sorted(NORMS))
        self.dtype = resolve_dtype(dtype)
        self.d_model, self.num_layers, self.k = d_model, num_layers, conv_kernel
        self.hidden_size = recurrent_width(d_model, expansion)
        rng = numpy.random.default_rng(seed)
        self.blocks = [self.add_child(f"blocks.{i}.", MinBlock(
            d_model, cell=cell, expansion=expansion, conv_kernel=conv_kernel, ff_mult=ff_mult, norm=norm,
            forget_bias=forget_bias, dtype=self.dtype, rng=rng, scan=scan)) for i in range(num_layers)]
        self.norm = self.add_child("norm.", make_norm(norm, d_model, dtype=self.dtype))
        self.dstate = None

    def zero_state(self, batch: int):
        """``(h, buffer)`` of zeros: the state before a sequence."""
        L, H, d = self.num_layers, self.hidden_size, self.d_model
        return (xp.zeros((L, batch, H), dtype=self.dtype), xp.zeros((L, batch, self.k - 1, d), dtype=self.dtype))

    def state_bytes(self, batch: int = 1) -> int:
        """Bytes of the carried state for ``batch`` streams: L (E d + (k-1) d) values."""
        return sum(int(a.nbytes) for a in self.zero_state(batch))

    def check_state(self, state, batch: int):
        if state is None:
            return None, None
        if not (isinstance(state, (tuple, list)) and len(state) == 2):
            raise UserError(f"MinBlockStack state: expected a pair (h, buffer), got {type(state).__name__}")
        h, buf = state
        check_shape("MinBlockStack state h", h, (self.num_layers, batch, self.hidden_size))
        check_shape("MinBlockStack state buffer", buf, (self.num_layers, batch, self.k - 1, self.d_model))
        return xp.asarray(h, dtype=self.dtype), xp.asarray(buf, dtype=self.dtype)

    def forward(self, x, state=None):
        h0, buf0 = self.check_state(state, x.shape[0])
        hs, bufs = [], []
        for i, block in enumerate(self.blocks):
            x, hT, buf = block.forward(x, None if h0 is None else h0[i], None if buf0 is None else buf0[i])
            hs.append(hT)
            bufs.append(buf)
        return self.norm.forward(x), (xp.stack(hs), xp.stack(bufs))

    def backward(self, dy, dstate=None):
        dh, dbuf = self.check_state(dstate, dy.shape[0])
        dy = self.norm.backward(dy)
        dhs, dbufs = [None] * self.num_layers, [None] * self.num_layers
        for i in reversed(range(self.num_layers)):
            block = self.blocks[i]
            dy = block.backward(dy, None if dh is None else dh[i], None if dbuf is None else dbuf[i])
            dhs[i], dbufs[i] = block.dstate
        self.dstate = (xp.stack(dhs), xp.stack(dbufs))
        return dy
