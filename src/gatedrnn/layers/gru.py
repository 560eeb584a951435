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

from gatedrnn.backend import sigmoid_, xp
from gatedrnn.layers.recurrent import RecurrentLayer, RecurrentStack


class GRULayer(RecurrentLayer):
    """One GRU layer over a time-major sequence; see the module docstring for the equations."""

    name = "gru"
    gates = 3
    step_width = 4

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
        """x (T, B, D) contiguous, h0 (B, H) -> (h_1..h_T as (T, B, H), h_T, None)."""
        T, B, D = x.shape
        H = self.hidden_size
        A = (x.reshape(T * B, D) @ self.Wx).reshape(T, B, 3 * H)  # input projection: one GEMM
        A += self.b_ih
        Hs = xp.empty((T + 1, B, H), dtype=A.dtype)
        HN = xp.empty((T, B, H), dtype=A.dtype)       # W_hn h_{t-1} + b_hn, needed by backward
        Hs[0] = h0
        rec = xp.empty((B, 3 * H), dtype=A.dtype)
        tmp = xp.empty((B, H), dtype=A.dtype)
        Wh, bh = self._hh_for_loop(), self.b_hh
        for t in range(T):
            a = A[t]
            xp.matmul(Hs[t], Wh, out=rec)
            rec += bh
            rz = a[:, :2 * H]
            rz += rec[:, :2 * H]
            sigmoid_(rz)
            HN[t] = rec[:, 2 * H:]
            n = a[:, 2 * H:]
            xp.multiply(a[:, :H], HN[t], out=tmp)
            n += tmp
            xp.tanh(n, out=n)
            xp.subtract(Hs[t], n, out=tmp)              # h = n + z (h_prev - n)
            tmp *= a[:, H:2 * H]
            xp.add(n, tmp, out=Hs[t + 1])
        self.cache = (x, A, Hs, HN)
        return Hs[1:], Hs[T], None

    def backward(self, dY, dhT, dcT=None):
        """dY (T, B, H) or None, dhT (B, H) or None -> (dx (T, B, D), dh0, None)."""
        x, A, Hs, HN = self._need_cache()
        T, B, _ = x.shape
        H = self.hidden_size
        dA = xp.empty_like(A)                          # starts as activation derivatives, all steps at once
        xp.subtract(1.0, A[..., :2 * H], out=dA[..., :2 * H])
        dA[..., :2 * H] *= A[..., :2 * H]
        nn = dA[..., 2 * H:]
        xp.multiply(A[..., 2 * H:], A[..., 2 * H:], out=nn)
        xp.subtract(1.0, nn, out=nn)
        dR = xp.empty_like(A)                          # gradient of the recurrent pre-activations
        dh = xp.zeros((B, H), dtype=A.dtype) if dhT is None else xp.array(dhT, dtype=A.dtype)
        tmp = xp.empty((B, H), dtype=A.dtype)
        dh_tr = xp.empty((H, B), dtype=A.dtype)
        Wh = self.Wh
        for t in range(T - 1, -1, -1):
            if dY is not None:
                dh += dY[t]
            a, d, r = A[t], dA[t], dR[t]
            z, n = a[:, H:2 * H], a[:, 2 * H:]
            xp.subtract(1.0, z, out=tmp)                 # dn_pre = dh (1 - z) (1 - n^2)
            tmp *= dh
            d[:, 2 * H:] *= tmp
            xp.subtract(Hs[t], n, out=tmp)               # dz_pre = dh (h_prev - n) z (1 - z)
            tmp *= dh
            d[:, H:2 * H] *= tmp
            xp.multiply(d[:, 2 * H:], HN[t], out=tmp)    # dr_pre = dn_pre * hn * r (1 - r)
            d[:, :H] *= tmp
            r[:, :2 * H] = d[:, :2 * H]
            xp.multiply(d[:, 2 * H:], a[:, :H], out=r[:, 2 * H:])
            xp.multiply(dh, z, out=tmp)
            xp.matmul(Wh, r.T, out=dh_tr)                # r W_hh^T as its transpose (see RecurrentLayer)
            xp.add(dh_tr.T, tmp, out=dh)
        dx = self._accumulate(x, Hs, dA, dR)
        return dx, dh, None


class GRU(RecurrentStack):
    """Multi-layer GRU over batch-first input ``(batch, time, input_size)``.

    ``GRU(input_size, hidden_size, num_layers=1, *, dropout=0.0, dtype=float32, seed=None)``;
    ``forward(x, state=None) -> (y, h)`` with ``h`` of shape ``(num_layers, batch, hidden)``;
    ``backward(dy, dstate=None) -> dx``. Equations, gate order and names are ``torch.nn.GRU``'s.
    """

    layer_class = GRULayer
