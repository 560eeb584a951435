"""K LSTM layers of one shape side by side: the members of an ensemble trained as one batched network.

Member k is an ordinary ``LSTMLayer`` (lstm.py: the equations, PyTorch's gate order (i, f, g, o), the same
halved-sigmoid arithmetic); here the K members' parameters are stacked on a leading axis, ``weight_ih``
(K, D, 4H), ``weight_hh`` (K, H, 4H), ``bias_ih`` and ``bias_hh`` (K, 4H), and each member reads its own rows.
The sequence is time-major, ``(T, K, B, D)``: step t of every member is ``x[t]`` (K, B, D), and its recurrent
product is one stacked GEMM, ``h_{t-1} (K, B, H) @ W_hh (K, H, 4H)`` (NumPy's ``matmul`` over the member axis),
so K members cost one time loop of NumPy calls instead of K. The input projection, the weight gradients and
``dx`` are one stacked GEMM each over all steps. Nothing mixes members: member k's outputs and gradients are
those of ``LSTMLayer`` with member k's weights, to floating-point round-off (tests/test_lstm_members.py).

Backward, step t (lstm.py's, member by member)::

    dc += dh * o * (1 - tanh(c_t)^2)
    di = dc * g * i (1 - i),  df = dc * c_{t-1} * f (1 - f),  dg = dc * i * (1 - g^2),  do = dh * tanh(c_t) * o (1 - o)
    dc_{t-1} = dc * f,  dh_{t-1} = dgates @ W_hh^T  (stacked GEMM)

The activation derivatives and the factors of ``dc`` are computed for all steps in whole-sequence passes before
the loop, which then makes 9 NumPy calls per step (forward: 10), as lstm.py does.
"""

from __future__ import annotations

from gatedrnn.backend import xp
from gatedrnn.errors import UserError
from gatedrnn.layers.base import Layer


def by_member(a):
    """(T, K, B, n) time-major -> (K, T * B, n) contiguous: each member's rows of every step, for one GEMM each."""
    T, K, B, n = a.shape
    return xp.ascontiguousarray(a.transpose(1, 0, 2, 3)).reshape(K, T * B, n)


def time_major(a, T: int):
    """(K, T * B, n) -> (T, K, B, n) contiguous (the inverse of ``by_member``)."""
    K, TB, n = a.shape
    return xp.ascontiguousarray(a.reshape(K, T, TB // T, n).transpose(1, 0, 2, 3))


class LSTMMembersLayer(Layer):
    """One LSTM layer of K members from their stacked parameters (module docstring); the arrays are used in place
    (the optimizer updates them), their gradients accumulate into ``grads`` as in every layer."""

    def __init__(self, weight_ih, weight_hh, bias_ih, bias_hh):
        super().__init__()
        K, D, G4 = weight_ih.shape
        H = G4 // 4
        want = {"weight_hh": (K, H, G4), "bias_ih": (K, G4), "bias_hh": (K, G4)}
        for name, a in (("weight_hh", weight_hh), ("bias_ih", bias_ih), ("bias_hh", bias_hh)):
            if tuple(a.shape) != want[name]:
                raise UserError(f"LSTMMembersLayer {name}: expected shape {want[name]}, got {tuple(a.shape)}")
        self.members, self.input_size, self.hidden_size = K, D, H
        self.Wx = self.add_param("weight_ih", weight_ih)
        self.Wh = self.add_param("weight_hh", weight_hh)
        self.b_ih = self.add_param("bias_ih", bias_ih)
        self.b_hh = self.add_param("bias_hh", bias_hh)
        self.transposed = {"weight_ih", "weight_hh"}
        self.cache = None

    def _gate_affine(self):
        """(half, shift), each (4H,): lstm.py's ``_gate_affine`` (sigmoid as a halved tanh, one tanh for all gates)."""
        H, dt = self.hidden_size, self.Wx.dtype
        half = xp.full(4 * H, 0.5, dtype=dt)
        half[2 * H:3 * H] = 1.0
        shift = xp.full(4 * H, 0.5, dtype=dt)
        shift[2 * H:3 * H] = 0.0
        return half, shift

    def forward(self, x, h0=None, c0=None):
        """x (T, K, B, D), h0 and c0 (K, B, H) or None (zeros) -> (h_1..h_T (T, K, B, H), h_T, c_T)."""
        T, K, B, D = x.shape
        if (K, D) != (self.members, self.input_size):
            raise UserError(f"LSTMMembersLayer input: expected shape (T, {self.members}, B, {self.input_size}), got "
                            f"{tuple(x.shape)}")
        H = self.hidden_size
        half, shift = self._gate_affine()
        G = by_member(x) @ (self.Wx * half)                 # the input projection: one GEMM per member, halved
        G += ((self.b_ih + self.b_hh) * half)[:, None, :]
        G = time_major(G, T)                                # (T, K, B, 4H)
        Wh = self.Wh * half
        Hs = xp.empty((T + 1, K, B, H), dtype=G.dtype)
        Cs = xp.empty((T + 1, K, B, H), dtype=G.dtype)
        TC = xp.empty((T, K, B, H), dtype=G.dtype)
        Hs[0] = 0 if h0 is None else h0
        Cs[0] = 0 if c0 is None else c0
        rec = xp.empty((K, B, 4 * H), dtype=G.dtype)
        ig = xp.empty((K, B, H), dtype=G.dtype)
        for t in range(T):
            g = G[t]
            xp.matmul(Hs[t], Wh, out=rec)                   # every member's recurrent product: one stacked GEMM
            g += rec
            xp.tanh(g, out=g)
            g *= half                                       # i, f, o = sigmoid; g = tanh
            g += shift
            c = Cs[t + 1]
            xp.multiply(g[..., H:2 * H], Cs[t], out=c)      # c = f * c + i * g
            xp.multiply(g[..., :H], g[..., 2 * H:3 * H], out=ig)
            c += ig
            xp.tanh(c, out=TC[t])
            xp.multiply(g[..., 3 * H:], TC[t], out=Hs[t + 1])  # h = o * tanh(c)
        self.cache = (x, G, Hs, Cs, TC)
        return Hs[1:], Hs[T], Cs[T]

    def backward(self, dY, dhT=None, dcT=None):
        """dY (T, K, B, H) or None, dhT and dcT (K, B, H) or None -> (dx (T, K, B, D), dh0, dc0); the weight
        gradients accumulate."""
        if self.cache is None:
            raise UserError("LSTMMembersLayer.backward: expected a forward call first, got none")
        (x, G, Hs, Cs, TC), self.cache = self.cache, None
        T, K, B, _ = x.shape
        H = self.hidden_size
        dh = xp.zeros((K, B, H), dtype=G.dtype) if dhT is None else xp.array(dhT, dtype=G.dtype)
        dc = xp.zeros((K, B, H), dtype=G.dtype) if dcT is None else xp.array(dcT, dtype=G.dtype)
        if dY is not None and T:
            dh += dY[T - 1]
        dG = by_member(self._backward_loop(G, Cs, TC, dY, dh, dc))    # (K, T * B, 4H)
        self.grads[0] += by_member(x).transpose(0, 2, 1) @ dG
        self.grads[1] += by_member(Hs[:T]).transpose(0, 2, 1) @ dG
        db = dG.sum(axis=1)
        self.grads[2] += db
        self.grads[3] += db
        return time_major(dG @ self.Wx.transpose(0, 2, 1), T), dh, dc

    def _backward_loop(self, G, Cs, TC, dY, dh, dc):
        """-> dG (T, K, B, 4H), the pre-activation gradients; ``dh`` and ``dc`` become those of h_0 and c_0."""
        T, K, B, G4 = G.shape
        H = G4 // 4
        dG = xp.empty_like(G)                               # the activation derivatives, then times dc and dh
        for lo, hi in ((0, 2 * H), (3 * H, 4 * H)):         # sigmoid gates: s (1 - s)
            xp.subtract(1.0, G[..., lo:hi], out=dG[..., lo:hi])
            dG[..., lo:hi] *= G[..., lo:hi]
        xp.multiply(G[..., 2 * H:3 * H], G[..., 2 * H:3 * H], out=dG[..., 2 * H:3 * H])
        xp.subtract(1.0, dG[..., 2 * H:3 * H], out=dG[..., 2 * H:3 * H])     # tanh gate: 1 - g^2
        OT = 1.0 - TC * TC
        OT *= G[..., 3 * H:]                                # the h -> c factor o (1 - tanh(c)^2)
        P = xp.stack([G[..., 2 * H:3 * H], Cs[:T], G[..., :H]], axis=3)      # dc's factors in di, df, dg
        dG5 = dG.reshape(T, K, B, 4, H)
        WhT = xp.ascontiguousarray(self.Wh.transpose(0, 2, 1))
        post = xp.empty((K, B, 3, H), dtype=G.dtype)
        tmp = xp.empty((K, B, H), dtype=G.dtype)
        for t in range(T - 1, -1, -1):
            xp.multiply(dh, OT[t], out=tmp)                 # dc += dh o (1 - tanh(c)^2)
            dc += tmp
            xp.multiply(dc[:, :, None, :], P[t], out=post)  # di, df, dg: derivative * dc * factor
            dG5[t, :, :, :3] *= post
            xp.multiply(dh, TC[t], out=tmp)                 # do = o' * dh tanh(c)
            dG5[t, :, :, 3] *= tmp
            dc *= G[t, ..., H:2 * H]                        # dc_{t-1} = dc f
            xp.matmul(dG[t], WhT, out=dh)                   # dh_{t-1} = dG W_hh^T, every member in one call
            if t and dY is not None:
                dh += dY[t - 1]
        return dG
