"""The layers: each holds ``params``/``grads`` and writes ``backward`` right under ``forward``."""

from gatedrnn.layers.base import Layer
from gatedrnn.layers.dropout import Dropout
from gatedrnn.layers.embedding import Embedding
from gatedrnn.layers.gru import GRU
from gatedrnn.layers.linear import Linear
from gatedrnn.layers.loss import MSE, SoftmaxCrossEntropy
from gatedrnn.layers.lstm import LSTM
from gatedrnn.layers.rnn import RNN

__all__ = ["CELLS", "make_recurrent", "Layer", "Dropout", "Embedding", "GRU", "Linear", "LSTM", "MSE", "RNN", "SoftmaxCrossEntropy"]

CELLS = {"lstm": LSTM, "gru": GRU, "rnn": RNN}


def make_recurrent(cell: str, input_size: int, hidden_size: int, num_layers: int = 1, *, dropout: float = 0.0,
                   forget_bias: float = 1.0, dtype=None, seed=None):
    """Build ``LSTM``/``GRU``/``RNN`` by name; ``forget_bias`` applies to the LSTM only."""
    if cell not in CELLS:
        raise ValueError(f"cell: expected one of {sorted(CELLS)}, got {cell!r}")
    extra = {"forget_bias": forget_bias} if cell == "lstm" else {}
    return CELLS[cell](input_size, hidden_size, num_layers, dropout=dropout, dtype=dtype, seed=seed, **extra)
