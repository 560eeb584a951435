"""The linear recurrence ``h_t = a_t * h_{t-1} + b_t`` over a whole sequence, and what the min cells share.

minGRU and minLSTM (Feng et al. 2024, "Were RNNs All We Needed?", arXiv 2410.01201) drop the gates' dependence
on ``h_{t-1}``: every gate is a function of ``x_t`` alone, so all of them are computed for all T steps at once
(one GEMM and elementwise passes), and what is left of the recurrence is elementwise and linear in h::

    h_t = a_t * h_{t-1} + (1 - a_t) * v_t      a_t the keep gate (minGRU: 1 - z_t; minLSTM: f_t / (f_t + i_t)),
                                               v_t = g(Linear_h(x_t)), g(p) = p + 0.5 (p >= 0), sigmoid(p) (p < 0)

Backward is the same recurrence run backwards (a reverse scan): outputs h_1..h_T from the initial state h_0,
``e_t = dL/dh_t`` by all paths, ``dy_t`` the gradient of output t, ``dh_T`` that of the final state::

    e_T = dy_T + dh_T,    e_t = dy_t + a_{t+1} * e_{t+1},    dL/dh_0 = a_1 * e_1
    da_t = e_t * (h_{t-1} - v_t),  dv_t = e_t * (1 - a_t)

No matrix is in the gradient's path over time: it decays by the product of the keep gates alone.

Three ways to run the scan, all tested equal (``scan=`` on the layers; ``SCANS``):

* ``"loop"`` (the default): a loop over t of two in-place ufunc calls on (batch, hidden) rows, everything else
  hoisted out of it. Fastest on NumPy (benchmarks/README.md, "minGRU and minLSTM").
* ``"chunked"``: time cut into chunks of about sqrt(T) steps; a loop over the position inside the chunk runs
  all chunks at once from zero, a loop over the chunks carries the state across, one vectorised pass adds the
  carried state times the chunk's running product of ``a``. Fewer, larger calls; more passes over memory.
* ``"log"``: Heinsen's (2023, arXiv 2311.06281) log-space scan, ``log h_t = a*_t + logcumsumexp(log b_t - a*_t)``
  with ``a*_t = cumsum(log a_t)``, in float64 whatever the layer's dtype (``a*_t`` grows like -0.7 T, and in
  float32 its rounding alone would cost ~1e-4 relative at T = 4,096). A signed ``b`` (the reverse scan's
  gradients) is split into its positive and negative parts, and the initial state enters as ``exp(a*_t) h_0``,
  so a negative ``h_0`` is fine (the pitfall of lucidrains/minGRU-pytorch#9: the log-space form needs b > 0).
"""

from __future__ import annotations

import math

import numpy

from gatedrnn.backend import sigmoid_, to_numpy, xp
from gatedrnn.errors import check_choice
from gatedrnn.init import uniform
from gatedrnn.layers.base import Layer
from gatedrnn.layers.recurrent import RecurrentLayer, RecurrentStack

SCANS = ("loop", "chunked", "log")
DEFAULT_SCAN = "loop"
CHUNK_VALUES = 1 << 15              # values per time range of the layers' elementwise passes (MinLayer._chunks)


# -- the forward scan -----------------------------------------------------------------------------------------
def linear_scan(a, b, h0, out, method: str = DEFAULT_SCAN):
    """Fill ``out`` (T+1, B, H) with h_0 = ``h0`` and h_t = a_t h_{t-1} + b_t for ``a``, ``b`` (T, B, H)."""
    out[0] = h0
    if method == "loop":
        for t in range(a.shape[0]):
            h = out[t + 1]
            xp.multiply(a[t], out[t], out=h)
            h += b[t]
    elif method == "chunked":
        _chunked(a, b, out)
    elif method == "log":
        _log_space(a, b, out)
    else:
        raise RuntimeError(f"unknown scan {method!r}")
    return out


def _chunked(a, b, out, chunk: int | None = None):
    T, B, H = a.shape
    L = chunk or max(1, int(round(math.sqrt(T))))
    C = -(-T // L)
    pad = C * L - T
    if pad:
        a = xp.concatenate([a, xp.ones((pad, B, H), dtype=a.dtype)])
        b = xp.concatenate([b, xp.zeros((pad, B, H), dtype=b.dtype)])
    a4, b4 = a.reshape(C, L, B, H), b.reshape(C, L, B, H)
    hl = xp.empty((C, L, B, H), dtype=out.dtype)      # each chunk's scan from a zero state
    al = xp.empty((C, L, B, H), dtype=out.dtype)      # each chunk's running product of a
    hl[:, 0], al[:, 0] = b4[:, 0], a4[:, 0]
    for j in range(1, L):
        xp.multiply(a4[:, j], hl[:, j - 1], out=hl[:, j])
        hl[:, j] += b4[:, j]
        xp.multiply(a4[:, j], al[:, j - 1], out=al[:, j])
    carry = xp.empty((C, B, H), dtype=out.dtype)     # the state entering each chunk
    carry[0] = out[0]
    for c in range(1, C):
        xp.multiply(al[c - 1, L - 1], carry[c - 1], out=carry[c])
        carry[c] += hl[c - 1, L - 1]
    al *= carry[:, None]
    hl += al
    out[1:] = hl.reshape(C * L, B, H)[:T]


def _log_space(a, b, out):
    f64 = numpy.float64
    tiny = numpy.finfo(f64).tiny
    with numpy.errstate(divide="ignore", invalid="ignore"):
        astar = xp.cumsum(xp.log(xp.maximum(a.astype(f64), tiny)), axis=0)   # a = 0 would give -inf - -inf
        h = xp.exp(astar) * out[0].astype(f64)
        b64 = b.astype(f64)
        for sign in (1.0, -1.0):
            part = xp.maximum(sign * b64, 0.0)
            if not part.any():
                continue
            w = xp.log(part)
            w -= astar
            lse = xp.logaddexp.accumulate(w, axis=0)
            lse += astar
            h += sign * xp.exp(lse)
    out[1:] = h


# -- the reverse scan (backward) ------------------------------------------------------------------------------
def reverse_linear_scan(a, dY, dhT, method: str = DEFAULT_SCAN):
    """-> (E, dh0): ``E[t]`` the gradient of output row t by all paths (e_{t+1} of the module docstring) and
    ``dh0 = a[0] * E[0]`` that of the initial state, for ``dY`` (T, B, H), the outputs' gradient, and ``dhT``
    (B, H), the final state's; each may be None (zero). The loss on row t reaches row t-1 times ``a[t]``."""
    T, B, H = a.shape
    if method == "loop":                             # written straight into E: no copy of dY first
        E = xp.empty((T, B, H), dtype=a.dtype)
        E[T - 1] = 0.0 if dY is None else dY[T - 1]
        if dhT is not None:
            E[T - 1] += dhT
        for t in range(T - 2, -1, -1):
            xp.multiply(a[t + 1], E[t + 1], out=E[t])
            if dY is not None:
                E[t] += dY[t]
        return E, a[0] * E[0]
    E = xp.zeros((T, B, H), dtype=a.dtype) if dY is None else xp.array(dY, dtype=a.dtype)
    if dhT is not None:
        E[T - 1] += dhT
    # the forward scan on reversed time: coefficient a_{t+1} joins step t, from a zero state
    shifted = xp.empty_like(a)
    shifted[0] = 1.0
    shifted[1:] = a[:0:-1]
    out = xp.empty((T + 1, B, H), dtype=a.dtype)
    linear_scan(shifted, E[::-1], xp.zeros((B, H), dtype=a.dtype), out, method)
    E = out[:0:-1]
    return E, a[0] * E[0]


# -- ONNX: the recurrence as a Scan node ----------------------------------------------------------------------
def onnx_scan(g, a: str, b: str, h0: str | None, tag: str):
    """Add ONNX nodes computing the scan over seq-major ``a``, ``b`` (seq, batch, H) from ``h0`` ((1, batch, H),
    or None for zeros) -> (output (seq, batch, H), final state (1, batch, H)). ONNX's ``Scan`` operator runs a
    body graph per step with a state in and out: ``h = a_t * h + b_t``. ``g`` is deploy.onnx's graph builder."""
    helper, T = g.helper, g.T
    if h0 is None:
        shape = g.node("Shape", [a], [f"{tag}_shape"])
        bh = g.node("Slice", [shape, g.const(f"{tag}_1", numpy.array([1], numpy.int64)),
                              g.const(f"{tag}_3", numpy.array([3], numpy.int64))], [f"{tag}_bh"])
        h0 = g.node("ConstantOfShape", [bh], [f"{tag}_h0"], value=helper.make_tensor("zero", T.FLOAT, [1], [0.0]))
    else:
        h0 = g.node("Squeeze", [h0, g.const(f"{tag}_axis0", numpy.array([0], numpy.int64))], [f"{tag}_h0"])
    v = [helper.make_tensor_value_info(n, T.FLOAT, None) for n in ("h_prev", "a_t", "b_t", "h_next", "y_t")]
    body = helper.make_graph([helper.make_node("Mul", ["a_t", "h_prev"], ["ah"]),
                              helper.make_node("Add", ["ah", "b_t"], ["h_next"]),
                              helper.make_node("Identity", ["h_next"], ["y_t"])], f"{tag}_step", v[:3], v[3:])
    hn, y = g.node("Scan", [h0, a, b], [f"{tag}_hn", f"{tag}_Y"], body=body, num_scan_inputs=2)
    return y, g.node("Unsqueeze", [hn, g.const(f"{tag}_axis0u", numpy.array([0], numpy.int64))], [f"{tag}_h_n"])


# -- what both min cells share --------------------------------------------------------------------------------
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

    onnx_op = "Scan"

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
        rows = max(1, CHUNK_VALUES // (B * self.hidden_size))
        return [(t0, min(T, t0 + rows)) for t0 in range(0, T, rows)]

    def forward(self, x, h0, c0=None):
        """x (T, B, D) contiguous, h0 (B, H) -> (h_1..h_T as (T, B, H), h_T, None)."""
        T, B, D = x.shape
        H, G = self.hidden_size, self.gates
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

    def _onnx_gates(self, g, blocks: list, tag: str) -> str:
        """The ONNX nodes of the gate a = 1 - z (minGRU) or f' (minLSTM) from the gate blocks' pre-activations."""
        raise NotImplementedError("a min cell defines its ONNX gate nodes")

    def onnx_nodes(self, g, x: str, h0: str | None, tag: str):
        """ONNX: the pre-activations of all steps (MatMul + Add), the cell's gate math (``_onnx_gates``), then the
        scan (``onnx_scan``) -> (output (seq, batch, H), final state (1, batch, H))."""
        H, W, b = self.hidden_size, to_numpy(self.Wx).astype(numpy.float32), to_numpy(self.b_ih).astype(numpy.float32)
        blocks = []
        for j in range(self.gates):
            mm = g.node("MatMul", [x, g.const(f"{tag}_W{j}", W[:, j * H:(j + 1) * H])], [f"{tag}_mm{j}"])
            blocks.append(g.node("Add", [mm, g.const(f"{tag}_b{j}", b[j * H:(j + 1) * H])], [f"{tag}_p{j}"]))
        one, zero = g.const(f"{tag}_one", numpy.float32(1.0)), g.const(f"{tag}_zero", numpy.float32(0.0))
        low = g.node("Sigmoid", [g.node("Min", [blocks[-1], zero], [f"{tag}_min"])], [f"{tag}_low"])
        v = g.node("Add", [low, g.node("Relu", [blocks[-1]], [f"{tag}_relu"])], [f"{tag}_v"])
        a = self._onnx_gates(g, blocks[:-1], tag)
        b = g.node("Mul", [g.node("Sub", [one, a], [f"{tag}_1ma"]), v], [f"{tag}_bt"])
        return onnx_scan(g, a, b, h0, tag)


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
