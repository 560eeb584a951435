"""minGRU (Feng et al. 2024, "Were RNNs All We Needed?", arXiv 2410.01201): the GRU without h_{t-1} in its
gates and without the candidate's tanh, so that all steps can be computed at once by a scan::

    z_t = sigmoid(W_iz x_t + b_iz)                update gate, from x_t alone
    h~_t = g(W_ih x_t + b_ih)                     candidate; g(v) = v + 0.5 (v >= 0), sigmoid(v) (v < 0): h > 0
    h_t = (1 - z_t) * h_{t-1} + z_t * h~_t        a linear recurrence in h: ``layers/min_base.py``

Parameters: ``weight_ih_l{k}`` (2H, D) in block order (z, h) and ``bias_ih_l{k}`` (2H,), PyTorch's
``nn.Linear`` layout and default initialisation U(-1/sqrt(D), 1/sqrt(D)). No ``weight_hh``: nothing is
multiplied by h_{t-1}. Backward (the keep gate a = 1 - z = sigmoid(-p_z); da from the shared reverse scan)::

    dp_z = -da * a (1 - a),     dp_h = dv * g'(p_h) with g' = 1 (p >= 0), v (1 - v) (p < 0)

One step at a time (``step_update``, what ``Stream`` runs): ``step_weights`` is ``[W_ih; 0; b_ih]`` in blocks
(z, h), the h rows zero, the z columns times -1/2 (as ``forward`` computes that block: ``pre_scale``); the step
computes a = sigmoid(-p_z) = (1 + tanh(-p_z / 2)) / 2, v = g(p_h) and h = a h + (1 - a) v, the same arithmetic as
the batch forward and its scan.

Its ONNX graph and its C step are deploy's (``deploy/cells/``).
"""

from __future__ import annotations

from gatedrnn.backend import xp
from gatedrnn.layers.min_base import MinLayer, MinStack, candidate_


class MinGRULayer(MinLayer):
    """One minGRU layer over a time-major sequence; see the module docstring."""

    name = "mingru"
    gates = 2
    step_width = 2
    pre_scale = (-0.5, 1.0)                          # the z block as -p_z / 2, ready for the tanh form
    keep_in_place = True

    def _gates(self, P, A):
        xp.tanh(A, out=A)                            # a = 1 - z = sigmoid(-p_z) = 0.5 tanh(-p_z / 2) + 0.5, in
        A *= 0.5                                     # place in the z block (A is P[0])
        A += 0.5

    def _gate_grads(self, P, A, R):
        xp.multiply(R, A, out=A)                     # dp_z = -da a (1 - a) = R a, into the z block (A itself)

    @staticmethod
    def step_update(g, h, c, tmp):
        H = h.shape[1]
        a, v = g[:, :H], g[:, H:]
        xp.tanh(a, out=a)                            # the z columns hold -p_z / 2 (pre_scale)
        a *= 0.5
        a += 0.5
        candidate_(v, tmp)
        xp.subtract(1.0, a, out=tmp)                 # h = a h + (1 - a) v
        tmp *= v
        h *= a
        h += tmp


class MinGRU(MinStack):
    """Multi-layer minGRU over batch-first input ``(batch, time, input_size)``.

    ``MinGRU(input_size, hidden_size, num_layers=1, *, dropout=0.0, dtype=float32, seed=None, scan="loop")``;
    ``forward(x, state=None) -> (y, h)`` with ``h`` of shape ``(num_layers, batch, hidden)``;
    ``backward(dy, dstate=None) -> dx``. ``scan`` is how the recurrence runs over time (``layers.scan.SCANS``).
    """

    layer_class = MinGRULayer
