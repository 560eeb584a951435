"""What the RNN, LSTM and GRU layers share: parameters of one layer, and the multi-layer batch-first stack.

A cell file (rnn.py, lstm.py, gru.py) writes one layer's ``forward``/``backward`` over a whole sequence,
time-major, with the structure that makes it fast:

* the input projection of all T steps is one GEMM before the time loop;
* the loop does only the recurrent product ``h_{t-1} @ W_hh`` and the elementwise gate math, writing into
  arrays allocated once per call (no per-step allocation);
* in backward the weight gradients of all steps are single GEMMs after the loop, and the loop's product
  ``dh_{t-1} = dgates @ W_hh^T`` is computed as its transpose ``W_hh @ dgates^T`` into an (H, B) buffer:
  the same arithmetic, but OpenBLAS runs that operand order about 1.5x faster when one side has only
  batch-many rows (measured at B=20, H=650: 0.95 ms against 1.45 ms per step on one core).

Internally a layer keeps ``W_ih`` as (input, G*hidden) and ``W_hh`` as (hidden, G*hidden) so that ``x @ W``
reads the book's way; PyTorch stores the transposes. ``state_dict`` and friends convert, and that
conversion (a transpose, the gate order being PyTorch's) is the only place that knows PyTorch's layout.

A cell also describes itself to the code above the layers, so that nothing there names a cell: its registry
``name``, whether it has a memory cell (``has_cell``) and a forget gate (``forget_gate``), its one-step update
for streaming inference (``step_width``, ``step_weights``, ``step_update``: what ``models/stream.py`` runs). Its
ONNX and C99 forms are deploy's, keyed by the registry name (``deploy/cells/``).
"""

from __future__ import annotations

import math

import numpy

from gatedrnn.backend import resolve_dtype, to_numpy, xp
from gatedrnn.errors import UserError, check_dim, check_finite, check_finite_number, check_float, check_int, check_rank, check_shape
from gatedrnn.init import uniform
from gatedrnn.layers.base import Layer
from gatedrnn.layers.dropout import Dropout


class RecurrentLayer(Layer):
    """One recurrent layer with ``gates`` blocks of ``hidden_size`` rows, initialised U(-1/sqrt(H), 1/sqrt(H)).

    Parameters (PyTorch's names): ``weight_ih`` (internally (D, G*H)), ``weight_hh`` ((H, G*H)),
    ``bias_ih`` and ``bias_hh`` ((G*H,)). The uniform bound 1/sqrt(H) is PyTorch's default for its
    recurrent layers, so a fresh gatedrnn layer is distributed like a fresh torch one.
    """

    name: str | None = None        # the registry name (``gatedrnn.CELLS``); None for a class that is no cell
    gates = 1                      # blocks of hidden_size rows in the weights
    has_cell = False               # a memory cell c besides h: the state is a pair (h, c)
    forget_gate: int | None = None  # index of the forget-gate block, for cells that have one
    step_width: int | None = None  # columns of the one-step pre-activation buffer, in blocks of hidden_size

    def __init__(self, input_size: int, hidden_size: int, *, dtype, rng: numpy.random.Generator):
        super().__init__()
        G, H = self.gates, hidden_size
        k = 1.0 / math.sqrt(H)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.Wx = self.add_param("weight_ih", uniform(rng, (input_size, G * H), k, dtype))
        self.Wh = self.add_param("weight_hh", uniform(rng, (H, G * H), k, dtype))
        self.b_ih = self.add_param("bias_ih", uniform(rng, (G * H,), k, dtype))
        self.b_hh = self.add_param("bias_hh", uniform(rng, (G * H,), k, dtype))
        self.transposed = {"weight_ih", "weight_hh"}  # stored as the transpose of PyTorch's layout
        self.cache = None
        self._Wh_pad = self._WhT = None
        self._bufs: dict = {}

    def set_forget_bias(self, value: float) -> None:
        """Set the forget gate's bias: all of ``value`` in ``bias_ih``'s forget block, ``bias_hh``'s forget block
        0. Does nothing for a cell without a forget gate."""
        check_finite_number("forget_bias", value)
        if self.forget_gate is None:
            return
        lo = self.forget_gate * self.hidden_size
        self.b_ih[lo:lo + self.hidden_size] = value
        self.b_hh[lo:lo + self.hidden_size] = 0.0

    # -- one step at a time (streaming inference) ----------------------------------------------------
    def step_weights(self) -> numpy.ndarray:
        """The fused float64 matrix ``(input_size + hidden_size + 1, step_width * hidden_size)`` of the one-step
        update: ``[x_t, h_{t-1}, 1] @ step_weights()`` is the whole pre-activation of a step, biases included.
        The plain layout ``[W_ih; W_hh; b_ih + b_hh]``; a cell whose ``step_update`` needs another overrides it."""
        Wx, Wh, bi, bh = self._float64_params()
        return numpy.concatenate([Wx, Wh, (bi + bh)[None]], axis=0)

    def _float64_params(self):
        return tuple(to_numpy(a).astype(numpy.float64) for a in (self.Wx, self.Wh, self.b_ih, self.b_hh))

    @staticmethod
    def step_update(g, h, c, tmp) -> None:
        """One step, in place: ``g`` (batch, step_width * H) holds ``[x_t, h_{t-1}, 1] @ step_weights()`` and
        may be overwritten; ``h`` (batch, H) holds h_{t-1} and receives h_t; ``c`` (batch, H) likewise for the
        memory cell (None without one); ``tmp`` (batch, H) is scratch. No allocation: it runs every step."""
        raise NotImplementedError("a cell with a step_width defines its step_update")

    def _hh_for_loop(self):
        """``W_hh`` as the forward time loop reads it: the array itself, or a copy in rows padded by 16 values
        when a row is a multiple of 4 KiB long (power-of-two hidden sizes: 256, 512, 1024 ...). Equal strides of
        a multiple of 4 KiB alias in the cache while OpenBLAS packs the operand, and ``h @ W_hh`` at 20 rows
        then runs ~1.5x slower (H=512: 0.79 against 0.54 ms per step); the copy costs one pass per call."""
        Wh = self.Wh
        if xp is not numpy or (Wh.shape[1] * Wh.itemsize) % 4096:
            return Wh
        buf = self._Wh_pad
        if buf is None or buf.shape[0] != Wh.shape[0] or buf.dtype != Wh.dtype:
            buf = self._Wh_pad = xp.empty((Wh.shape[0], Wh.shape[1] + 16), dtype=Wh.dtype)
        view = buf[:, :Wh.shape[1]]
        view[...] = Wh
        return view

    def _scratch(self, key: str, shape, dtype):
        """A work array of the layer's under ``key``, kept between calls while shape and dtype match (its values
        are not). Fresh arrays of this size cost a page fault per 4 KiB on every call, glibc handing the pages
        back and forth: ~1 900 faults and ~15 % of the time of a training call at B=16 T=35 H=256. Only for
        arrays no caller keeps: the forward's cache, backward's work; outputs stay fresh arrays."""
        buf = self._bufs.get(key)
        if buf is None or buf.shape != tuple(shape) or buf.dtype != dtype:
            buf = self._bufs[key] = xp.empty(shape, dtype=dtype)
        return buf

    def _transposed_loop(self, B: int, compiled: bool = False) -> bool:
        """Whether the forward loop computes ``h_{t-1} W_hh`` as its transpose ``W_hh^T h_{t-1}^T`` from the copy
        ``_hh_transposed``: OpenBLAS reads the large operand ~1.3x faster with the summed axis contiguous (B=20,
        H=650: 0.98 against 1.29 ms per step; B=16, H=256: 0.11 against 0.17; B=64, H=96: 0.059 against 0.068),
        while the copy costs one pass over W_hh per call and NumPy's add of the (4H, B) product back into the
        gates is a strided pass: in the NumPy loops a loss below H=128 (B20 H100: 2.6 against 2.2 ms forward),
        in the compiled one (``compiled``) a gain from H=64. The float32 bits are those of ``h @ W_hh`` at the
        sizes checked (B=20 H=650 among them), not at every size."""
        return xp is numpy and B >= 8 and self.hidden_size >= (64 if compiled else 128)

    def _hh_transposed(self, scale=None):
        """``W_hh^T`` (G*H, H), times ``scale`` (G*H,) per row when given, in a buffer of the layer's (rows padded by
        16 values when a row is a multiple of 4 KiB, see ``_hh_for_loop``), copied 32 rows of W_hh at a time."""
        Wh = self.Wh
        H, GH = Wh.shape
        pad = 16 if (H * Wh.itemsize) % 4096 == 0 else 0
        buf = self._WhT
        if buf is None or buf.shape != (GH, H + pad) or buf.dtype != Wh.dtype:
            buf = self._WhT = xp.empty((GH, H + pad), dtype=Wh.dtype)
        out = buf[:, :H]
        for i in range(0, H, 32):
            if scale is None:
                out[:, i:i + 32] = Wh[i:i + 32].T
            else:
                xp.multiply(Wh[i:i + 32].T, scale[:, None], out=out[:, i:i + 32])
        return out

    def _accumulate(self, x, Hs, dXW, dHW=None):
        """Weight and bias gradients of all steps as single GEMMs; returns dx (T, B, D)."""
        T, B, D = x.shape
        GH = dXW.shape[-1]
        dXW2 = dXW.reshape(T * B, GH)
        dHW2 = dXW2 if dHW is None else dHW.reshape(T * B, GH)
        for k, a, d in ((0, x.reshape(T * B, D), dXW2), (1, Hs[:T].reshape(T * B, self.hidden_size), dHW2)):
            if k == 0 and D == 2 and T * B >= 4096:   # OpenBLAS's GEMM with 2 rows of x^T is slow here: 2.2 ms
                self.grads[0] += xp.einsum("nd,ng->dg", a, d)   # against 0.75 at T*B = 10752, 4H = 288
            else:
                self.grads[k] += xp.matmul(a.T, d, out=self._scratch(f"dW{k}", self.grads[k].shape, d.dtype))
        db = dXW2.sum(axis=0)
        self.grads[2] += db
        self.grads[3] += db if dHW is None else dHW2.sum(axis=0)
        return (dXW2 @ self.Wx.T).reshape(T, B, D)

    def cell_states(self):
        """The memory cells c_1..c_T (T, B, H) of the last forward, for a cell with ``has_cell`` (the stack takes
        each sequence's final c from them when lengths vary); None otherwise."""
        return None

    def _need_cache(self):
        if self.cache is None:
            raise UserError(f"{type(self).__name__}.backward: expected a forward call first, got none")
        cache, self.cache = self.cache, None
        return cache


class RecurrentStack(Layer):
    """``num_layers`` recurrent layers over batch-first input ``(batch, time, input_size)``.

    ``forward(x, state=None, lengths=None) -> (y, state)``: ``y`` is ``(batch, time, hidden_size)``, the top layer's
    outputs; ``state`` is the final state of every layer stacked as ``(num_layers, batch, hidden_size)``
    (a pair ``(h, c)`` for the LSTM), PyTorch's convention; ``None`` means zeros.

    ``backward(dy, dstate=None) -> dx`` accumulates every weight gradient; ``dy`` may be ``None`` (loss on
    the final state only) and ``dstate`` is the gradient of the final state. The gradient with respect to
    the initial state is left in ``self.dstate`` (same structure as ``state``), for Truncated BPTT and tests.

    ``dropout`` is applied to the outputs of every layer but the last in training mode, as in PyTorch.

    Variable lengths: ``forward(x, state=None, lengths=None)`` with ``lengths`` an integer array (batch,),
    ``1 <= lengths[b] <= time``, is what ``torch.nn.utils.rnn.pack_padded_sequence`` gives: sequence b's final
    state is the state after its step ``lengths[b]``, its outputs past that step are zero, and ``backward`` lets
    no gradient in from the padding. A recurrent layer is causal, so the padded batch runs as it is; the final
    state is gathered at step ``lengths[b] - 1``, and in backward ``dy`` past each length is zeroed and the
    final-state gradient enters at that step (``h`` through the output gradient, an LSTM's ``c`` through the
    layer's per-step ``dC``). Layer k+1 reads layer k's padded outputs, but those steps get no gradient.
    """

    layer_class = RecurrentLayer
    name: str | None = None        # the layer class's name, copied by each subclass

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.name = cls.layer_class.name

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, *, dropout: float = 0.0,
                 dtype=None, seed=None, **cell_kwargs):
        super().__init__()
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            check_int(f"{type(self).__name__} {name}", v)
        self.dtype = resolve_dtype(dtype)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.dropout = float(dropout)
        rng = numpy.random.default_rng(seed)
        self.layers, self.drops = [], []
        for k in range(num_layers):
            layer = self.layer_class(input_size if k == 0 else hidden_size, hidden_size, dtype=self.dtype,
                                     rng=rng, **cell_kwargs)
            self.layers.append(self.add_child("", layer, suffix=f"_l{k}"))
            if k < num_layers - 1:
                self.drops.append(self.add_child("", Dropout(self.dropout, seed=rng.integers(2**63))))
        self.dstate = None

    # -- state ------------------------------------------------------------------------------------
    def _zeros(self, B):
        return xp.zeros((self.num_layers, B, self.hidden_size), dtype=self.dtype)

    def _check_state_part(self, name, s, B):
        check_shape(f"{type(self).__name__} {name}", s, (self.num_layers, B, self.hidden_size))
        check_float(f"{type(self).__name__} {name}", s)
        check_finite(f"{type(self).__name__} {name}", s)
        return xp.asarray(s, dtype=self.dtype)

    def _split_state(self, state, B):
        """-> (h0, c0) arrays of shape (L, B, H); c0 is None for cells without a memory cell."""
        cls = type(self).__name__
        has_cell = self.layer_class.has_cell
        if state is None:
            return self._zeros(B), (self._zeros(B) if has_cell else None)
        if has_cell:
            if not (isinstance(state, (tuple, list)) and len(state) == 2):
                raise UserError(f"{cls} state: expected a pair (h, c) of arrays (num_layers, batch, hidden), got {type(state).__name__}")
            return self._check_state_part("state h", state[0], B), self._check_state_part("state c", state[1], B)
        if isinstance(state, (tuple, list)):
            raise UserError(f"{cls} state: expected one array (num_layers, batch, hidden), got a {type(state).__name__}")
        return self._check_state_part("state", state, B), None

    # -- forward / backward -----------------------------------------------------------------------
    def _check_lengths(self, lengths, B, T):
        """-> the lengths as an int64 array (batch,) on the backend, each in [1, T]; None stays None."""
        if lengths is None:
            return None
        name = f"{type(self).__name__} lengths"
        L = numpy.asarray(to_numpy(lengths))
        check_shape(name, L, (B,))
        if not numpy.issubdtype(L.dtype, numpy.integer):
            raise UserError(f"{name}: expected an integer array (batch,), got dtype {L.dtype}")
        if B and (int(L.min()) < 1 or int(L.max()) > T):
            raise UserError(f"{name}: expected values in [1, {T}] (the padded time axis), got values in "
                            f"[{int(L.min())}, {int(L.max())}]")
        return xp.asarray(L, dtype=xp.int64)

    def forward(self, x, state=None, lengths=None):
        cls = type(self).__name__
        check_rank(f"{cls} input", x, 3, "(batch, time, input_size)")
        check_float(f"{cls} input", x)
        check_dim(f"{cls} input", x, 2, self.input_size, "input_size")
        check_finite(f"{cls} input", x)
        B, T = x.shape[:2]
        L = self._check_lengths(lengths, B, T)
        h0, c0 = self._split_state(state, B)
        inp = xp.ascontiguousarray(x.transpose(1, 0, 2), dtype=self.dtype)
        hs, cs = [], []
        for k, layer in enumerate(self.layers):
            if k > 0:
                inp = self.drops[k - 1].forward(inp)
            inp, hT, cT = layer.forward(inp, h0[k], None if c0 is None else c0[k])
            if L is not None:                       # the state after each sequence's own last step
                rows, last = xp.arange(B), L - 1
                hT = inp[last, rows]
                cT = None if cT is None else layer.cell_states()[last, rows]
            hs.append(hT)
            cs.append(cT)
        self._B, self._lengths = B, L
        self._valid = None if L is None else (xp.arange(T)[:, None] < L[None, :])[..., None]  # (T, B, 1)
        if L is not None:
            inp = inp * self._valid                 # outputs past each length are zero (a copy: the cache keeps h)
        h = xp.stack(hs)
        y = inp.transpose(1, 0, 2)
        return y, ((h, xp.stack(cs)) if c0 is not None else h)

    def _at_lengths(self, dY, dh, dc, T, B):
        """The final-state gradients ``dh``, ``dc`` (B, H) moved to step ``lengths[b] - 1``: ``dh`` added into the
        output gradient ``dY`` (T, B, H; None = zeros; written in place), ``dc`` as a per-step array. -> (dY, dC)."""
        rows, last = xp.arange(B), self._lengths - 1
        if dh is not None:
            if dY is None:
                dY = xp.zeros((T, B, self.hidden_size), dtype=self.dtype)
            dY[last, rows] += dh
        dC = None
        if dc is not None:
            dC = xp.zeros((T, B, self.hidden_size), dtype=self.dtype)
            dC[last, rows] = dc
        return dY, dC

    def backward(self, dy, dstate=None):
        cls = type(self).__name__
        if any(layer.cache is None for layer in self.layers):
            raise UserError(f"{cls}.backward: expected a forward call first, got none")
        B = self._B
        T = self.layers[-1].cache[0].shape[0]
        if dy is not None:
            check_shape(f"{cls}.backward dy", dy, (B, T, self.hidden_size))
            dy = xp.ascontiguousarray(dy.transpose(1, 0, 2), dtype=self.dtype)
            if self._lengths is not None:
                dy = dy * self._valid                   # the zeroed outputs past each length: no gradient
        dh, dc = (None, None) if dstate is None else self._split_state(dstate, B)
        dh0, dc0 = [None] * self.num_layers, [None] * self.num_layers
        for k in reversed(range(self.num_layers)):
            dhk, dck = None if dh is None else dh[k], None if dc is None else dc[k]
            if self._lengths is None:
                dy, dh0[k], dc0[k] = self.layers[k].backward(dy, dhk, dck)
            else:
                dy, dC = self._at_lengths(dy, dhk, dck, T, B)
                extra = {} if dC is None else {"dC": dC}
                dy, dh0[k], dc0[k] = self.layers[k].backward(dy, None, None, **extra)
            if k > 0:
                dy = self.drops[k - 1].backward(dy)
        h = xp.stack(dh0)
        self.dstate = (h, xp.stack(dc0)) if self.layer_class.has_cell else h
        return dy.transpose(1, 0, 2)
