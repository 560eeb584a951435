"""The plain RNN (``layers/rnn.py``) in C and ONNX: ``h = tanh(a)`` for unit j; ONNX's operator ``RNN``, one
block, its default activation Tanh."""

from gatedrnn.deploy.onnx_cell import OnnxCell

C_STEP = "h[j] = fast_tanh(g[j]);"

ONNX = OnnxCell("RNN")
