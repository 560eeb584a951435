"""Long short-term memory (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000).

For each step t, with PyTorch's gate order (i, f, g, o) and its two bias vectors::

    i_t = sigmoid(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)      input gate
    f_t = sigmoid(W_if x_t + b_if + W_hf h_{t-1} + b_hf)      forget gate
    g_t = tanh   (W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)      candidate cell
    o_t = sigmoid(W_io x_t + b_io + W_ho h_{t-1} + b_ho)      output gate
    c_t = f_t * c_{t-1} + i_t * g_t                           the additive memory path
    h_t = o_t * tanh(c_t)

Backward, step t (``dh``, ``dc`` arriving from step t+1 and from the output)::

    dc     += dh * o * (1 - tanh(c_t)^2)
    di = dc * g,  df = dc * c_{t-1},  dg = dc * i,  do = dh * tanh(c_t)
    pre-activation gradients: times s(1-s) for the sigmoid gates, (1 - g^2) for g
    dc_{t-1} = dc * f       <- the cell path: multiplied only by the forget gate, no squashing derivative
    dh_{t-1} = dgates @ W_hh

Because ``dc_{t-1} = f * dc_t``, a forget gate near 1 carries the gradient across many steps: this is why the
LSTM does not suffer the vanishing gradient of the plain RNN. The forget-gate bias starts at ``forget_bias``
(default 1.0; Gers, Schmidhuber & Cummins 2000, "Learning to forget"; Jozefowicz, Zaremba & Sutskever 2015,
"An empirical exploration of recurrent network architectures", found 1.0 closes most of the gap to the GRU):
with a bias of 0 the gate starts near 0.5 and the memory halves every step until training learns otherwise.
The whole forget bias sits in ``bias_ih``; ``bias_hh``'s forget block starts at 0. Every other weight and bias
is drawn U(-1/sqrt(H), 1/sqrt(H)), PyTorch's default.

One step at a time (``step_update``, what ``Stream`` runs): the fused matrix ``[W_ih; W_hh; b_ih + b_hh]`` has
its blocks reordered to (i, f, o, g) and the sigmoid gates' columns multiplied by 1/2, so that one ``tanh`` over
all four gates followed by ``* 0.5 + 0.5`` on the first three gives ``sigmoid(a) = (1 + tanh(a / 2)) / 2``
exactly as ``forward`` computes it. ``forward`` does the same in PyTorch's order: the input projection and a
copy of ``W_hh`` have their sigmoid columns halved, and each step is one ``tanh`` over the four gates then
``* half + shift`` (``gate_affine``). ``backward`` runs its steps in ranges that fit the cache, each range's
activation derivatives computed in whole-range passes first (``_local_gradients``); per step it makes 9 NumPy
calls (forward: 10), the weight gradients being single GEMMs after the loop.

Its ONNX mapping (operator ``LSTM``) and its C step are deploy's (``deploy/cells/``).
"""

from __future__ import annotations

import numpy

from gatedrnn.backend import xp
from gatedrnn.layers.lstm_fast import NARROW, backward_loop, forward_loop, usable
from gatedrnn.layers.recurrent import RecurrentLayer, RecurrentStack


def gate_affine(H: int, dtype):
    """-> (half, shift), each (4H,): 1/2 over the sigmoid blocks (i, f, o) and 1 over g; 1/2 and 0. The loop computes
    all four gates as ``tanh(a * half) * half + shift``, which is ``sigmoid(a) = (1 + tanh(a/2)) / 2`` on i, f, o and
    ``tanh(a)`` on g: one tanh for the four gates (the halving is exact in floating point). The batched members
    (``lstm_members.py``) use it too."""
    half = xp.full(4 * H, 0.5, dtype=dtype)
    half[2 * H:3 * H] = 1.0
    shift = xp.full(4 * H, 0.5, dtype=dtype)
    shift[2 * H:3 * H] = 0.0
    return half, shift

class LSTMLayer(RecurrentLayer):
    """One LSTM layer over a time-major sequence; see the module docstring for the equations."""

    name = "lstm"
    gates = 4
    has_cell = True
    forget_gate = 1
    step_width = 4
    CHUNK = 8192   # backward's range of steps, in values of h (B * H per step): ~400 KiB of arrays touched

    def __init__(self, input_size, hidden_size, *, dtype, rng, forget_bias: float = 1.0):
        super().__init__(input_size, hidden_size, dtype=dtype, rng=rng)
        self.set_forget_bias(forget_bias)

    def step_weights(self):
        """``[W_ih; W_hh; b_ih + b_hh]`` with blocks (i, f, g, o) -> (i, f, o, g), sigmoid columns halved."""
        H = self.hidden_size
        W = super().step_weights()[:, numpy.r_[0:2 * H, 3 * H:4 * H, 2 * H:3 * H]]
        W[:, :3 * H] *= 0.5
        return W

    @staticmethod
    def step_update(g, h, c, tmp):
        H = h.shape[1]
        xp.tanh(g, out=g)
        s = g[:, :3 * H]
        s *= 0.5
        s += 0.5                                   # i, f, o = sigmoid; g = tanh
        xp.multiply(g[:, H:2 * H], c, out=c)       # c = f * c + i * g
        xp.multiply(g[:, :H], g[:, 3 * H:], out=tmp)
        c += tmp
        xp.tanh(c, out=tmp)
        xp.multiply(g[:, 2 * H:3 * H], tmp, out=h)  # h = o * tanh(c)

    def forward(self, x, h0, c0):
        """x (T, B, D) contiguous, h0 and c0 (B, H) -> (h_1..h_T as (T, B, H), h_T, c_T)."""
        T, B, D = x.shape
        H = self.hidden_size
        half, shift = gate_affine(self.hidden_size, self.Wx.dtype)
        fast, bias = usable(x) and T * B > 0, self.b_ih + self.b_hh   # compiled: C halves the sums (exact)
        G = self._scratch("G", (T, B, 4 * H), x.dtype)  # the layer's work arrays (_scratch); Hs is the output
        proj = (x, self.Wx, bias) if fast and D <= NARROW else None  # narrow: each compiled step projects x_t
        if proj is None:                            # the input projection: one GEMM (halved for the NumPy loop)
            Wx = self.Wx if fast else xp.multiply(self.Wx, half, out=self._scratch("Wx", self.Wx.shape, x.dtype))
            xp.matmul(x.reshape(T * B, D), Wx, out=G.reshape(T * B, 4 * H))
            G += bias if fast else bias * half
        Hs = xp.empty((T + 1, B, H), dtype=G.dtype)
        Cs = self._scratch("C", (T + 1, B, H), G.dtype)
        TC = self._scratch("TC", (T, B, H), G.dtype)
        Hs[0], Cs[0] = h0, c0
        if fast:                                    # lstm_fast.py; C makes the transposed copy
            trans = self._transposed_loop(B, compiled=True)
            forward_loop(G, self.Wh if trans else self._hh_for_loop(), Hs, Cs, TC, proj, trans)
        elif self._transposed_loop(B):             # W_hh^T h^T from a halved transposed copy (RecurrentLayer)
            self._forward_loop(G, self._hh_transposed(half), Hs, Cs, TC, half, shift, True)
        else:
            Wh = self._hh_for_loop()                # W_hh itself or the layer's own padded copy: halve a copy
            out = self._scratch("Wh", Wh.shape, Wh.dtype) if Wh is self.Wh else Wh
            self._forward_loop(G, xp.multiply(Wh, half, out=out), Hs, Cs, TC, half, shift)
        self.cache = (x, G, Hs, Cs, TC)
        return Hs[1:], Hs[T], Cs[T].copy()

    def _forward_loop(self, G, Wh, Hs, Cs, TC, half, shift, transposed=False):
        """The time loop: G (T, B, 4H) the halved input pre-activations, becoming the activated gates; writes
        h_t = Hs[t + 1], c_t = Cs[t + 1] and tanh(c_t) = TC[t]; ``half``, ``shift`` from ``gate_affine``; ``Wh``
        the halved W_hh, or its transpose (4H, H) when ``transposed``. (lstm_fast.forward_loop: the same in C.)"""
        T, B, G4 = G.shape
        H = G4 // 4
        rec = xp.empty((4 * H, B) if transposed else (B, 4 * H), dtype=G.dtype)
        ig = xp.empty((B, H), dtype=G.dtype)
        for t in range(T):
            g = G[t]
            if transposed:
                xp.matmul(Wh, Hs[t].T, out=rec)
                g += rec.T
            else:
                xp.matmul(Hs[t], Wh, out=rec)
                g += rec
            xp.tanh(g, out=g)
            g *= half                                   # i, f, o = sigmoid; g = tanh
            g += shift
            c = Cs[t + 1]
            xp.multiply(g[:, H:2 * H], Cs[t], out=c)    # c = f * c + i * g
            xp.multiply(g[:, :H], g[:, 2 * H:3 * H], out=ig)
            c += ig
            xp.tanh(c, out=TC[t])
            xp.multiply(g[:, 3 * H:], TC[t], out=Hs[t + 1])  # h = o * tanh(c)

    def cell_states(self):
        return None if self.cache is None else self.cache[3][1:]

    @staticmethod
    def _local_gradients(G, C0, TC, Q, OT, P):
        """What backward needs from the forward's values before the gradient of the next step arrives, for a range
        of steps (leading axes of every argument): ``Q`` (.., B, 4H) <- each gate's activation derivative, s (1 - s)
        or 1 - g^2; ``OT`` (.., B, H) <- the h -> c factor (1 - tanh(c)^2) o; ``P`` (.., B, 3, H) <- the factors
        that multiply ``dc`` in the gradients of i, f, g: g, c_{t-1}, i. ``G`` the activated gates, ``C0``
        c_{t-1}, ``TC`` tanh(c_t). (Each product is rounded as the loop of lstm.py always rounded it.)"""
        H = G.shape[-1] // 4
        for lo, hi in ((0, 2 * H), (3 * H, 4 * H)):    # sigmoid gates: (1 - s) s
            xp.subtract(1.0, G[..., lo:hi], out=Q[..., lo:hi])
            Q[..., lo:hi] *= G[..., lo:hi]
        gg = Q[..., 2 * H:3 * H]                        # tanh gate: 1 - g^2
        xp.multiply(G[..., 2 * H:3 * H], G[..., 2 * H:3 * H], out=gg)
        xp.subtract(1.0, gg, out=gg)
        xp.multiply(TC, TC, out=OT)
        xp.subtract(1.0, OT, out=OT)
        OT *= G[..., 3 * H:]
        P[..., 0, :], P[..., 1, :], P[..., 2, :] = G[..., 2 * H:3 * H], C0, G[..., :H]

    def _backward_loop(self, G, Hs, Cs, TC, Wh, dY, dC, dh, dc):
        """The time loop of backward: -> dG (T, B, 4H), the pre-activation gradients; ``dh`` (holding dh_T +
        dY[T-1]) and ``dc`` become the gradients of h_0 and c_0, in place. The steps run in ranges of about
        ``CHUNK`` values of h, latest first: each range's local gradients are computed in a few whole-range
        passes just before its steps, so that they are still in the cache. (lstm_fast.backward_loop: in C.)"""
        T, B, G4 = G.shape
        H = G4 // 4
        n = max(1, self.CHUNK // max(1, B * H))         # steps per range
        dG = self._scratch("dG", G.shape, G.dtype)      # activation derivatives, then times dc and dh in the loop
        OT = xp.empty((min(n, T), B, H), dtype=G.dtype)
        P = xp.empty((min(n, T), B, 3, H), dtype=G.dtype)
        dG4 = dG.reshape(T, B, 4, H)
        dc3 = dc[:, None, :]
        post = xp.empty((B, 3, H), dtype=G.dtype)
        tmp = xp.empty((B, H), dtype=G.dtype)
        dh_tr = xp.empty((H, B), dtype=G.dtype)
        for hi in range(T, 0, -n):
            lo = max(0, hi - n)
            ot, p = OT[:hi - lo], P[:hi - lo]
            self._local_gradients(G[lo:hi], Cs[lo:hi], TC[lo:hi], dG[lo:hi], ot, p)
            for t in range(hi - 1, lo - 1, -1):
                if dC is not None:
                    dc += dC[t]
                xp.multiply(dh, ot[t - lo], out=tmp)    # dc += dh o (1 - tanh(c)^2)
                dc += tmp
                q = dG4[t]
                xp.multiply(dc3, p[t - lo], out=post)   # di, df, dg (pre-activation): derivative * dc * factor
                q[:, :3] *= post
                xp.multiply(dh, TC[t], out=tmp)         # do = o' * dh tanh(c)
                q[:, 3] *= tmp
                dc *= G[t, :, H:2 * H]                  # dc_{t-1} = dc f
                xp.matmul(Wh, dG[t].T, out=dh_tr)       # dh = dG W_hh^T, computed as its transpose (see
                if t and dY is not None:                # RecurrentLayer: ~1.5x faster at batch-sized rows)
                    xp.add(dh_tr.T, dY[t - 1], out=dh)
                else:
                    xp.copyto(dh, dh_tr.T)
        return dG

    def backward(self, dY, dhT, dcT, dC=None):
        """dY (T, B, H) or None, dhT and dcT (B, H) or None -> (dx (T, B, D), dh0, dc0). ``dC`` (T, B, H), optional:
        a gradient with respect to each step's c_t, added in at that step (the stack's variable lengths)."""
        x, G, Hs, Cs, TC = self._need_cache()
        T, B, _ = x.shape
        H = self.hidden_size
        dh = xp.zeros((B, H), dtype=G.dtype) if dhT is None else xp.array(dhT, dtype=G.dtype)
        dc = xp.zeros((B, H), dtype=G.dtype) if dcT is None else xp.array(dcT, dtype=G.dtype)
        if dY is not None and T:
            dh += dY[T - 1]
        if usable(G) and G.size:
            dG = backward_loop(G, Hs, Cs, TC, self.Wh, dY, dC, dh, dc, self._scratch("dG", G.shape, G.dtype))
        else:
            dG = self._backward_loop(G, Hs, Cs, TC, self.Wh, dY, dC, dh, dc)
        dx = self._accumulate(x, Hs, dG)
        return dx, dh, dc


class LSTM(RecurrentStack):
    """Multi-layer LSTM over batch-first input ``(batch, time, input_size)``.

    ``LSTM(input_size, hidden_size, num_layers=1, *, dropout=0.0, forget_bias=1.0, dtype=float32, seed=None)``.
    ``forward(x, state=None) -> (y, (h, c))`` with ``h`` and ``c`` of shape ``(num_layers, batch, hidden)``;
    ``backward(dy, dstate=None) -> dx``. Equations, gate order (i, f, g, o) and parameter names are
    PyTorch's (``weight_ih_l0`` ...), so ``torch.nn.LSTM(batch_first=True)`` weights load directly.
    """

    layer_class = LSTMLayer

    def __init__(self, input_size, hidden_size, num_layers=1, *, dropout=0.0, forget_bias=1.0, dtype=None,
                 seed=None):
        super().__init__(input_size, hidden_size, num_layers, dropout=dropout, dtype=dtype, seed=seed,
                         forget_bias=forget_bias)
