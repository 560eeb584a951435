"""What FastRNN and FastGRNN (Kusupati et al. 2018, "FastGRNN: A Fast, Accurate, Stable and Tiny Kilobyte
Sized Gated Recurrent Neural Network", NeurIPS) share: one input matrix W and one recurrent matrix U used by
every part of the cell, each either full (``weight_ih`` (D, H), ``weight_hh`` (H, H)) or low rank
(``W = weight_ih_1 @ weight_ih_2`` with ranks ``rank_ih``, ``U = weight_hh_1 @ weight_hh_2`` with ``rank_hh``),
and learned scalars kept as logits: the paper parametrises its scalars (FastRNN's alpha, beta; FastGRNN's zeta,
nu) through a sigmoid so that they stay in (0, 1), and so do these cells: the parameter ``zeta_logit`` holds s
and the cell uses zeta = sigmoid(s).

Layout: ``x @ W`` (no transposition; there is no PyTorch module whose layout to follow, and ``state_dict`` holds
the arrays as the cell uses them). The factored matrices are multiplied out once per forward and backward (the
time loop then does one (B, H) x (H, H) product per step); their gradients are the dense gradient times the other
factor, ``dW1 = dW @ W2^T`` and ``dW2 = W1^T @ dW``.

One step at a time (``step_weights``): the fused matrix ``[W; U; b]`` in blocks of H columns: W and U once (the
shared pre-activation), then the biases and the scalars as blocks that only the bias row fills (a constant
column per unit), so that the static ``step_update`` and the C step (``deploy/cells/``) read them from ``g`` like
any pre-activation, and the C export (which skips all-zero blocks of rows) stores W and U once.

``state_grid`` (off by default; ``train/quantize_aware.py`` sets it for its int16 activations) rounds every step's
state in the forward pass to the int16 grid of the fixed-point C step (Q2.13: ``STATE_FRAC`` fractional bits,
saturating at the int16 limits); the backward pass takes the rounding as the identity (straight-through).
"""

from __future__ import annotations

import math

import numpy

from gatedrnn.backend import to_numpy, xp
from gatedrnn.errors import UserError, check_int
from gatedrnn.init import uniform
from gatedrnn.layers.base import Layer
from gatedrnn.layers.recurrent import RecurrentLayer

STATE_FRAC = 13          # the fixed-point step's hidden state: int16 with 13 fractional bits (deploy/fixed_point.py)


def _sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))


def check_rank_of(name: str, rank, rows: int, cols: int):
    """A rank of a (rows, cols) matrix: None (full) or an integer in [1, min(rows, cols)]."""
    if rank is None:
        return None
    top = min(rows, cols)
    check_int(name, rank)
    if rank > top:
        raise UserError(f"{name}: expected an integer in [1, {top}] (the smaller side of a {rows}x{cols} matrix), "
                        f"got {rank}")
    return int(rank)


class FastLayer(RecurrentLayer):
    """A layer with a shared W (D, H) and U (H, H), full or low rank, biases and sigmoid-parametrised scalars.

    A subclass sets ``biases`` (names of (H,) biases, with their initial values) and ``scalars`` (names of the
    scalars, with their initial logits), and writes ``forward``/``backward`` with ``dense``/``add_dense_grads``."""

    biases: tuple = ()
    scalars: tuple = ()
    own_init = True         # the language model's "book" re-draw (lm/build.py) leaves these parameters alone
    low_rank = True         # takes rank_ih / rank_hh (layers.make_recurrent)
    state_grid = False      # True: each step's state on the fixed-point step's int16 grid (see the module docstring)

    @property
    def Wx(self):
        """The input matrix W, or its first factor: scaling it scales W (what an input gain does)."""
        return self.params[self._factors["ih"][0]]

    def __init__(self, input_size: int, hidden_size: int, *, dtype, rng: numpy.random.Generator,
                 rank_ih=None, rank_hh=None):
        Layer.__init__(self)
        D, H = input_size, hidden_size
        cls = type(self).__name__
        self.rank_ih = check_rank_of(f"{cls} rank_ih", rank_ih, D, H)
        self.rank_hh = check_rank_of(f"{cls} rank_hh", rank_hh, H, H)
        self.input_size, self.hidden_size = D, H
        k = 1.0 / math.sqrt(H)
        self._factors: dict[str, tuple[int, ...]] = {}
        for which, rows, rank in (("ih", D, self.rank_ih), ("hh", H, self.rank_hh)):
            if rank is None:
                self._factors[which] = (len(self.params),)
                self.add_param(f"weight_{which}", uniform(rng, (rows, H), k, dtype))
            else:        # each factor U(-k', k') with k' = (k / sqrt(rank))^(1/2): W1 @ W2 of the dense one's scale
                kf = math.sqrt(k * math.sqrt(3.0 / rank))
                self._factors[which] = (len(self.params), len(self.params) + 1)
                self.add_param(f"weight_{which}_1", uniform(rng, (rows, rank), kf, dtype))
                self.add_param(f"weight_{which}_2", uniform(rng, (rank, H), kf, dtype))
        for name, value in self.biases:
            self.add_param(name, xp.full((H,), value, dtype=dtype))
        for name, value in self.scalars:
            self.add_param(name, xp.full((1,), value, dtype=dtype))
        self.cache = None

    def on_grid_(self, h):
        """Round the state ``h`` in place to the int16 Q2.13 grid of the fixed-point step, saturating at its ends."""
        h *= float(1 << STATE_FRAC)
        xp.rint(h, out=h)
        xp.clip(h, -32768.0, 32767.0, out=h)
        h *= 1.0 / (1 << STATE_FRAC)

    def dense(self, which: str):
        """W (``"ih"``) or U (``"hh"``) as one matrix."""
        idx = self._factors[which]
        return self.params[idx[0]] if len(idx) == 1 else self.params[idx[0]] @ self.params[idx[1]]

    def add_dense_grads(self, which: str, dM) -> None:
        """Accumulate the gradient ``dM`` of the dense W or U into its parameter(s)."""
        idx = self._factors[which]
        if len(idx) == 1:
            self.grads[idx[0]] += dM
        else:
            A, B = self.params[idx[0]], self.params[idx[1]]
            self.grads[idx[0]] += dM @ B.T
            self.grads[idx[1]] += A.T @ dM

    def param(self, name: str):
        return self.params[self.names.index(name)]

    def grad(self, name: str):
        return self.grads[self.names.index(name)]

    def scalar(self, name: str) -> float:
        """The scalar in (0, 1): sigmoid of its logit."""
        return _sigmoid(float(to_numpy(self.param(name))[0]))

    def add_scalar_grad(self, name: str, d) -> None:
        """Accumulate d(loss)/d(scalar) through the sigmoid into the logit."""
        s = self.scalar(name)
        self.grad(name)[0] += float(d) * s * (1.0 - s)

    def fused(self, bias, constants) -> numpy.ndarray:
        """``[W; U; b]`` in float64: block 0 the shared W and U with the bias ``bias`` (a name, or None for zeros),
        then one block per name in ``constants``, only its bias row filled: a bias vector, or a scalar in every
        unit's column."""
        D, H = self.input_size, self.hidden_size
        out = numpy.zeros((D + H + 1, (1 + len(constants)) * H))
        out[:D, :H] = numpy.asarray(to_numpy(self.dense("ih")), dtype=numpy.float64)
        out[D:D + H, :H] = numpy.asarray(to_numpy(self.dense("hh")), dtype=numpy.float64)
        for k, name in enumerate(([bias] if bias else []) + list(constants)):
            col = 0 if bias and k == 0 else (k if bias else k + 1) * H
            if name.endswith("_logit"):
                out[D + H, col:col + H] = self.scalar(name)
            else:
                out[D + H, col:col + H] = numpy.asarray(to_numpy(self.param(name)), dtype=numpy.float64)
        return out

    def step_factors(self) -> list:
        """The low-rank matrices of the step as their factors, ``(part, a, b, A, B)`` in float64: the rows of ``part``
        ("x": input, "h": recurrent) and columns [a, b) of ``step_weights()`` equal A @ B (the shared W or U feeds
        block 0). The fixed-point C export computes them as two products, (x A) B."""
        out = []
        for part, which in (("x", "ih"), ("h", "hh")):
            idx = self._factors[which]
            if len(idx) == 2:
                A, B = (numpy.asarray(to_numpy(self.params[i]), dtype=numpy.float64) for i in idx)
                out.append((part, 0, self.hidden_size, A, B))
        return out

    def weight_matrices(self):
        """``(name, array)`` of the matrices (what sparsity and the size count treat as weights)."""
        return [(n, p) for n, p in zip(self.names, self.params) if n.startswith("weight_")]
