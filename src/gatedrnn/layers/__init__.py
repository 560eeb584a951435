"""The layers: each holds ``params``/``grads`` and writes ``backward`` right under ``forward``.

``CELLS`` maps each recurrent cell's name to its multi-layer stack class (``{"fastgrnn": FastGRNN, "fastrnn":
FastRNN, "gru": GRU, "lstm": LSTM, "mingru": MinGRU, "minlstm": MinLSTM, "rnn": RNN}``); the model builders
(``make_recurrent``), the command-line choices and ``Stream`` read it and the class attributes of the cell, so
none of them names a cell; the ONNX and C99 exporters read it with deploy's emitters of each cell
(``deploy/cells/<name>.py``, keyed by the same names).

Adding a cell is one new file in this package plus its tests. The file is the cell's math: a ``RecurrentLayer``
subclass with its ``name``, ``gates``, ``has_cell``/``forget_gate``, ``forward``/``backward``, its one-step update
(``step_width``, ``step_weights`` when the plain fused layout does not fit, ``step_update``), and a
``RecurrentStack`` subclass whose ``layer_class`` is that layer; no C or ONNX text (tests/project/test_emitters_in_deploy.py).
Its exports are one more file, ``deploy/cells/<name>.py`` (its C step, its ONNX form). The registry is built by
importing every module of this package and collecting those stacks, so the file needs no other line anywhere
(import its stack here as well only to export the class by name). The tests that every cell must pass are
registry-driven (tests/layers/test_cells.py: one step equals the batch forward; test_gradcheck.py and
test_torch_parity.py list theirs by hand); add the cell's gradient check and reference.
"""

import importlib
import pkgutil

from gatedrnn.errors import UserError, check_choice
from gatedrnn.layers.base import Layer
from gatedrnn.layers.dropout import Dropout
from gatedrnn.layers.embedding import Embedding
from gatedrnn.layers.fastgrnn import FastGRNN
from gatedrnn.layers.fastrnn import FastRNN
from gatedrnn.layers.gru import GRU
from gatedrnn.layers.linear import Linear
from gatedrnn.layers.loss import MSE, SoftmaxCrossEntropy
from gatedrnn.layers.lstm import LSTM
from gatedrnn.layers.mingru import MinGRU
from gatedrnn.layers.minlstm import MinLSTM
from gatedrnn.layers.recurrent import RecurrentStack
from gatedrnn.layers.rnn import RNN

__all__ = ["CELLS", "make_recurrent", "Layer", "Dropout", "Embedding", "FastGRNN", "FastRNN", "GRU", "Linear", "LSTM", "MSE", "MinGRU",
           "MinLSTM", "RNN", "SoftmaxCrossEntropy"]


def _find_cells() -> dict:
    """name -> stack class, for every ``RecurrentStack`` subclass that a module of this package defines with its
    own ``layer_class`` of a named cell; in the order of the module names."""
    cells: dict[str, type[RecurrentStack]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for obj in vars(module).values():
            if not (isinstance(obj, type) and issubclass(obj, RecurrentStack) and obj.__module__ == module.__name__
                    and "layer_class" in vars(obj) and obj.name):
                continue
            if obj.name in cells:
                raise RuntimeError(f"cell name {obj.name!r} is defined twice: {cells[obj.name]} and {obj}")
            cells[obj.name] = obj
    return cells


CELLS = _find_cells()


def make_recurrent(cell: str, input_size: int, hidden_size: int, num_layers: int = 1, *, dropout: float = 0.0,
                   forget_bias: float = 1.0, dtype=None, seed=None, rank_ih=None, rank_hh=None):
    """Build the stack of ``cell`` (a name in ``CELLS``); ``forget_bias`` applies to cells with a forget gate,
    ``rank_ih``/``rank_hh`` (None: full) to cells with low-rank matrices (``low_rank``), one line for another."""
    stack = CELLS[check_choice("cell", cell, sorted(CELLS))]
    extra = {"forget_bias": forget_bias} if stack.layer_class.forget_gate is not None else {}
    for name, rank in (("rank_ih", rank_ih), ("rank_hh", rank_hh)):
        if rank is not None:
            if not getattr(stack.layer_class, "low_rank", False):
                low = ", ".join(n for n, s in CELLS.items() if getattr(s.layer_class, "low_rank", False))
                raise UserError(f"{name}: expected a cell with low-rank matrices ({low}), got {cell}")
            extra[name] = rank
    return stack(input_size, hidden_size, num_layers, dropout=dropout, dtype=dtype, seed=seed, **extra)
