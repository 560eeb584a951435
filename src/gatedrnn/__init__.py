"""gatedrnn: LSTM, GRU and the plain RNN from scratch on NumPy, every backward pass written by hand."""

from gatedrnn.gradcheck import gradcheck
from gatedrnn.layers import CELLS, GRU, LSTM, MSE, RNN, Dropout, Embedding, Layer, Linear, SoftmaxCrossEntropy

__version__ = "0.1.0"

__all__ = ["CELLS", "GRU", "LSTM", "MSE", "RNN", "Dropout", "Embedding", "Layer", "Linear", "SoftmaxCrossEntropy",
           "gradcheck", "__version__"]
