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

* each layer keeps one row ``[x_t, h_{t-1}, 1]`` and the fused weight matrix of its cell
  (``layer.step_weights()``: ``[W_ih; W_hh; b_ih + b_hh]``, its columns arranged as the cell's one-step update
  wants them), so the whole pre-activation is one ``matmul`` into a preallocated buffer, the biases included;
* the cell's ``step_update`` does the gate math in place on preallocated buffers and writes the new ``h_t``
  straight into the row, ready for the next step (the cell files say how each arranges its columns);
* the head reads the top layer's ``[h_t, 1]`` with its bias folded in as a last row.

Nothing here knows a particular cell: the layer class says how wide its gate buffer is (``step_width``),
whether it has a memory cell (``has_cell``) and how to step.

``Stream(model, standardize=(mean, std))`` standardises every observation first, ``(x - mean) / std`` per input
(a ``Classifier``'s saved scaling: raw values in, the classifier's logits out).

The stream copies the weights when it is built (``refresh()`` copies them again after more training) and
runs in evaluation mode: dropout is off. Values are not checked per step (NaN in, NaN out); shapes are.
Callers that take values from outside check them first with ``check_input(x)``: finite and at most
``input_limit`` in magnitude, the bound under which the first layer's pre-activations cannot overflow the
model's dtype (a rejected value leaves the state untouched; with ``standardize``, the bound applies to the
standardised value). Weights whose fused form does not fit the dtype (two biases near 3e38 summed), or whose
recurrent and bias columns alone can overflow a step, are refused in one line when the stream is built.
"""

from __future__ import annotations

import numpy

from gatedrnn.backend import to_numpy, xp
from gatedrnn.errors import UserError, check_int
from gatedrnn.layers import Embedding, Linear
from gatedrnn.layers.recurrent import RecurrentStack
from gatedrnn.models.classifier import SequenceClassifier
from gatedrnn.models.front import front_stream, pooling_stream
from gatedrnn.models.language_model import LanguageModel
from gatedrnn.models.regressor import SequenceRegressor


def model_parts(model, front_ok: bool = False) -> tuple[Embedding | None, RecurrentStack, Linear | None]:
    """-> (embedding or None, recurrent stack, head Linear or None). A classifier with a front end (frames, conv,
    running norm) only when ``front_ok`` (``Stream`` runs it; its exports are ``deploy/c99_front.py`` and
    ``deploy/onnx_front.py``)."""
    if isinstance(model, SequenceRegressor):
        return None, model.rnn, model.head
    if isinstance(model, LanguageModel):
        return model.embed, model.rnn, model.out
    if isinstance(model, RecurrentStack):
        return None, model, None
    if isinstance(model, SequenceClassifier):     # its logits as if the sequence ended at each step
        if model.pooling != "last" and not (front_ok and model.pooling in ("mean", "max")):
            raise UserError(f"Stream: expected a SequenceClassifier with pooling 'last' (logits after each step), "
                            f"got pooling {model.pooling!r}")
        if model.front is not None and not front_ok:
            raise UserError("export: expected a SequenceClassifier without a front end (frame, conv, norm; "
                            "exported by deploy/c99_front.py and onnx_front.py: gatedrnn export --c or --onnx), got "
                            "one with a front end")
        return None, model.rnn, model.head
    raise UserError(f"Stream: expected a SequenceRegressor, LanguageModel or LSTM/GRU/RNN stack, got {type(model).__name__}")


def check_fits(what: str, W, dtype) -> None:
    """One line when the float64 matrix ``W`` holds a value that is not finite in ``dtype`` (a weight near 3e38
    doubled or summed with another overflows float32)."""
    limit = float(numpy.finfo(dtype).max)
    big = ~(numpy.abs(W) <= limit)
    if big.any():
        raise UserError(f"{what}: expected values that {numpy.dtype(dtype).name} holds (|w| <= {limit:.3g}), got "
                        f"{float(W[big].reshape(-1)[0]):.3g}")


class Stream:
    """One step at a time through ``model``; see the module docstring."""

    def __new__(cls, model, *args, **kwargs):
        own = getattr(model, "make_stream", None)    # a model with its own one-step form (BlockLM: BlockStream)
        if cls is Stream and own is not None:
            return own(*args, **kwargs)
        return super().__new__(cls)

    def __init__(self, model, batch: int = 1, *, standardize=None):
        check_int("Stream batch", batch)
        self.model = model
        self.embed, self.rnn, self.head = model_parts(model, front_ok=True)
        self.batch = B = int(batch)
        self.dtype = self.rnn.dtype
        cls = self.rnn.layer_class
        width = cls.step_width
        if width is None:
            raise UserError(f"Stream: expected layers with a one-step update, got {cls.__name__}")
        self.cell, self.has_cell = cls.name, cls.has_cell
        H, L = self.rnn.hidden_size, self.rnn.num_layers
        self.hidden_size, self.num_layers = H, L
        dt = self.dtype
        self.front = front_stream(model, B, dt)         # frames / conv / running norm: models/front.py
        self.input_size = self.rnn.input_size if self.front is None else self.front.input_size
        # per layer: the row [x, h, 1], the gate buffer and the slices the step works on (views made once)
        self._rows, self._gates, self._tmp, self._h, self._x, self._c = [], [], [], [], [], []
        self._updates = [layer.step_update for layer in self.rnn.layers]
        for layer in self.rnn.layers:
            D = layer.input_size
            row = xp.zeros((B, D + H + 1), dtype=dt)
            row[:, -1] = 1.0
            self._rows.append(row)
            self._x.append(row[:, :D])
            self._h.append(row[:, D:D + H])
            self._gates.append(xp.empty((B, width * H), dtype=dt))
            self._tmp.append(xp.empty((B, H), dtype=dt))
            self._c.append(xp.zeros((B, H), dtype=dt) if layer.has_cell else None)
        top = self._rows[-1]
        self._top_h1 = top[:, top.shape[1] - H - 1:]           # [h, 1] of the top layer
        self._pooled = pooling_stream(model, B, dt)     # a classifier's running mean or max (models/front.py)
        if self.head is not None:
            self.output_size = self.head.out_features
            self._y = xp.empty((B, self.output_size), dtype=dt)
        else:
            self.output_size = H
            self._y = self._h[-1]
        self._out = self._y[0] if B == 1 else self._y
        self._weights: list = []
        self.scale = None if standardize is None else self._scale(standardize)
        self.refresh()
        self._head_of_zero_state()

    def _head_of_zero_state(self) -> None:
        """Before a front end's first frame, the output is the head of the zero state."""
        if self.front is not None and self.head is not None:
            xp.matmul(self._top_h1, self._head_W, out=self._y)

    def _scale(self, standardize) -> tuple[numpy.ndarray, numpy.ndarray]:
        """``standardize`` = (mean, std), each ``input_size`` finite numbers, std > 0."""
        if self.embed is not None:
            raise UserError("Stream standardize: expected a model with numeric inputs, got a language model")
        D = self.input_size
        if not (isinstance(standardize, (tuple, list)) and len(standardize) == 2):
            raise UserError(f"Stream standardize: expected a pair (mean, std), got {type(standardize).__name__}")
        try:
            mean, std = (numpy.asarray(a, dtype=numpy.float64) for a in standardize)
        except (TypeError, ValueError):        # NumPy's answer to text or ragged lists
            raise UserError("Stream standardize: expected (mean, std) as numbers, got something else") from None
        if mean.shape != (D,) or std.shape != (D,) or not numpy.isfinite([mean, std]).all() or not (std > 0).all():
            raise UserError(f"Stream standardize: expected (mean, std) of {D} finite numbers each, std > 0, got "
                            f"shapes {mean.shape} and {std.shape}")
        return mean, std

    # -- weights ------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Copy (and fuse) the model's current weights; call after the model was trained further."""
        fused = [numpy.asarray(to_numpy(layer.step_weights()), dtype=numpy.float64) for layer in self.rnn.layers]
        for k, W in enumerate(fused):
            check_fits(f"Stream: layer {k}'s fused step matrix (its biases b_ih + b_hh summed)", W, self.dtype)
        self._weights = [xp.asarray(W, dtype=self.dtype) for W in fused]
        if self.head is not None:
            Wo = numpy.asarray(to_numpy(self.head.W), dtype=numpy.float64).T
            b = numpy.zeros(self.output_size) if self.head.b is None else numpy.asarray(to_numpy(self.head.b), dtype=numpy.float64)
            self._head_W = xp.asarray(numpy.concatenate([Wo, b[None]], axis=0), dtype=self.dtype)
        if self.embed is not None:
            self._embed_W = self.embed.W  # read live: a row copy per step
        self.input_limit = self._input_limit()
        front = getattr(self, "front", None)
        if front is not None:
            self.input_limit = front.raw_limit(self.input_limit)

    def _input_limit(self) -> float:
        """The largest |x| for which no pre-activation of the first layer can overflow the dtype: each gate column
        is ``sum_i x_i W_ij + sum_k h_k W_kj + b_j`` with |h| <= 1 (tanh-bounded cells); a quarter of the dtype's
        range leaves room for a cell adding two columns and for rounding. Infinite for token ids. Weights whose
        recurrent and bias rows alone leave no room (a step may overflow whatever the input) are one line."""
        if self.embed is not None:
            return float("inf")
        W = numpy.abs(to_numpy(self._weights[0]).astype(numpy.float64))
        D = self.input_size
        quarter, fixed = float(numpy.finfo(self.dtype).max) / 4, float(W[D:].sum(axis=0).max())
        if not fixed < quarter:
            raise UserError(f"Stream: expected weights under which a step cannot overflow {numpy.dtype(self.dtype).name} "
                            f"(recurrent and bias columns summing to below {quarter:.3g} in magnitude), got a column "
                            f"summing to {fixed:.3g}")
        return (quarter - fixed) / max(float(W[:D].sum(axis=0).max()), 1.0)

    def check_input(self, x, where: str = "Stream.step") -> None:
        """Refuse an observation with a value that is not finite or, standardised when the stream standardises, above
        ``input_limit`` in magnitude (one line starting with ``where``); the state is not touched."""
        v = numpy.asarray(x, dtype=numpy.float64).reshape(-1)
        z = v
        if self.scale is not None and v.size % self.input_size == 0:
            with numpy.errstate(over="ignore", invalid="ignore"):
                z = ((v.reshape(-1, self.input_size) - self.scale[0]) / self.scale[1]).reshape(-1)
        ok = numpy.abs(z) <= self.input_limit
        if ok.all():
            return
        i = int(numpy.argmin(ok))
        lim, dt = self.input_limit, numpy.dtype(self.dtype).name
        if self.scale is None:
            raise UserError(f"{where}: expected finite values within ±{lim:.3g} (beyond, the model's {dt} "
                            f"overflows), got {float(v[i])!r}")
        j = i % self.input_size
        m, sd = float(self.scale[0][j]), float(self.scale[1][j])
        raise UserError(f"{where}: expected finite values within [{m - lim * sd:.3g}, {m + lim * sd:.3g}] for input "
                        f"{j + 1} (beyond, the model's {dt} overflows after the saved standardisation), "
                        f"got {float(v[i])!r}")

    # -- state --------------------------------------------------------------------------------------------
    def reset(self, state=None) -> None:
        """Zero the recurrent state, or set it from ``state`` (PyTorch layout: (h, c) with a memory cell, each
        (num_layers, batch, hidden))."""
        if self.front is not None:
            self.front.reset()
        if self._pooled is not None:
            self._pooled.reset()
        if state is None:
            for k in range(self.num_layers):
                self._h[k][...] = 0
                ck = self._c[k]
                if ck is not None:
                    ck[...] = 0
            self._head_of_zero_state()
            return
        L, B, H = self.num_layers, self.batch, self.hidden_size
        if self.has_cell and not (isinstance(state, (tuple, list)) and len(state) == 2):
            raise UserError(f"Stream.reset state: expected a pair (h, c), got {type(state).__name__}")
        h, c = (state if self.has_cell else (state, None))
        for name, a in (("h", h), ("c", c)):
            if a is None:
                continue
            if tuple(numpy.shape(a)) != (L, B, H):
                raise UserError(f"Stream.reset state {name}: expected shape {(L, B, H)}, got {tuple(numpy.shape(a))}")
        for k in range(L):
            self._h[k][...] = h[k]
            ck = self._c[k]
            if c is not None and ck is not None:   # c is given exactly when the cell has one
                ck[...] = c[k]

    @property
    def state(self):
        """A copy of the current state in PyTorch's layout: ``(h, c)`` for a cell with a memory cell, else ``h``."""
        h = xp.stack([a.copy() for a in self._h])
        return (h, xp.stack([a.copy() for a in self._c])) if self.has_cell else h

    # -- one step ------------------------------------------------------------------------------------------
    def _set_input(self, x) -> None:
        if self.embed is not None:
            ids = numpy.asarray(x)
            if not numpy.issubdtype(ids.dtype, numpy.integer) or ids.size != self.batch:
                raise UserError(f"Stream.step: expected {self.batch} integer token id(s), got {ids!r}")
            V = self._embed_W.shape[0]
            if ids.size == 1:
                i = int(ids.reshape(())) if ids.ndim == 0 else int(ids.reshape(-1)[0])
                if not 0 <= i < V:
                    raise UserError(f"Stream.step: expected a token id in [0, {V}), got {i}")
                self._x[0][0] = self._embed_W[i]
            else:
                if int(ids.min()) < 0 or int(ids.max()) >= V:
                    raise UserError(f"Stream.step: expected token ids in [0, {V}), got values in [{int(ids.min())}, {int(ids.max())}]")
                self._x[0][...] = self._embed_W[ids.reshape(-1)]
            return
        try:
            if self.scale is not None:
                with numpy.errstate(over="ignore"):
                    x = (numpy.asarray(x, dtype=numpy.float64) - self.scale[0]) / self.scale[1]
            self._x[0][...] = x
        except (ValueError, TypeError):
            raise UserError(f"Stream.step: expected an observation of shape ({self.input_size},)"
                             f"{'' if self.batch == 1 else f' or ({self.batch}, {self.input_size})'}, "
                             f"got {numpy.shape(x)}") from None

    def step(self, x):
        """Feed one observation (``(input_size,)``, or ``(batch, input_size)``; a token id for a language
        model) and return the prediction: a view of an internal buffer, overwritten by the next step."""
        if self.front is None:
            self._set_input(x)
        elif not self.front.push(x, self._x[0], self.scale):
            return self._out
        last = self.num_layers - 1
        for k in range(self.num_layers):
            g, h = self._gates[k], self._h[k]
            xp.matmul(self._rows[k], self._weights[k], out=g)
            self._updates[k](g, h, self._c[k], self._tmp[k])
            if k < last:
                self._x[k + 1][...] = h
        if self.head is not None:
            top = self._top_h1 if self._pooled is None else self._pooled.add(self._h[-1])
            xp.matmul(top, self._head_W, out=self._y)
        return self._out

    def run(self, xs) -> numpy.ndarray:
        """Step through a whole sequence (time along axis 0) and return the stacked outputs (a new array)."""
        n = len(xs)
        out = xp.empty((n,) + tuple(self._out.shape), dtype=self.dtype)
        for t in range(n):
            out[t] = self.step(xs[t])
        return out
