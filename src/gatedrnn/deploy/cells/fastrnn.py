"""FastRNN (``layers/fastrnn.py``) in C, fixed-point C and ONNX.

C: unit j of the step over the fused blocks (a | alpha | beta) of its ``step_weights``: h = alpha tanh(a) + beta h.
Fixed point (``deploy/c99_fixed.py``): the same step in integers, g in Q16, h in Q(HF), h~ in Q15; ``q15_update``
is its NumPy int64 twin (bit for bit), with the export's helpers in ``q`` (``fixed_point.Q15Ops``). ONNX: a
``Scan`` whose body is one step (``deploy/onnx_fast.py``; ``onnx_body`` adds the gate math).
"""

from gatedrnn.backend import to_numpy
from gatedrnn.deploy.onnx_cell import OnnxCell
from gatedrnn.deploy.onnx_fast import fast_nodes

C_STEP = "h[j] = g[H + j] * fast_tanh(g[j]) + g[2 * H + j] * h[j];"

Q15_STEP = ("h[j] = q_h((int64_t)g[H + j] * q_tanh(g[j]) + (int64_t)g[2 * H + j] * h[j] * ((int64_t)1 << (15 - HF)), "
            "31 - HF, sat);")


def q15_update(g, h, HF: int, q):
    """``Q15_STEP`` on all units at once: ``g`` the Q16 pre-activations, ``h`` the state in Q(HF) (int64)."""
    H = h.shape[0]
    return q.h(g[H:2 * H] * q.tanh(g[:H]) + g[2 * H:] * h * (1 << (15 - HF)), 31 - HF)


def onnx_body(layer, node, const) -> None:
    """The step's nodes, from ``p_t``, ``rec`` and ``h_prev`` to ``h_next``."""
    c = node("Tanh", [node("Add", [node("Add", ["p_t", "rec"], "pre"), const("b", to_numpy(layer.param("bias")))],
                               "a")], "c")
    ac = node("Mul", [const("alpha", layer.scalar("alpha_logit")), c], "ac")
    node("Add", [ac, node("Mul", [const("beta", layer.scalar("beta_logit")), "h_prev"], "bh")], "h_next")


ONNX = OnnxCell("Scan", nodes=fast_nodes(onnx_body))
