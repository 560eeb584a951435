"""A plain graph (``deploy/onnx.py``) on an input of zero steps: no recurrent node ever runs over an empty sequence.

onnxruntime's recurrent nodes do not take zero steps: its ``GRU`` aborts the process ("terminate called without an
active exception"), a ``Scan`` (the min and fast cells' own nodes) fails, and its ``LSTM`` and ``RNN`` give the zero
state where a start state was fed (and an ``LSTM``'s ``c_n`` from memory never written). So the graph gives its
recurrent layers at least one step and takes the made-up step back::

    seq = Shape(x)[0:1] of the seq-major input, empty = seq < 1
    x -> Pad with one zero step at the end when empty (a pad of zero steps otherwise)
    each layer's h_n (c_n) -> Where(empty, its start state: h_0's (c_0's) layer, or 0, h_n)
    the top layer's outputs -> Slice to the first seq steps: (0, batch, H) when empty

On one step or more the Pad, the Where and the Slice give back every value as it was. A many-to-one head reads the
top layer's kept state, so on zero steps it gives the head of the start state (the NumPy forward has no last step
there and refuses).
"""

from __future__ import annotations

import numpy

I64 = numpy.int64


class ZeroSteps:
    """The names of the guard's ``seq`` ((1,) int64) and ``empty`` ((1,) bool) in a graph, and its two uses."""

    def __init__(self, g, seq: str, empty: str):
        self.g, self.seq, self.empty, self.zero = g, seq, empty, None

    @classmethod
    def guard(cls, g, x: str) -> tuple[ZeroSteps, str]:
        """Add the nodes that pad the seq-major ``x`` (seq, batch, features) to one step when it has none ->
        (the guard, the padded input's name)."""
        seq = g.node("Shape", [x], ["empty_seq"], start=0, end=1)
        empty = g.node("Less", [seq, g.const("empty_one", numpy.array([1], dtype=I64))], ["empty_flag"])
        more = g.node("Cast", [empty], ["empty_pad"], to=g.T.INT64)
        pads = g.node("Concat", [g.const("empty_before", numpy.zeros(3, dtype=I64)), more,
                                 g.const("empty_after", numpy.zeros(2, dtype=I64))], ["empty_pads"], axis=0)
        return cls(g, seq, empty), g.node("Pad", [x, pads], ["seq_major_padded"])

    def keep(self, state: str, start: str | None) -> str:
        """A layer's final ``state`` (1, batch, H), or its ``start`` (None: the zero state) on zero steps."""
        if start is None:
            if self.zero is None:
                self.zero = self.g.const("empty_zero", numpy.float32(0.0))
            start = self.zero
        return self.g.node("Where", [self.empty, start, state], [f"{state}_kept"])

    def trim(self, y: str) -> str:
        """The top layer's seq-major outputs ``y`` without the made-up step: its first ``seq`` steps."""
        zero = self.g.const("empty_from", numpy.array([0], dtype=I64))
        return self.g.node("Slice", [y, zero, self.seq, zero], ["top_steps"])
