"""Models: stacks of layers, nothing clever. Each model class is registered here with the checkpoint kind of a
folder that holds it alone (``gatedrnn.models.io``, the registry of checkpoint kinds)."""

from gatedrnn.models.base import Model
from gatedrnn.models.block import MinBlockStack
from gatedrnn.models.block_lm import BlockLM
from gatedrnn.models.block_regressor import BlockRegressor
from gatedrnn.models.classifier import Padded, SequenceClassifier
from gatedrnn.models.esrnn import ESRNN
from gatedrnn.models.io import NETWORKS, register_network
from gatedrnn.models.language_model import LanguageModel
from gatedrnn.models.regressor import SequenceRegressor

for _kind, _cls in (("language_model", LanguageModel), ("block_lm", BlockLM), ("regressor", SequenceRegressor),
                    ("block_regressor", BlockRegressor), ("sequence_classifier", SequenceClassifier), ("esrnn", ESRNN)):
    register_network(_kind, _cls)

MODELS = NETWORKS       # model class name -> class: what a checkpoint's meta 'model' may name

__all__ = ["MODELS", "BlockLM", "BlockRegressor", "LanguageModel", "MinBlockStack", "Model", "Padded",
           "SequenceClassifier", "SequenceRegressor"]
