"""FastGRNN (Kusupati et al. 2018, NeurIPS): a gated cell whose gate and candidate share W and U
(``layers/fast_base.py`` for W, U, their low-rank option and the scalars)::

    p_t  = W x_t + U h_{t-1}
    z_t  = sigmoid(p_t + b_z)                     gate
    h~_t = tanh(p_t + b_h)                        candidate
    h_t  = (zeta (1 - z_t) + nu) * h~_t + z_t * h_{t-1}     zeta = sigmoid(zeta_logit), nu = sigmoid(nu_logit)

Initial values as the paper's code suggests: zeta_logit 1, nu_logit -4, b_z 1 (the gate starts leaning to keep
h), b_h 0. Backward, step t::

    dz_pre = dh * (h_{t-1} - zeta h~) * z (1 - z)
    dc_pre = dh * (zeta (1 - z) + nu) * (1 - h~^2)
    dzeta += sum(dh * (1 - z) h~),   dnu += sum(dh * h~)
    dh_{t-1} = dh * z + (dz_pre + dc_pre) @ U^T

One step at a time: ``step_weights`` is ``[W; U; b]`` in blocks (p | b_z | b_h | zeta | nu), W and U once, the
biases and the scalars as constant columns; the step computes z = (1 + tanh((p + b_z) / 2)) / 2 (the tanh form of
the sigmoid) and h~ = tanh(p + b_h). Its C, fixed-point C and ONNX forms are deploy's (``deploy/cells/``).
"""

from __future__ import annotations

from gatedrnn.backend import sigmoid_, xp
from gatedrnn.layers.fast_base import FastLayer
from gatedrnn.layers.recurrent import RecurrentStack


class FastGRNNLayer(FastLayer):
    """One FastGRNN layer over a time-major sequence; see the module docstring."""

    name = "fastgrnn"
    gates = 1                                        # one block of H columns in W and in U (shared)
    step_width = 5
    biases = (("bias_z", 1.0), ("bias_h", 0.0))
    scalars = (("zeta_logit", 1.0), ("nu_logit", -4.0))

    def step_weights(self):
        return self.fused(None, ("bias_z", "bias_h", "zeta_logit", "nu_logit"))

    @staticmethod
    def step_update(g, h, c, tmp):
        H = h.shape[1]
        p, z, n = g[:, :H], g[:, H:2 * H], g[:, 2 * H:3 * H]
        z += p
        z *= 0.5
        xp.tanh(z, out=z)
        z *= 0.5
        z += 0.5
        n += p
        xp.tanh(n, out=n)
        xp.subtract(1.0, z, out=tmp)                 # (zeta (1 - z) + nu) n + z h
        tmp *= g[:, 3 * H:4 * H]
        tmp += g[:, 4 * H:]
        tmp *= n
        h *= z
        h += tmp

    def forward(self, x, h0, c0=None):
        """x (T, B, D), h0 (B, H) -> (h_1..h_T as (T, B, H), h_T, None)."""
        T, B, D = x.shape
        H = self.hidden_size
        zeta, nu = self.scalar("zeta_logit"), self.scalar("nu_logit")
        P = (x.reshape(T * B, D) @ self.dense("ih")).reshape(T, B, H)    # input projection: one GEMM
        Z = P + self.param("bias_z")
        C = P
        C += self.param("bias_h")
        U = self.dense("hh")
        Hs = xp.empty((T + 1, B, H), dtype=P.dtype)
        Hs[0] = h0
        rec = xp.empty((B, H), dtype=P.dtype)
        tmp = xp.empty((B, H), dtype=P.dtype)
        for t in range(T):
            xp.matmul(Hs[t], U, out=rec)
            z, c = Z[t], C[t]
            z += rec
            sigmoid_(z)
            c += rec
            xp.tanh(c, out=c)
            xp.subtract(1.0, z, out=tmp)
            tmp *= zeta
            tmp += nu
            tmp *= c
            xp.multiply(z, Hs[t], out=Hs[t + 1])
            Hs[t + 1] += tmp
            if self.state_grid:
                self.on_grid_(Hs[t + 1])
        self.cache = (x, Z, C, Hs)
        return Hs[1:], Hs[T], None

    def backward(self, dY, dhT, dcT=None):
        """dY (T, B, H) or None, dhT (B, H) or None -> (dx (T, B, D), dh0, None)."""
        x, Z, C, Hs = self._need_cache()
        T, B, D = x.shape
        H = self.hidden_size
        zeta, nu = self.scalar("zeta_logit"), self.scalar("nu_logit")
        U = self.dense("hh")
        dZ, dC = xp.empty_like(Z), xp.empty_like(C)
        dh = xp.zeros((B, H), dtype=Z.dtype) if dhT is None else xp.array(dhT, dtype=Z.dtype)
        tmp = xp.empty((B, H), dtype=Z.dtype)
        dzeta = dnu = 0.0
        for t in range(T - 1, -1, -1):
            if dY is not None:
                dh += dY[t]
            z, c = Z[t], C[t]
            xp.multiply(dh, c, out=tmp)
            dnu += float(tmp.sum())
            dzeta += float((tmp * (1.0 - z)).sum())
            dz, dc = dZ[t], dC[t]
            xp.multiply(c, -zeta, out=dz)            # dz_pre = dh (h_prev - zeta h~) z (1 - z)
            dz += Hs[t]
            dz *= dh
            dz *= z
            dz *= 1.0 - z
            xp.multiply(c, c, out=dc)                # dc_pre = dh (zeta (1 - z) + nu) (1 - h~^2)
            xp.subtract(1.0, dc, out=dc)
            dc *= dh
            xp.subtract(1.0, z, out=tmp)
            tmp *= zeta
            tmp += nu
            dc *= tmp
            dh *= z
            dh += (dz + dc) @ U.T
        self.add_scalar_grad("zeta_logit", dzeta)
        self.add_scalar_grad("nu_logit", dnu)
        dZ2, dC2 = dZ.reshape(T * B, H), dC.reshape(T * B, H)
        self.grad("bias_z")[...] += dZ2.sum(axis=0)
        self.grad("bias_h")[...] += dC2.sum(axis=0)
        dP = dZ2 + dC2
        self.add_dense_grads("ih", x.reshape(T * B, D).T @ dP)
        self.add_dense_grads("hh", Hs[:T].reshape(T * B, H).T @ dP)
        return (dP @ self.dense("ih").T).reshape(T, B, D), dh, None


class FastGRNN(RecurrentStack):
    """Multi-layer FastGRNN over batch-first input ``(batch, time, input_size)``.

    ``FastGRNN(input_size, hidden_size, num_layers=1, *, dropout=0.0, dtype=float32, seed=None, rank_ih=None,
    rank_hh=None)``: ranks None are full matrices, an integer r factors W or U as two matrices of rank r."""

    layer_class = FastGRNNLayer
