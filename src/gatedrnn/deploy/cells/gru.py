"""The GRU (``layers/gru.py``) in C and ONNX.

C: unit j of the step over the four column blocks of ``GRULayer.step_weights``: (r, z) (halved, for the tanh form
of the sigmoid) | ``W_in x + b_in`` | ``W_hn h + b_hn``. ONNX: operator ``GRU``, gate order (z, r, h), with
``linear_before_reset=1``: ONNX's default applies the reset gate before the recurrent product,
``h = tanh(W x + R (r * h) + ...)``; PyTorch's formulation, which the layer follows, is
``tanh(W x + b_in + r * (R h + b_hn))``, and that is what ``linear_before_reset=1`` computes.
"""

import types

from gatedrnn.deploy.onnx_cell import OnnxCell

C_STEP = ("const float r = 0.5f * fast_tanh(g[j]) + 0.5f, z = 0.5f * fast_tanh(g[H + j]) + 0.5f;\n"
          "const float n = fast_tanh(g[2 * H + j] + r * g[3 * H + j]);\n"
          "h[j] = n + z * (h[j] - n);")

ONNX = OnnxCell("GRU", (1, 0, 2), types.MappingProxyType({"linear_before_reset": 1}))
