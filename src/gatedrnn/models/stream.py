"""Streaming inference: one observation in, one prediction out, holding only the recurrent state.

``Stream(model)`` takes a ``SequenceRegressor``, a ``LanguageModel`` or a bare ``LSTM``/``GRU``/``RNN`` stack::

    s = Stream(model)                  # batch 1; Stream(model, batch=B) runs B streams side by side
    for x_t in sensor:                 # x_t: (input_size,) floats (a token id for a LanguageModel)
        y_t = s.step(x_t)              # (output_size,): the head's output (logits; top hidden state for a bare stack)
    s.reset()                          # back to the zero state

Its outputs equal the model's batch ``forward`` over the same sequence (tests: max abs difference below 1e-5
in float32 over 10 000 steps), and its memory does not depend on how many steps it has run: everything is
allocated in the constructor. ``step`` returns a view of an internal buffer that the next ``step`` overwrites;
copy it to keep it.

How a step stays cheap (batch 1 is all call overhead, so the number of NumPy calls is what counts):

* each layer keeps one row ``[x_t, h_{t-1}, 1]`` and a fused weight matrix ``[W_ih; W_hh; b_ih + b_hh]``, so the
  whole pre-activation is one ``matmul`` into a preallocated buffer, the biases included; the new ``h_t`` is
  written straight into the row, ready for the next step;
* the LSTM's columns are reordered to (i, f, o, g) and the sigmoid gates' columns are multiplied by 1/2, so
  that one ``tanh`` over all four gates followed by ``* 0.5 + 0.5`` on the first three gives
  ``sigmoid(a) = (1 + tanh(a / 2)) / 2`` exactly as the layer computes it;
* the GRU's candidate needs ``W_hn h + b_hn`` apart (the reset gate multiplies it), so its fused matrix has a
  fourth block of columns that reads only ``h`` (zeros against ``x``);
* the head reads the top layer's ``[h_t, 1]`` with its bias folded in as a last row.

The stream copies the weights when it is built (``refresh()`` copies them again after more training) and
runs in evaluation mode: dropout is off. Values are not checked per step (NaN in, NaN out); shapes are.
"""

from __future__ import annotations

import numpy

from gatedrnn.backend import xp
from gatedrnn.layers.gru import GRULayer
from gatedrnn.layers.lstm import LSTMLayer
from gatedrnn.layers.recurrent import RecurrentStack
from gatedrnn.layers.rnn import RNNLayer
from gatedrnn.models.language_model import LanguageModel
from gatedrnn.models.regressor import SequenceRegressor


def model_parts(model):
    """-> (embedding or None, recurrent stack, head Linear or None)."""
    if isinstance(model, SequenceRegressor):
        return None, model.rnn, model.head
    if isinstance(model, LanguageModel):
        return model.embed, model.rnn, model.out
    if isinstance(model, RecurrentStack):
        return None, model, None
    raise ValueError(f"Stream: expected a SequenceRegressor, LanguageModel or LSTM/GRU/RNN stack, got {type(model).__name__}")


class Stream:
    """One step at a time through ``model``; see the module docstring."""

    def __init__(self, model, batch: int = 1):
        if not isinstance(batch, (int, numpy.integer)) or batch < 1:
            raise ValueError(f"Stream batch: expected a positive integer, got {batch!r}")
        self.model = model
        self.embed, self.rnn, self.head = model_parts(model)
        self.batch = B = int(batch)
        self.dtype = self.rnn.dtype
        self.cell = {LSTMLayer: "lstm", GRULayer: "gru", RNNLayer: "rnn"}.get(self.rnn.layer_class)
        if self.cell is None:
            raise ValueError(f"Stream: expected LSTM, GRU or RNN layers, got {self.rnn.layer_class.__name__}")
        H, L = self.rnn.hidden_size, self.rnn.num_layers
        self.hidden_size, self.num_layers = H, L
        dt = self.dtype
        self.input_size = self.rnn.input_size
        # per layer: the row [x, h, 1], the gate buffer and the slices the step works on (views made once)
        self._rows, self._gates, self._tmp, self._h, self._x, self._c = [], [], [], [], [], []
        for k, layer in enumerate(self.rnn.layers):
            D = layer.input_size
            row = xp.zeros((B, D + H + 1), dtype=dt)
            row[:, -1] = 1.0
            self._rows.append(row)
            self._x.append(row[:, :D])
            self._h.append(row[:, D:D + H])
            width = {"lstm": 4 * H, "gru": 4 * H, "rnn": H}[self.cell]
            self._gates.append(xp.empty((B, width), dtype=dt))
            self._tmp.append(xp.empty((B, H), dtype=dt))
            self._c.append(xp.zeros((B, H), dtype=dt) if self.cell == "lstm" else None)
        top = self._rows[-1]
        self._top_h1 = top[:, top.shape[1] - H - 1:]           # [h, 1] of the top layer
        if self.head is not None:
            self.output_size = self.head.out_features
            self._y = xp.empty((B, self.output_size), dtype=dt)
        else:
            self.output_size = H
            self._y = self._h[-1]
        self._out = self._y[0] if B == 1 else self._y
        self._weights = []
        self.refresh()

    # -- weights ------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Copy (and fuse) the model's current weights; call after the model was trained further."""
        H, dt = self.hidden_size, self.dtype
        self._weights = []
        for layer in self.rnn.layers:
            D = layer.input_size
            Wx, Wh, bi, bh = (numpy.asarray(a, dtype=numpy.float64) for a in (layer.Wx, layer.Wh, layer.b_ih, layer.b_hh))
            if self.cell == "lstm":            # PyTorch blocks (i, f, g, o) -> (i, f, o, g), sigmoid columns halved
                order = numpy.r_[0:2 * H, 3 * H:4 * H, 2 * H:3 * H]
                W = numpy.concatenate([Wx, Wh, (bi + bh)[None]], axis=0)[:, order]
                W[:, :3 * H] *= 0.5
            elif self.cell == "gru":           # (r, z) | W_in x + b_in | W_hn h + b_hn
                W = numpy.zeros((D + H + 1, 4 * H))
                W[:D, :2 * H], W[D:D + H, :2 * H] = Wx[:, :2 * H], Wh[:, :2 * H]
                W[D + H, :2 * H] = bi[:2 * H] + bh[:2 * H]
                W[:, :2 * H] *= 0.5
                W[:D, 2 * H:3 * H], W[D + H, 2 * H:3 * H] = Wx[:, 2 * H:], bi[2 * H:]
                W[D:D + H, 3 * H:], W[D + H, 3 * H:] = Wh[:, 2 * H:], bh[2 * H:]
            else:
                W = numpy.concatenate([Wx, Wh, (bi + bh)[None]], axis=0)
            self._weights.append(xp.asarray(W, dtype=dt))
        if self.head is not None:
            Wo = numpy.asarray(self.head.W, dtype=numpy.float64).T
            b = numpy.zeros(self.output_size) if self.head.b is None else numpy.asarray(self.head.b, dtype=numpy.float64)
            self._head_W = xp.asarray(numpy.concatenate([Wo, b[None]], axis=0), dtype=dt)
        if self.embed is not None:
            self._embed_W = self.embed.W  # read live: a row copy per step

    # -- state --------------------------------------------------------------------------------------------
    def reset(self, state=None) -> None:
        """Zero the recurrent state, or set it from ``state`` (PyTorch layout: (h, c) for the LSTM, each
        (num_layers, batch, hidden))."""
        if state is None:
            for k in range(self.num_layers):
                self._h[k][...] = 0
                if self._c[k] is not None:
                    self._c[k][...] = 0
            return
        L, B, H = self.num_layers, self.batch, self.hidden_size
        h, c = (state if self.cell == "lstm" else (state, None))
        for name, a in (("h", h), ("c", c)):
            if a is None:
                continue
            if tuple(numpy.shape(a)) != (L, B, H):
                raise ValueError(f"Stream.reset state {name}: expected shape {(L, B, H)}, got {tuple(numpy.shape(a))}")
        for k in range(L):
            self._h[k][...] = h[k]
            if c is not None:
                self._c[k][...] = c[k]

    @property
    def state(self):
        """A copy of the current state in PyTorch's layout: ``(h, c)`` for the LSTM, else ``h``."""
        h = xp.stack([a.copy() for a in self._h])
        return (h, xp.stack([a.copy() for a in self._c])) if self.cell == "lstm" else h

    # -- one step ------------------------------------------------------------------------------------------
    def _set_input(self, x) -> None:
        if self.embed is not None:
            ids = numpy.asarray(x)
            if not numpy.issubdtype(ids.dtype, numpy.integer) or ids.size != self.batch:
                raise ValueError(f"Stream.step: expected {self.batch} integer token id(s), got {ids!r}")
            V = self._embed_W.shape[0]
            if ids.size == 1:
                i = int(ids.reshape(())) if ids.ndim == 0 else int(ids.reshape(-1)[0])
                if not 0 <= i < V:
                    raise ValueError(f"Stream.step: expected a token id in [0, {V}), got {i}")
                self._x[0][0] = self._embed_W[i]
            else:
                if int(ids.min()) < 0 or int(ids.max()) >= V:
                    raise ValueError(f"Stream.step: expected token ids in [0, {V}), got values in [{int(ids.min())}, {int(ids.max())}]")
                self._x[0][...] = self._embed_W[ids.reshape(-1)]
            return
        try:
            self._x[0][...] = x
        except (ValueError, TypeError):
            raise ValueError(f"Stream.step: expected an observation of shape ({self.input_size},)"
                             f"{'' if self.batch == 1 else f' or ({self.batch}, {self.input_size})'}, "
                             f"got {numpy.shape(x)}") from None

    def step(self, x):
        """Feed one observation (``(input_size,)``, or ``(batch, input_size)``; a token id for a language
        model) and return the prediction: a view of an internal buffer, overwritten by the next step."""
        self._set_input(x)
        H = self.hidden_size
        last = self.num_layers - 1
        for k in range(self.num_layers):
            g, W, h, tmp = self._gates[k], self._weights[k], self._h[k], self._tmp[k]
            xp.matmul(self._rows[k], W, out=g)
            if self.cell == "lstm":
                c = self._c[k]
                xp.tanh(g, out=g)
                s = g[:, :3 * H]
                s *= 0.5
                s += 0.5                                   # i, f, o = sigmoid; g = tanh
                xp.multiply(g[:, H:2 * H], c, out=c)       # c = f * c + i * g
                xp.multiply(g[:, :H], g[:, 3 * H:], out=tmp)
                c += tmp
                xp.tanh(c, out=tmp)
                xp.multiply(g[:, 2 * H:3 * H], tmp, out=h)  # h = o * tanh(c)
            elif self.cell == "gru":
                rz = g[:, :2 * H]
                xp.tanh(rz, out=rz)
                rz *= 0.5
                rz += 0.5
                n, hn = g[:, 2 * H:3 * H], g[:, 3 * H:]
                hn *= g[:, :H]                             # r * (W_hn h + b_hn)
                n += hn
                xp.tanh(n, out=n)
                xp.subtract(h, n, out=tmp)                 # h = n + z (h - n)
                tmp *= g[:, H:2 * H]
                xp.add(n, tmp, out=h)
            else:
                xp.tanh(g, out=h)
            if k < last:
                self._x[k + 1][...] = h
        if self.head is not None:
            xp.matmul(self._top_h1, self._head_W, out=self._y)
        return self._out

    def run(self, xs) -> numpy.ndarray:
        """Step through a whole sequence (time along axis 0) and return the stacked outputs (a new array)."""
        n = len(xs)
        out = xp.empty((n,) + tuple(self._out.shape), dtype=self.dtype)
        for t in range(n):
            out[t] = self.step(xs[t])
        return out
