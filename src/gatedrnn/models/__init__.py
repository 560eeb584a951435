"""Models: stacks of layers, nothing clever."""

from gatedrnn.models.language_model import LanguageModel
from gatedrnn.models.regressor import SequenceRegressor

MODELS = {"LanguageModel": LanguageModel, "SequenceRegressor": SequenceRegressor}

__all__ = ["MODELS", "LanguageModel", "SequenceRegressor"]
