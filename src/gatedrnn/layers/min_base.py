"""What minGRU and minLSTM share: the layer over a whole sequence, its backward, and the multi-layer stack.

minGRU and minLSTM (Feng et al. 2024, "Were RNNs All We Needed?", arXiv 2410.01201) drop the gates' dependence
on ``h_{t-1}``: every gate is a function of ``x_t`` alone, so all of them are computed for all T steps at once
(one GEMM and elementwise passes), and what is left of the recurrence is elementwise and linear in h::

    h_t = a_t * h_{t-1} + (1 - a_t) * v_t      a_t the keep gate (minGRU: 1 - z_t; minLSTM: f_t / (f_t + i_t)),
                                               v_t = g(Linear_h(x_t)), g(p) = p + 0.5 (p >= 0), sigmoid(p) (p < 0)

run over time by ``layers/scan.py`` (the linear recurrence and its reverse; ``scan=`` picks one of its
``SCANS``). A cell file (mingru.py, minlstm.py) adds its gate math; its ONNX form is deploy's
(``deploy/onnx_min.py``), its C step too (``deploy/cells/``).
"""

from __future__ import annotations

import math

import numpy

import gatedrnn.layers.scan as scan_math
from gatedrnn.backend import sigmoid_, to_numpy, xp
from gatedrnn.errors import check_choice
from gatedrnn.init import uniform
from gatedrnn.layers.base import Layer
from gatedrnn.layers.recurrent import RecurrentLayer, RecurrentStack
from gatedrnn.layers.scan import DEFAULT_SCAN, SCANS, linear_scan, reverse_linear_scan


def candidate_(p, tmp):
    """``p <- g(p) = sigmoid(min(p, 0)) + max(p, 0)`` in place (= p + 0.5 for p >= 0, sigmoid(p) below: positive,
    continuous, slope 1 above 0), ``tmp`` of p's shape as scratch."""
    xp.minimum(p, 0.0, out=tmp)
    sigmoid_(tmp)
    xp.maximum(p, 0.0, out=p)
    p += tmp
    return p


def sigmoid_of_negated_(p):
    """``p <- sigmoid(-p) = 1 / (1 + exp(p))`` in place (p holds a negated pre-activation): the exp form, with full
    relative precision in the lower tail of the sigmoid (down to exp's overflow, where it gives 0), which the
    minLSTM's ratio f / (f + i) needs; the tanh form loses it in float32 below about -9."""
    with numpy.errstate(over="ignore"):
        xp.exp(p, out=p)
    p += 1.0
    xp.reciprocal(p, out=p)
    return p


class MinLayer(RecurrentLayer):
    """One min-cell layer: ``weight_ih`` (internally (D, G*H)) and ``bias_ih`` ((G*H,)), block ``G - 1`` the
    candidate, the others the gates; initialised U(-1/sqrt(D), 1/sqrt(D)), ``nn.Linear``'s default. No
    recurrent weights: ``Wh`` is the empty (H, 0) matrix and ``b_hh`` the empty vector (not parameters), so code
    that scales or redraws every layer's ``Wh`` and zeroes its ``b_hh`` has nothing to do for these cells.

    ``forward`` keeps the pre-activations as G contiguous (T, B, H) blocks ``P[j]`` (one GEMM each): elementwise
    passes over a column block of a (T, B, G*H) array ran ~2x slower on NumPy (short inner loops). Block j is
    computed multiplied by ``pre_scale[j]`` (exact: -1, +-0.5), which saves the cells' gate math a pass or two.
    A subclass defines ``_gates(P, A)`` (the keep gate a_t into A, which is P[0] itself when ``keep_in_place``,
    leaving in P what ``_gate_grads`` needs) and ``_gate_grads(P, A, R)`` (writing the gate blocks'
    pre-activation gradients into P; ``R = e (1 - a) (v - h_{t-1})``, so that ``R a`` is dL/dlogit for
    a = sigmoid(-logit)). Both run on one time range at a time (``_chunks``)."""

    pre_scale: tuple = ()
    keep_in_place = False           # the keep gate a_t is computed in place in block 0 of P

    def __init__(self, input_size, hidden_size, *, dtype, rng, scan: str = DEFAULT_SCAN):
        Layer.__init__(self)
        G, H, D = self.gates, hidden_size, input_size
        k = 1.0 / math.sqrt(D)
        self.input_size, self.hidden_size = D, H
        self.Wx = self.add_param("weight_ih", uniform(rng, (D, G * H), k, dtype))
        self.b_ih = self.add_param("bias_ih", uniform(rng, (G * H,), k, dtype))
        self.Wh, self.b_hh = xp.zeros((H, 0), dtype=dtype), xp.zeros((0,), dtype=dtype)
        self.transposed = {"weight_ih"}
        self.scan = check_choice("scan", scan, SCANS)
        self.cache = None

    def step_weights(self):
        """``[W_ih; 0; b_ih]``, block j times ``pre_scale[j]`` as in ``forward``: the h rows are zero (no gate
        reads h_{t-1})."""
        D, H, G = self.input_size, self.hidden_size, self.gates
        W = numpy.zeros((D + H + 1, G * H))
        W[:D], W[D + H] = to_numpy(self.Wx), to_numpy(self.b_ih)
        for j, scale in enumerate(self.pre_scale):
            W[:, j * H:(j + 1) * H] *= scale
        return W

    def _chunks(self, T, B):
        """Time ranges of about 32 K values per (rows, B, H) slice (128 KiB in float32): the elementwise passes of
        a range run while it is still in the core's cache, instead of streaming every (T, B, H) array once per
        pass (B = 16, H = 256, T = 512, one thread, interleaved medians under load: MinGRU's training step 108.6 ->
        94.8 ms, MinLSTM's 157.5 -> 139.2 ms; one range for all of T is ``CHUNK_VALUES = 1 << 30``)."""
        rows = max(1, scan_math.CHUNK_VALUES // (B * self.hidden_size))
        return [(t0, min(T, t0 + rows)) for t0 in range(0, T, rows)]

    def forward(self, x, h0, c0=None):
        """x (T, B, D) contiguous, h0 (B, H) -> (h_1..h_T as (T, B, H), h_T, None)."""
        T, B, D = x.shape
        H, G = self.hidden_size, self.gates
        if T == 0:                                       # zero steps: no outputs, the start state (as RNN/GRU/LSTM)
            Hs = xp.empty((1, B, H), dtype=self.Wx.dtype)
            Hs[0] = h0
            self.cache = (x, None, None, None, Hs)
            return Hs[1:], Hs[0], None
        P = xp.empty((G, T, B, H), dtype=self.Wx.dtype)  # every gate of every step, one contiguous block each
        X = x.reshape(T * B, D)
        # (G, D, H), a copy (a column slice as operand ran 1.6x slower; with D = 1 the transpose is contiguous
        # already, and scaling a view in place would change the weights)
        Wb = self.Wx.reshape(D, G, H).transpose(1, 0, 2).copy()
        for j, scale in enumerate(self.pre_scale):
            if scale != 1.0:
                Wb[j] *= scale
            xp.matmul(X, Wb[j], out=P[j].reshape(T * B, H))
            P[j] += self.b_ih[j * H:(j + 1) * H] * scale
        A = P[0] if self.keep_in_place else xp.empty((T, B, H), dtype=P.dtype)
        V, pos = P[G - 1], xp.empty((T, B, H), dtype=bool)   # pos: the branch of g, for its derivative
        Hs = xp.empty((T + 1, B, H), dtype=P.dtype)
        Hs[0] = h0
        loop, ranges = self.scan == "loop", self._chunks(T, B)
        b = xp.empty((ranges[0][1] if loop else T, B, H), dtype=P.dtype)   # the loop needs b one range at a time
        for t0, t1 in ranges:
            a, v, bc = A[t0:t1], V[t0:t1], (b[:t1 - t0] if loop else b[t0:t1])
            self._gates(P[:, t0:t1], a)
            xp.greater_equal(v, 0.0, out=pos[t0:t1])
            candidate_(v, Hs[t0 + 1:t1 + 1])         # (the rows of Hs the scan writes next serve as scratch)
            xp.subtract(1.0, a, out=bc)              # b_t = (1 - a_t) v_t
            bc *= v
            for t in range(t0, t1) if loop else ():
                xp.multiply(A[t], Hs[t], out=Hs[t + 1])
                Hs[t + 1] += bc[t - t0]
        if not loop:
            linear_scan(A, b, h0, Hs, self.scan)
        self.cache = (x, P, A, pos, Hs)
        return Hs[1:], Hs[T], None

    def backward(self, dY, dhT, dcT=None):
        """dY (T, B, H) or None, dhT (B, H) or None -> (dx (T, B, D), dh0, None)."""
        x, P, A, pos, Hs = self._need_cache()
        T, B, D = x.shape
        H, G = self.hidden_size, self.gates
        if T == 0:                                       # zero steps: the final state's gradient is the start state's
            dh0 = xp.zeros((B, H), dtype=Hs.dtype) if dhT is None else xp.array(dhT, dtype=Hs.dtype)
            return xp.zeros((0, B, D), dtype=Hs.dtype), dh0, None
        loop = self.scan == "loop"
        E, dh0 = (None, None) if loop else reverse_linear_scan(A, dY, dhT, self.scan)
        rows = self._chunks(T, B)
        scratch = xp.empty((3, rows[0][1], B, H), dtype=P.dtype)
        e = xp.zeros((B, H), dtype=P.dtype) if dhT is None else xp.array(dhT, dtype=P.dtype)  # e_t, carried
        a_next = xp.empty((B, H), dtype=P.dtype)     # a at the start of the range after (A may be overwritten)
        for t0, t1 in reversed(rows):
            n = t1 - t0
            if loop:                                 # the reverse scan over this range, into scratch[0]
                Ec = scratch[0, :n]
                for t in range(t1 - 1, t0 - 1, -1):
                    if t < T - 1:
                        xp.multiply(A[t + 1] if t + 1 < t1 else a_next, e, out=e)
                    if dY is not None:
                        e += dY[t]
                    Ec[t - t0] = e
                a_next[...] = A[t0]
            else:
                Ec = E[t0:t1]
            self._backward_range(P[:, t0:t1], A[t0:t1], pos[t0:t1], Hs[t0:t1], Ec, scratch[1, :n], scratch[2, :n])
        if loop:
            dh0 = a_next * e
        X = x.reshape(T * B, D)
        dx = None
        for j in range(G):
            dP, cols = P[j].reshape(T * B, H), slice(j * H, (j + 1) * H)
            self.grads[0][:, cols] += X.T @ dP
            self.grads[1][cols] += dP.sum(axis=0)
            part = dP @ self.Wx[:, cols].T
            dx = part if dx is None else xp.add(dx, part, out=dx)
        return dx.reshape(T, B, D), dh0, None

    def _backward_range(self, P, A, pos, Hprev, E, dv, R):
        """The pre-activation gradients of one time range into P, from E = dL/dh over it (overwritten)."""
        V = P[self.gates - 1]
        xp.subtract(1.0, A, out=dv)                  # dv = e (1 - a)
        dv *= E
        xp.subtract(V, Hprev, out=R)                 # r = e (1 - a) (v - h_{t-1}): -da (1 - a), da = e (h_{t-1} - v)
        R *= dv
        xp.subtract(1.0, V, out=E)                   # g'(p): 1 above 0, v (1 - v) below
        E *= V
        xp.maximum(E, pos, out=E)                    # 1 where p >= 0 (v (1 - v) <= 1/4 elsewhere): branch-free,
        xp.multiply(dv, E, out=V)                    # ~20x faster than copyto(where=) on random signs
        self._gate_grads(P, A, R)


class MinStack(RecurrentStack):
    """A stack of min-cell layers; ``scan`` (one of ``SCANS``) picks how the layers run the recurrence over time."""

    def __init__(self, input_size, hidden_size, num_layers=1, *, dropout=0.0, dtype=None, seed=None,
                 scan: str = DEFAULT_SCAN, **cell_kwargs):
        super().__init__(input_size, hidden_size, num_layers, dropout=dropout, dtype=dtype, seed=seed, scan=scan,
                         **cell_kwargs)

    def _min_layers(self) -> list[MinLayer]:
        return [layer for layer in self.layers if isinstance(layer, MinLayer)]

    @property
    def scan(self) -> str:
        return self._min_layers()[0].scan

    @scan.setter
    def scan(self, method: str) -> None:
        check_choice("scan", method, SCANS)
        for layer in self._min_layers():
            layer.scan = method
