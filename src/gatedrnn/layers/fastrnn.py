"""FastRNN (Kusupati et al. 2018, NeurIPS): the plain RNN with a learned leak (``layers/fast_base.py`` for W, U,
their low-rank option and the scalars)::

    h~_t = tanh(W x_t + U h_{t-1} + b)
    h_t  = alpha * h~_t + beta * h_{t-1}          alpha = sigmoid(alpha_logit), beta = sigmoid(beta_logit)

The paper keeps alpha small and beta near 1 (a residual connection in time that keeps gradients alive); the logits
start at -3 and 3. Backward, step t::

    da       = dh * alpha * (1 - h~^2)
    dalpha  += sum(dh * h~),   dbeta += sum(dh * h_{t-1})
    dh_{t-1} = dh * beta + da @ U^T

One step at a time: ``step_weights`` is ``[W; U; b]`` in blocks (pre-activation | alpha | beta), the scalars as
constant columns, and the step is ``h = g_alpha * tanh(g_a) + g_beta * h``. Its C, fixed-point C and ONNX forms
are deploy's (``deploy/cells/``).
"""

from __future__ import annotations

from gatedrnn.backend import xp
from gatedrnn.layers.fast_base import FastLayer
from gatedrnn.layers.recurrent import RecurrentStack


class FastRNNLayer(FastLayer):
    """One FastRNN layer over a time-major sequence; see the module docstring."""

    name = "fastrnn"
    gates = 1
    step_width = 3
    biases = (("bias", 0.0),)
    scalars = (("alpha_logit", -3.0), ("beta_logit", 3.0))

    def step_weights(self):
        return self.fused("bias", ("alpha_logit", "beta_logit"))

    @staticmethod
    def step_update(g, h, c, tmp):
        H = h.shape[1]
        a = g[:, :H]
        xp.tanh(a, out=a)
        a *= g[:, H:2 * H]
        h *= g[:, 2 * H:]
        h += a

    def forward(self, x, h0, c0=None):
        """x (T, B, D), h0 (B, H) -> (h_1..h_T as (T, B, H), h_T, None)."""
        T, B, D = x.shape
        H = self.hidden_size
        alpha, beta = self.scalar("alpha_logit"), self.scalar("beta_logit")
        C = (x.reshape(T * B, D) @ self.dense("ih")).reshape(T, B, H)    # input projection: one GEMM
        C += self.param("bias")
        U = self.dense("hh")
        Hs = xp.empty((T + 1, B, H), dtype=C.dtype)
        Hs[0] = h0
        rec = xp.empty((B, H), dtype=C.dtype)
        for t in range(T):
            xp.matmul(Hs[t], U, out=rec)
            c = C[t]
            c += rec
            xp.tanh(c, out=c)
            xp.multiply(Hs[t], beta, out=Hs[t + 1])
            Hs[t + 1] += alpha * c
            if self.state_grid:
                self.on_grid_(Hs[t + 1])
        self.cache = (x, C, Hs)
        return Hs[1:], Hs[T], None

    def backward(self, dY, dhT, dcT=None):
        """dY (T, B, H) or None, dhT (B, H) or None -> (dx (T, B, D), dh0, None)."""
        x, C, Hs = self._need_cache()
        T, B, D = x.shape
        H = self.hidden_size
        alpha, beta = self.scalar("alpha_logit"), self.scalar("beta_logit")
        U = self.dense("hh")
        dA = xp.multiply(C, C)                       # 1 - h~^2, then the pre-activation gradient
        xp.subtract(1.0, dA, out=dA)
        dh = xp.zeros((B, H), dtype=C.dtype) if dhT is None else xp.array(dhT, dtype=C.dtype)
        dalpha = dbeta = 0.0
        for t in range(T - 1, -1, -1):
            if dY is not None:
                dh += dY[t]
            dalpha += float((dh * C[t]).sum())
            dbeta += float((dh * Hs[t]).sum())
            d = dA[t]
            d *= dh
            d *= alpha
            dh *= beta
            dh += d @ U.T
        self.add_scalar_grad("alpha_logit", dalpha)
        self.add_scalar_grad("beta_logit", dbeta)
        dA2 = dA.reshape(T * B, H)
        self.grad("bias")[...] += dA2.sum(axis=0)
        self.add_dense_grads("ih", x.reshape(T * B, D).T @ dA2)
        self.add_dense_grads("hh", Hs[:T].reshape(T * B, H).T @ dA2)
        return (dA2 @ self.dense("ih").T).reshape(T, B, D), dh, None


class FastRNN(RecurrentStack):
    """Multi-layer FastRNN over batch-first input ``(batch, time, input_size)``.

    ``FastRNN(input_size, hidden_size, num_layers=1, *, dropout=0.0, dtype=float32, seed=None, rank_ih=None,
    rank_hh=None)``: ranks None are full matrices, an integer r factors W or U as two matrices of rank r."""

    layer_class = FastRNNLayer
