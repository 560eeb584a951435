"""K LSTM layers of one shape side by side: the members of an ensemble trained as one batched network.

Member k is an ordinary ``LSTMLayer`` (lstm.py: the equations, PyTorch's gate order (i, f, g, o), the same
halved-sigmoid arithmetic); here the K members' parameters are stacked on a leading axis, ``weight_ih``
(K, D, 4H), ``weight_hh`` (K, H, 4H), ``bias_ih`` and ``bias_hh`` (K, 4H), and each member reads its own rows.
The sequence is ``(K, T, B, D)`` (member-major): step t of every member is ``x[:, t]`` (K, B, D), and its recurrent
product is one stacked GEMM, ``h_{t-1} (K, B, H) @ W_hh (K, H, 4H)`` (NumPy's ``matmul`` over the member axis),
so K members cost one time loop of NumPy calls instead of K. The input projection, the weight gradients and
``dx`` are one stacked GEMM each over all steps. Nothing mixes members: member k's outputs and gradients are
those of ``LSTMLayer`` with member k's weights, to floating-point round-off (tests/layers/test_lstm_members.py).

Backward, step t (lstm.py's, member by member)::

    dc += dh * o * (1 - tanh(c_t)^2)
    di = dc * g * i (1 - i),  df = dc * c_{t-1} * f (1 - f),  dg = dc * i * (1 - g^2),  do = dh * tanh(c_t) * o (1 - o)
    dc_{t-1} = dc * f,  dh_{t-1} = dgates @ W_hh^T  (stacked GEMM)

As in lstm.py, backward runs its steps in ranges that fit the cache, each range's activation derivatives and
factors of ``dc`` computed in whole-range passes first; the loop makes 9 NumPy calls per step (forward: 10). Each
member's values stay in one block (member-major), so that the stacked GEMMs read them without a copy.
"""

from __future__ import annotations

from gatedrnn.backend import xp
from gatedrnn.errors import UserError
from gatedrnn.layers.base import Layer
from gatedrnn.layers.lstm import gate_affine


def given_grads(layer: Layer, grads) -> list:
    """``grads`` as the layer's gradient arrays, each of its parameter's shape and dtype, or a one-line error."""
    grads = list(grads)
    if len(grads) != len(layer.params) or any(g.shape != p.shape or g.dtype != p.dtype
                                               for g, p in zip(grads, layer.params)):
        raise UserError(f"{type(layer).__name__} grads: expected arrays shaped {[p.shape for p in layer.params]}, "
                        f"got {[getattr(g, 'shape', None) for g in grads]}")
    return grads


class LSTMMembersLayer(Layer):
    """One LSTM layer of K members from their stacked parameters (module docstring); the arrays are used in place
    (the optimizer updates them), their gradients accumulate into ``grads`` as in every layer: new zero arrays, or
    the four arrays given as ``grads`` (views of a larger stack's, when members are split over threads)."""

    CHUNK = 8192   # backward's range of steps, in values of h (K * B * H per step), as lstm.py's

    def __init__(self, weight_ih, weight_hh, bias_ih, bias_hh, *, grads=None):
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
        if grads is not None:
            self.grads = given_grads(self, grads)

    def forward(self, x, h0=None, c0=None):
        """x (K, T, B, D), h0 and c0 (K, B, H) or None (zeros) -> (h_1..h_T (K, T, B, H), h_T, c_T)."""
        K, T, B, D = x.shape
        if (K, D) != (self.members, self.input_size):
            raise UserError(f"LSTMMembersLayer input: expected shape ({self.members}, T, B, {self.input_size}), got "
                            f"{tuple(x.shape)}")
        H = self.hidden_size
        half, shift = gate_affine(self.hidden_size, self.Wx.dtype)
        G = x.reshape(K, T * B, D) @ (self.Wx * half)      # the input projection: one GEMM per member, halved
        G += ((self.b_ih + self.b_hh) * half)[:, None, :]
        G = G.reshape(K, T, B, 4 * H)
        Wh = self.Wh * half
        Hs = xp.empty((K, T + 1, B, H), dtype=G.dtype)
        Cs = xp.empty((K, T + 1, B, H), dtype=G.dtype)
        TC = xp.empty((K, T, B, H), dtype=G.dtype)
        Hs[:, 0] = 0 if h0 is None else h0
        Cs[:, 0] = 0 if c0 is None else c0
        rec = xp.empty((K, B, 4 * H), dtype=G.dtype)
        ig = xp.empty((K, B, H), dtype=G.dtype)
        for t in range(T):
            g = G[:, t]
            xp.matmul(Hs[:, t], Wh, out=rec)                # every member's recurrent product: one stacked GEMM
            g += rec
            xp.tanh(g, out=g)
            g *= half                                       # i, f, o = sigmoid; g = tanh
            g += shift
            c = Cs[:, t + 1]
            xp.multiply(g[..., H:2 * H], Cs[:, t], out=c)   # c = f * c + i * g
            xp.multiply(g[..., :H], g[..., 2 * H:3 * H], out=ig)
            c += ig
            xp.tanh(c, out=TC[:, t])
            xp.multiply(g[..., 3 * H:], TC[:, t], out=Hs[:, t + 1])  # h = o * tanh(c)
        self.cache = (x, G, Hs, Cs, TC)
        return Hs[:, 1:], Hs[:, T], Cs[:, T]

    def backward(self, dY, dhT=None, dcT=None):
        """dY (K, T, B, H) or None, dhT and dcT (K, B, H) or None -> (dx (K, T, B, D), dh0, dc0); the weight
        gradients accumulate."""
        if self.cache is None:
            raise UserError("LSTMMembersLayer.backward: expected a forward call first, got none")
        (x, G, Hs, Cs, TC), self.cache = self.cache, None
        K, T, B, D = x.shape
        H = self.hidden_size
        dh = xp.zeros((K, B, H), dtype=G.dtype) if dhT is None else xp.array(dhT, dtype=G.dtype)
        dc = xp.zeros((K, B, H), dtype=G.dtype) if dcT is None else xp.array(dcT, dtype=G.dtype)
        if dY is not None and T:
            dh += dY[:, T - 1]
        dG = self._backward_loop(G, Cs, TC, dY, dh, dc).reshape(K, T * B, 4 * H)
        self.grads[0] += x.reshape(K, T * B, D).transpose(0, 2, 1) @ dG
        self.grads[1] += Hs[:, :T].reshape(K, T * B, H).transpose(0, 2, 1) @ dG
        db = dG.sum(axis=1)
        self.grads[2] += db
        self.grads[3] += db
        return (dG @ self.Wx.transpose(0, 2, 1)).reshape(K, T, B, D), dh, dc

    @staticmethod
    def _local_gradients(G, C0, TC, Q, OT, P):
        """For a range of steps (axis 1 of every argument): ``Q`` <- each gate's activation derivative (s (1 - s),
        1 - g^2), ``OT`` <- the h -> c factor o (1 - tanh(c)^2), ``P`` (K, n, B, 3, H) <- the factors of ``dc`` in
        the gradients of i, f, g: g, c_{t-1}, i. ``G`` the activated gates, ``C0`` c_{t-1}, ``TC`` tanh(c_t)."""
        H = G.shape[-1] // 4
        for lo, hi in ((0, 2 * H), (3 * H, 4 * H)):
            xp.subtract(1.0, G[..., lo:hi], out=Q[..., lo:hi])
            Q[..., lo:hi] *= G[..., lo:hi]
        xp.multiply(G[..., 2 * H:3 * H], G[..., 2 * H:3 * H], out=Q[..., 2 * H:3 * H])
        xp.subtract(1.0, Q[..., 2 * H:3 * H], out=Q[..., 2 * H:3 * H])
        xp.multiply(TC, TC, out=OT)
        xp.subtract(1.0, OT, out=OT)
        OT *= G[..., 3 * H:]
        P[..., 0, :], P[..., 1, :], P[..., 2, :] = G[..., 2 * H:3 * H], C0, G[..., :H]

    def _backward_loop(self, G, Cs, TC, dY, dh, dc):
        """-> dG (K, T, B, 4H), the pre-activation gradients; ``dh`` and ``dc`` become those of h_0 and c_0. The
        steps run in ranges of about ``CHUNK`` values of h, latest first, each range's local gradients computed
        just before its steps (still in the cache), as lstm.py does."""
        K, T, B, G4 = G.shape
        H = G4 // 4
        n = max(1, self.CHUNK // max(1, K * B * H))
        dG = xp.empty_like(G)                               # the activation derivatives, then times dc and dh
        OT = xp.empty((K, min(n, T), B, H), dtype=G.dtype)
        P = xp.empty((K, min(n, T), B, 3, H), dtype=G.dtype)
        dG5 = dG.reshape(K, T, B, 4, H)
        WhT = xp.ascontiguousarray(self.Wh.transpose(0, 2, 1))
        post = xp.empty((K, B, 3, H), dtype=G.dtype)
        tmp = xp.empty((K, B, H), dtype=G.dtype)
        for hi in range(T, 0, -n):
            lo = max(0, hi - n)
            ot, p = OT[:, :hi - lo], P[:, :hi - lo]
            self._local_gradients(G[:, lo:hi], Cs[:, lo:hi], TC[:, lo:hi], dG[:, lo:hi], ot, p)
            for t in range(hi - 1, lo - 1, -1):
                xp.multiply(dh, ot[:, t - lo], out=tmp)     # dc += dh o (1 - tanh(c)^2)
                dc += tmp
                xp.multiply(dc[:, :, None, :], p[:, t - lo], out=post)   # di, df, dg: derivative * dc * factor
                dG5[:, t, :, :3] *= post
                xp.multiply(dh, TC[:, t], out=tmp)          # do = o' * dh tanh(c)
                dG5[:, t, :, 3] *= tmp
                dc *= G[:, t, :, H:2 * H]                   # dc_{t-1} = dc f
                xp.matmul(dG[:, t], WhT, out=dh)            # dh_{t-1} = dG W_hh^T, every member in one call
                if t and dY is not None:
                    dh += dY[:, t - 1]
        return dG
