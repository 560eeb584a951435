"""The plain (Elman) recurrent layer that the gated cells fix::

    h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)

Backward, step t::

    da_t     = (dh_t + dy_t) * (1 - h_t^2)
    dh_{t-1} = da_t @ W_hh

Every step multiplies the gradient by ``diag(1 - h^2) W_hh``: over many steps the product shrinks
geometrically when the largest singular value of W_hh is below 1 (vanishing gradients) and can grow when it
is above (exploding gradients; Bengio, Simard & Frasconi 1994; Pascanu, Mikolov & Bengio 2013).
Weights and biases start U(-1/sqrt(H), 1/sqrt(H)), PyTorch's default.

One step at a time (``step_update``): ``h = tanh([x, h, 1] @ [W_ih; W_hh; b_ih + b_hh])``. Its ONNX mapping
(operator ``RNN``) and its C step are deploy's (``deploy/cells/``).
"""

from __future__ import annotations

from gatedrnn.backend import xp
from gatedrnn.layers.recurrent import RecurrentLayer, RecurrentStack


class RNNLayer(RecurrentLayer):
    """One tanh RNN layer over a time-major sequence."""

    name = "rnn"
    gates = 1
    step_width = 1

    @staticmethod
    def step_update(g, h, c, tmp):
        xp.tanh(g, out=h)

    def forward(self, x, h0, c0=None):
        T, B, D = x.shape
        H = self.hidden_size
        Hs = xp.empty((T + 1, B, H), dtype=self.Wx.dtype)
        a = Hs[1:].reshape(T * B, H)
        xp.matmul(x.reshape(T * B, D), self.Wx, out=a)  # input projection: one GEMM, written in place
        a += self.b_ih + self.b_hh
        Hs[0] = h0
        rec = xp.empty((B, H), dtype=Hs.dtype)
        Wh = self._hh_for_loop()
        for t in range(T):
            xp.matmul(Hs[t], Wh, out=rec)
            h = Hs[t + 1]
            h += rec
            xp.tanh(h, out=h)
        self.cache = (x, Hs)
        return Hs[1:], Hs[T], None

    def backward(self, dY, dhT, dcT=None):
        x, Hs = self._need_cache()
        T, B, _ = x.shape
        H = self.hidden_size
        dA = xp.multiply(Hs[1:], Hs[1:])               # 1 - h^2 for all steps, then times dh in the loop
        xp.subtract(1.0, dA, out=dA)
        dh = xp.zeros((B, H), dtype=Hs.dtype) if dhT is None else xp.array(dhT, dtype=Hs.dtype)
        dh_tr = xp.empty((H, B), dtype=Hs.dtype)
        Wh = self.Wh
        for t in range(T - 1, -1, -1):
            if dY is not None:
                dh += dY[t]
            dA[t] *= dh
            xp.matmul(Wh, dA[t].T, out=dh_tr)            # dA W_hh^T as its transpose (see RecurrentLayer)
            xp.copyto(dh, dh_tr.T)
        dx = self._accumulate(x, Hs, dA)
        return dx, dh, None


class RNN(RecurrentStack):
    """Multi-layer tanh RNN over batch-first input ``(batch, time, input_size)``, like ``torch.nn.RNN``.

    ``RNN(input_size, hidden_size, num_layers=1, *, dropout=0.0, dtype=float32, seed=None)``.
    """

    layer_class = RNNLayer
