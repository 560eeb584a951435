"""Models: stacks of layers, nothing clever."""

from gatedrnn.models.base import Model
from gatedrnn.models.classifier import Padded, SequenceClassifier
from gatedrnn.models.language_model import LanguageModel
from gatedrnn.models.regressor import SequenceRegressor

MODELS = {"LanguageModel": LanguageModel, "SequenceClassifier": SequenceClassifier,
          "SequenceRegressor": SequenceRegressor}

__all__ = ["MODELS", "LanguageModel", "Model", "Padded", "SequenceClassifier", "SequenceRegressor"]
