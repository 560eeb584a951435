"""Models: stacks of layers, nothing clever."""

from gatedrnn.models.base import Model
from gatedrnn.models.block import MinBlockStack
from gatedrnn.models.block_lm import BlockLM
from gatedrnn.models.block_regressor import BlockRegressor
from gatedrnn.models.classifier import Padded, SequenceClassifier
from gatedrnn.models.language_model import LanguageModel
from gatedrnn.models.regressor import SequenceRegressor

MODELS = {"BlockLM": BlockLM, "BlockRegressor": BlockRegressor, "LanguageModel": LanguageModel,
          "SequenceClassifier": SequenceClassifier, "SequenceRegressor": SequenceRegressor}

__all__ = ["MODELS", "BlockLM", "BlockRegressor", "LanguageModel", "MinBlockStack", "Model", "Padded",
           "SequenceClassifier", "SequenceRegressor"]
