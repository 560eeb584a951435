"""gatedrnn: LSTM, GRU and the plain RNN from scratch on NumPy, every backward pass written by hand.

    import numpy as np
    import gatedrnn as g

    lstm = g.LSTM(16, 64, num_layers=2, seed=0)
    y, (h, c) = lstm(np.zeros((8, 35, 16), np.float32))      # layer(x) is layer.forward(x)
    model = g.load("runs/ptb-small-lstm")                     # any checkpoint or run folder, with model.meta
    model.save("my-model")                                    # read back by g.load, gatedrnn eval/stream/export
    f = g.Forecaster(horizon=24, season=24).fit(series)      # the estimators: g.Forecaster, g.Classifier

The names below are the public API; everything else lives in its floor (``gatedrnn.lm``, ``gatedrnn.forecast``,
``gatedrnn.deploy``, ...).
"""

from gatedrnn.api import load
from gatedrnn.classify.model import Classifier
from gatedrnn.errors import MissingDependency, UserError
from gatedrnn.forecast.forecaster import Forecaster
from gatedrnn.gradcheck import gradcheck
from gatedrnn.layers import CELLS, GRU, LSTM, MSE, RNN, Dropout, Embedding, Layer, Linear, SoftmaxCrossEntropy
from gatedrnn.layers.mingru import MinGRU
from gatedrnn.layers.minlstm import MinLSTM
from gatedrnn.models import LanguageModel, Model, SequenceRegressor
from gatedrnn.optim import SGD, AdaGrad, Adam, Momentum, RMSprop
from gatedrnn.train.trainer import Trainer, TrainingDiverged, evaluate

# the one place the version is written: pyproject.toml reads it from here ([tool.setuptools.dynamic])
__version__ = "0.2.0"

__all__ = ["CELLS", "GRU", "LSTM", "MSE", "RNN", "SGD", "AdaGrad", "Adam", "Classifier", "Dropout", "Embedding",
           "Forecaster", "LanguageModel",
           "Layer", "Linear", "MinGRU", "MinLSTM", "MissingDependency", "Model", "Momentum", "RMSprop", "SequenceRegressor",
           "SoftmaxCrossEntropy", "Trainer", "TrainingDiverged", "UserError", "__version__", "evaluate", "gradcheck",
           "load"]
