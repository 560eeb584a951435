"""The LSTM (``layers/lstm.py``) in C and ONNX.

C: unit j of the step over the fused columns of ``LSTMLayer.step_weights``, blocks (i, f, o, g), the sigmoid
columns halved (a sigmoid is ``0.5f * fast_tanh(x) + 0.5f`` on them). ONNX: operator ``LSTM``, whose gate order is
(i, o, f, c); ``B`` is ``[Wb; Rb]`` = ``[b_ih; b_hh]``; no peepholes.
"""

from gatedrnn.deploy.onnx_cell import OnnxCell

C_STEP = ("const float i = 0.5f * fast_tanh(g[j]) + 0.5f, f = 0.5f * fast_tanh(g[H + j]) + 0.5f;\n"
          "const float o = 0.5f * fast_tanh(g[2 * H + j]) + 0.5f, u = fast_tanh(g[3 * H + j]);\n"
          "c[j] = f * c[j] + i * u;\n"
          "h[j] = o * fast_tanh(c[j]);")

ONNX = OnnxCell("LSTM", (0, 3, 1, 2))
