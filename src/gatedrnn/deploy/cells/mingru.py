"""minGRU (``layers/mingru.py``) in C and ONNX.

C: unit j of the step over the fused blocks (-p_z / 2 | p_h) of its ``step_weights``: a = 1 - z = sigmoid(-p_z),
v = g(p_h), h = a h + (1 - a) v. ONNX: the min cells' own graph (``deploy/onnx_min.py``) with the keep gate
``Sigmoid(-p_z)``.
"""

from gatedrnn.deploy.onnx_cell import OnnxCell
from gatedrnn.deploy.onnx_min import min_nodes

C_STEP = ("const float a = 0.5f * fast_tanh(g[j]) + 0.5f, p = g[H + j];\n"
          "const float v = (p > 0.0f ? p : 0.0f) + (0.5f * fast_tanh(0.5f * (p < 0.0f ? p : 0.0f)) + 0.5f);\n"
          "h[j] = h[j] * a + (1.0f - a) * v;")


def keep_gate(g, blocks: list, tag: str) -> str:
    """The keep gate a = 1 - z = sigmoid(-p_z) from the z block's pre-activations."""
    return g.node("Sigmoid", [g.node("Neg", [blocks[0]], [f"{tag}_negz"])], [f"{tag}_a"])


ONNX = OnnxCell("Scan", nodes=min_nodes(keep_gate))
