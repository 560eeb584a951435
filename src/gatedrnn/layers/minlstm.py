"""minLSTM (Feng et al. 2024, "Were RNNs All We Needed?", arXiv 2410.01201): the LSTM without h_{t-1} in its
gates, without the output gate and the cell, its two remaining gates normalised to sum to one::

    f_t = sigmoid(W_if x_t + b_if),  i_t = sigmoid(W_ii x_t + b_ii)       forget and input gates, from x_t alone
    h~_t = g(W_ih x_t + b_ih)                       candidate; g(v) = v + 0.5 (v >= 0), sigmoid(v) (v < 0)
    f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t) = 1 - f'_t
    h_t = f'_t * h_{t-1} + i'_t * h~_t              a linear recurrence in h: ``layers/min_base.py``

Parameters: ``weight_ih_l{k}`` (3H, D) in block order (f, i, h) and ``bias_ih_l{k}`` (3H,), ``nn.Linear``'s
layout and initialisation, except that the forget block of the bias starts at ``forget_bias`` (default 1.0, as
the LSTM's: f' starts above 1/2, so the memory starts long). The gates use the exp form of the sigmoid
(``min_base.sigmoid_of_negated_``): the ratio f / (f + i) needs both gates' relative precision in their lower
tails, which the tanh form loses in float32 below about -9. Where both gates are exactly 0 (pre-activations
below about -88 in float32) the sum is held at the smallest normal number, so f' = 0. Backward, with a = f'
and da from the shared reverse scan::

    dp_f = da * a (1 - a) (1 - f),   dp_i = -da * a (1 - a) (1 - i),   dp_h = dv * g'(p_h)

One step at a time: ``step_weights`` is ``[W_ih; 0; b_ih]`` in blocks (f, i, h), the f and i columns negated
(``pre_scale``, as ``forward`` computes them); the step computes f', v and h = f' h + (1 - f') v as the batch
forward does. Its ONNX graph and its C step are deploy's (``deploy/cells/``).
"""

from __future__ import annotations

import numpy

from gatedrnn.backend import xp
from gatedrnn.layers.min_base import MinLayer, MinStack, candidate_, sigmoid_of_negated_


class MinLSTMLayer(MinLayer):
    """One minLSTM layer over a time-major sequence; see the module docstring."""

    name = "minlstm"
    gates = 3
    forget_gate = 0
    step_width = 3
    pre_scale = (-1.0, -1.0, 1.0)                    # f and i blocks negated, ready for exp(-p)

    def __init__(self, input_size, hidden_size, *, dtype, rng, scan="loop", forget_bias: float = 1.0):
        super().__init__(input_size, hidden_size, dtype=dtype, rng=rng, scan=scan)
        self.set_forget_bias(forget_bias)

    def _gates(self, P, A):
        f, i = P[0], P[1]
        sigmoid_of_negated_(f)                       # the blocks hold -p_f, -p_i (pre_scale)
        sigmoid_of_negated_(i)
        xp.add(f, i, out=A)
        xp.maximum(A, numpy.finfo(A.dtype).tiny, out=A)
        xp.divide(f, A, out=A)                       # a = f' = f / (f + i)

    def _gate_grads(self, P, A, R):
        f, i = P[0], P[1]
        R *= A                                       # R a = -da a (1 - a)
        xp.subtract(f, 1.0, out=f)                   # dp_f = da a (1 - a) (1 - f) = R a (f - 1)
        f *= R
        xp.subtract(1.0, i, out=i)                   # dp_i = -da a (1 - a) (1 - i) = R a (1 - i)
        i *= R

    @staticmethod
    def step_update(g, h, c, tmp):
        H = h.shape[1]
        f, i, v = g[:, :H], g[:, H:2 * H], g[:, 2 * H:]
        sigmoid_of_negated_(f)                       # the columns hold -p_f, -p_i (pre_scale)
        sigmoid_of_negated_(i)
        i += f
        xp.maximum(i, numpy.finfo(i.dtype).tiny, out=i)
        f /= i                                       # a = f / (f + i)
        candidate_(v, tmp)
        xp.subtract(1.0, f, out=tmp)                 # h = a h + (1 - a) v
        tmp *= v
        h *= f
        h += tmp


class MinLSTM(MinStack):
    """Multi-layer minLSTM over batch-first input ``(batch, time, input_size)``.

    ``MinLSTM(input_size, hidden_size, num_layers=1, *, dropout=0.0, forget_bias=1.0, dtype=float32, seed=None,
    scan="loop")``; ``forward(x, state=None) -> (y, h)`` with ``h`` of shape ``(num_layers, batch, hidden)`` (no
    memory cell); ``backward(dy, dstate=None) -> dx``.
    """

    layer_class = MinLSTMLayer

    def __init__(self, input_size, hidden_size, num_layers=1, *, dropout=0.0, forget_bias=1.0, dtype=None,
                 seed=None, scan="loop"):
        super().__init__(input_size, hidden_size, num_layers, dropout=dropout, dtype=dtype, seed=seed, scan=scan,
                         forget_bias=forget_bias)
