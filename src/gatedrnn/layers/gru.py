"""Gated recurrent unit (Cho et al. 2014), in PyTorch's formulation and gate order (r, z, n)::

    r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)          reset gate
    z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)          update gate
    n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))     candidate (reset applied after the product)
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

Backward, step t::

    dn_pre = dh * (1 - z) * (1 - n^2)
    dz_pre = dh * (h_{t-1} - n) * z (1 - z)
    dr_pre = dn_pre * (W_hn h_{t-1} + b_hn) * r (1 - r)
    d(W_hn h + b_hn) = dn_pre * r
    dh_{t-1} = dh * z + [dr_pre, dz_pre, dn_pre * r] @ W_hh

``dh_{t-1}`` keeps the term ``dh * z``: with the update gate near 1 the gradient passes unchanged, the GRU's
version of the LSTM's cell path. All weights and biases start U(-1/sqrt(H), 1/sqrt(H)), PyTorch's default.

One step at a time (``step_update``, what ``Stream`` runs): the candidate needs ``W_hn h + b_hn`` apart (the
reset gate multiplies it), so the fused matrix has four blocks of columns, (r, z) | ``W_in x + b_in`` |
``W_hn h + b_hn`` (zeros against x), the sigmoid columns halved for the tanh form of the sigmoid.

Its ONNX mapping (operator ``GRU``) and its C step are deploy's (``deploy/cells/``).
"""

from __future__ import annotations

import numpy

from gatedrnn.backend import xp
from gatedrnn.layers.recurrent import RecurrentLayer, RecurrentStack


class GRULayer(RecurrentLayer):
    """One GRU layer over a time-major sequence; see the module docstring for the equations."""

    name = "gru"
    gates = 3
    step_width = 4
    CHUNK = 8192   # backward's range of steps, in values of h (B * H per step)

    def step_weights(self):
        """Blocks (r, z) | W_in x + b_in | W_hn h + b_hn, the (r, z) columns halved."""
        Wx, Wh, bi, bh = self._float64_params()
        D, H = self.input_size, self.hidden_size
        W = numpy.zeros((D + H + 1, 4 * H))
        W[:D, :2 * H], W[D:D + H, :2 * H] = Wx[:, :2 * H], Wh[:, :2 * H]
        W[D + H, :2 * H] = bi[:2 * H] + bh[:2 * H]
        W[:, :2 * H] *= 0.5
        W[:D, 2 * H:3 * H], W[D + H, 2 * H:3 * H] = Wx[:, 2 * H:], bi[2 * H:]
        W[D:D + H, 3 * H:], W[D + H, 3 * H:] = Wh[:, 2 * H:], bh[2 * H:]
        return W

    @staticmethod
    def step_update(g, h, c, tmp):
        H = h.shape[1]
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

    def forward(self, x, h0, c0=None):
        """x (T, B, D) contiguous, h0 (B, H) -> (h_1..h_T as (T, B, H), h_T, None). The (r, z) sums are halved
        (the input projection's and W_hh's columns: exact), so that one ``tanh``, ``* 0.5``, ``+ 0.5`` is their
        sigmoid; ``b_hh``'s (r, z) part is added with ``b_ih`` before the loop."""
        T, B, D = x.shape
        H = self.hidden_size
        half = xp.ones(3 * H, dtype=self.Wx.dtype)
        half[:2 * H] = 0.5
        bias = self.b_ih.copy()
        bias[:2 * H] += self.b_hh[:2 * H]
        A = self._scratch("A", (T, B, 3 * H), x.dtype)  # the layer's work arrays (_scratch); Hs is the output
        Wx = xp.multiply(self.Wx, half, out=self._scratch("Wx", self.Wx.shape, x.dtype))
        xp.matmul(x.reshape(T * B, D), Wx, out=A.reshape(T * B, 3 * H))  # input projection: one GEMM
        A += bias * half
        Hs = xp.empty((T + 1, B, H), dtype=A.dtype)
        RHN = self._scratch("RHN", (T, B, H), A.dtype)  # r (W_hn h_{t-1} + b_hn), kept for backward
        ZD = self._scratch("ZD", (T, B, H), A.dtype)    # z (h_{t-1} - n), likewise
        Hs[0] = h0
        trans = self._transposed_loop(B)             # h W_hh as W_hh^T h^T (RecurrentLayer)
        if trans:
            Wh = self._hh_transposed_halved()
        else:
            Wh = self._hh_for_loop()
            Wh = xp.multiply(Wh, half, out=self._scratch("Wh", Wh.shape, Wh.dtype) if Wh is self.Wh else Wh)
        rec = xp.empty((3 * H, B) if trans else (B, 3 * H), dtype=A.dtype)
        rc, tmp, bhn = (rec.T if trans else rec), xp.empty((B, H), dtype=A.dtype), self.b_hh[2 * H:]
        for t in range(T):
            a, h, rhn, zd = A[t], Hs[t], RHN[t], ZD[t]
            if trans:
                xp.matmul(Wh, h.T, out=rec)
            else:
                xp.matmul(h, Wh, out=rec)
            rz = a[:, :2 * H]
            rz += rc[:, :2 * H]
            xp.tanh(rz, out=rz)
            rz *= 0.5
            rz += 0.5                                   # r, z = sigmoid of the whole sums
            xp.add(rc[:, 2 * H:], bhn, out=tmp)         # W_hn h_{t-1} + b_hn
            n = a[:, 2 * H:]
            xp.multiply(a[:, :H], tmp, out=rhn)
            n += rhn
            xp.tanh(n, out=n)
            xp.subtract(h, n, out=tmp)                  # h = n + z (h_prev - n)
            xp.multiply(tmp, a[:, H:2 * H], out=zd)
            xp.add(n, zd, out=Hs[t + 1])
        self.cache = (x, A, Hs, RHN, ZD)
        return Hs[1:], Hs[T], None

    def _hh_transposed_halved(self):
        """``_hh_transposed(half)``'s array, its (r, z) rows halved: the transpose copied first, then the rows scaled
        (the same values; copying alone is ~1.5-2x faster than multiplying while transposing)."""
        WhT = self._hh_transposed()
        WhT[:2 * self.hidden_size] *= 0.5
        return WhT

    @staticmethod
    def _local_gradients(A, RHN, ZD, dA, dR):
        """Before the loop, in whole-array passes, each step's factors of ``dh``: into ``dA[..., 2H:]``
        (1 - z)(1 - n^2), the n pre-activation's; into ``dR[..., H:2H]`` z (h_{t-1} - n) (1 - z), z's; into
        ``dR[..., :H]`` r hn (1 - r), r's factor of dn_pre. ``A`` the activated gates; ``RHN`` r hn and ``ZD``
        z (h_{t-1} - n), the forward's products (T, B, H); 7 passes."""
        H = RHN.shape[-1]
        r, z, n = A[..., :H], A[..., H:2 * H], A[..., 2 * H:]
        q, s, pz, pr = dA[..., 2 * H:], dA[..., :H], dR[..., H:2 * H], dR[..., :H]   # s: scratch
        xp.subtract(1.0, z, out=s)
        xp.multiply(n, n, out=q)
        xp.subtract(1.0, q, out=q)
        q *= s
        xp.multiply(ZD, s, out=pz)
        xp.subtract(1.0, r, out=pr)
        pr *= RHN

    def backward(self, dY, dhT, dcT=None):
        """dY (T, B, H) or None, dhT (B, H) or None -> (dx (T, B, D), dh0, None). Per step: the factors of
        ``_local_gradients`` times dh, the recurrent product, 8 NumPy calls."""
        x, A, Hs, RHN, ZD = self._need_cache()
        T, B, _ = x.shape
        H = self.hidden_size
        dA = self._scratch("dA", A.shape, A.dtype)    # gradient of the input pre-activations
        dR = self._scratch("dR", A.shape, A.dtype)    # gradient of the recurrent pre-activations
        dh = xp.zeros((B, H), dtype=A.dtype) if dhT is None else xp.array(dhT, dtype=A.dtype)
        tmp = xp.empty((B, H), dtype=A.dtype)
        dh_tr = xp.empty((H, B), dtype=A.dtype)
        Wh, n = self.Wh, max(1, self.CHUNK // max(1, B * H))   # steps per range, as the LSTM's backward
        for t in range(T - 1, -1, -1):
            if t % n == n - 1 or t == T - 1:            # a range's factors, just before its steps (in the cache)
                lo = t - t % n
                self._local_gradients(A[lo:t + 1], RHN[lo:t + 1], ZD[lo:t + 1], dA[lo:t + 1], dR[lo:t + 1])
            if dY is not None:
                dh += dY[t]
            dn, d = dA[t, :, 2 * H:], dR[t]
            dn *= dh                                    # dn_pre = dh (1 - z) (1 - n^2)
            d[:, H:2 * H] *= dh                         # dz_pre = dh (h_prev - n) z (1 - z)
            d[:, :H] *= dn                              # dr_pre = dn_pre hn r (1 - r)
            xp.multiply(dn, A[t, :, :H], out=d[:, 2 * H:])  # d(W_hn h + b_hn) = dn_pre r
            xp.multiply(dh, A[t, :, H:2 * H], out=tmp)
            xp.matmul(Wh, d.T, out=dh_tr)               # d W_hh^T as its transpose (see RecurrentLayer)
            xp.add(dh_tr.T, tmp, out=dh)                # dh_{t-1} = dh z + d W_hh^T
            if t % n == 0:                              # the range done: its (r, z) gradients, still in the cache
                dA[t:t + n, :, :2 * H] = dR[t:t + n, :, :2 * H]
        dx = self._accumulate(x, Hs, dA, dR)
        return dx, dh, None


class GRU(RecurrentStack):
    """Multi-layer GRU over batch-first input ``(batch, time, input_size)``.

    ``GRU(input_size, hidden_size, num_layers=1, *, dropout=0.0, dtype=float32, seed=None)``;
    ``forward(x, state=None) -> (y, h)`` with ``h`` of shape ``(num_layers, batch, hidden)``;
    ``backward(dy, dstate=None) -> dx``. Equations, gate order and names are ``torch.nn.GRU``'s.
    """

    layer_class = GRULayer
