"""Models: stacks of layers, nothing clever."""

from gatedrnn.models.language_model import LanguageModel
from gatedrnn.models.regressor import SequenceRegressor

__all__ = ["LanguageModel", "SequenceRegressor"]
