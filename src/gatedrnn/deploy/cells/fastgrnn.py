"""FastGRNN (``layers/fastgrnn.py``) in C, fixed-point C and ONNX.

C: unit j of the step over the fused blocks (p | b_z | b_h | zeta | nu) of its ``step_weights``: z = sigmoid(p + b_z)
in its tanh form, h~ = tanh(p + b_h), h = (zeta (1 - z) + nu) h~ + z h. Fixed point (``deploy/c99_fixed.py``): the
same step in integers, g in Q16, h in Q(HF), z and h~ in Q15; ``q15_update`` is its NumPy int64 twin (bit for bit),
with the export's helpers in ``q`` (``fixed_point.Q15Ops``). ONNX: a ``Scan`` whose body is one step
(``deploy/onnx_fast.py``; ``onnx_body`` adds the gate math).
"""

from gatedrnn.backend import to_numpy
from gatedrnn.deploy.onnx_cell import OnnxCell
from gatedrnn.deploy.onnx_fast import fast_nodes

C_STEP = ("const float z = 0.5f * fast_tanh(0.5f * (g[j] + g[H + j])) + 0.5f, n = fast_tanh(g[j] + g[2 * H + j]);\n"
          "h[j] = (g[3 * H + j] * (1.0f - z) + g[4 * H + j]) * n + z * h[j];")

Q15_STEP = ("const int32_t z = q_sigmoid((int64_t)g[j] + g[H + j]), n = q_tanh((int64_t)g[j] + g[2 * H + j]);\n"
            "const int64_t a = (int64_t)g[3 * H + j] * (32768 - z) + (int64_t)g[4 * H + j] * 32768;\n"
            "h[j] = q_h(a * n + (int64_t)z * h[j] * ((int64_t)1 << (31 - HF)), 46 - HF, sat);")


def q15_update(g, h, HF: int, q):
    """``Q15_STEP`` on all units at once: ``g`` the Q16 pre-activations, ``h`` the state in Q(HF) (int64)."""
    H = h.shape[0]
    z, n = q.sigmoid(g[:H] + g[H:2 * H]), q.tanh(g[:H] + g[2 * H:3 * H])
    a = g[3 * H:4 * H] * (32768 - z) + g[4 * H:] * 32768
    return q.h(a * n + z * h * (1 << (31 - HF)), 46 - HF)


def onnx_body(layer, node, const) -> None:
    """The step's nodes, from ``p_t``, ``rec`` and ``h_prev`` to ``h_next``."""
    pre = node("Add", ["p_t", "rec"], "pre")
    z = node("Sigmoid", [node("Add", [pre, const("bz", to_numpy(layer.param("bias_z")))], "pz")], "z")
    c = node("Tanh", [node("Add", [pre, const("bh", to_numpy(layer.param("bias_h")))], "pc")], "c")
    keep = node("Sub", [const("one", 1.0), z], "keep")
    mix = node("Add", [node("Mul", [const("zeta", layer.scalar("zeta_logit")), keep], "zk"),
                       const("nu", layer.scalar("nu_logit"))], "mix")
    node("Add", [node("Mul", [mix, c], "mc"), node("Mul", [z, "h_prev"], "zh")], "h_next")


ONNX = OnnxCell("Scan", nodes=fast_nodes(onnx_body))
