"""minLSTM (``layers/minlstm.py``) in C and ONNX.

C: unit j of the step over the fused blocks (-p_f | -p_i | p_h) of its ``step_weights``: f' = f / (f + i), the sum
held at the smallest normal float as the layer holds it, v = g(p_h), h = f' h + (1 - f') v. ONNX: the min cells'
own graph (``deploy/onnx_min.py``) with the keep gate ``f / (f + i)`` from two ``Sigmoid``.
"""

from gatedrnn.deploy.onnx_cell import OnnxCell
from gatedrnn.deploy.onnx_min import min_nodes

C_STEP = ("const float f = 1.0f / (1.0f + expf(g[j])), i = 1.0f / (1.0f + expf(g[H + j]));\n"
          "const float s = f + i, a = f / (s > 1.17549435e-38f ? s : 1.17549435e-38f), p = g[2 * H + j];\n"
          "const float v = (p > 0.0f ? p : 0.0f) + (0.5f * fast_tanh(0.5f * (p < 0.0f ? p : 0.0f)) + 0.5f);\n"
          "h[j] = h[j] * a + (1.0f - a) * v;")


def keep_gate(g, blocks: list, tag: str) -> str:
    """The keep gate f' = f / (f + i) from the f and i blocks' pre-activations."""
    f = g.node("Sigmoid", [blocks[0]], [f"{tag}_f"])
    i = g.node("Sigmoid", [blocks[1]], [f"{tag}_i"])
    return g.node("Div", [f, g.node("Add", [f, i], [f"{tag}_fi"])], [f"{tag}_a"])


ONNX = OnnxCell("Scan", nodes=min_nodes(keep_gate))
