"""Sequence classification (``gatedrnn classify``): a recurrent classifier over sequences of different lengths,
trained on a UEA/UCR ``.ts`` dataset and compared with 1-NN DTW and MiniRocket.

One idea per module: ``config`` (``ClassifyConfig``, ``make_config``), ``inputs`` (``as_sequences``, ``as_labels``,
the standardisation), ``checks`` (the settings and a saved meta.json), ``model`` (``Classifier``: ``fit``,
``predict``, ``predict_proba``, ``score``, ``save``, ``load``), ``baselines`` (aeon's 1-NN DTW and MiniRocket),
``selection`` (the steps, chosen on validation cases carved from the training set), ``augment`` (scaling, window
crops), ``run`` (the experiment and its table: the test file read once, after every model is fitted).

The names below are the package's public face; the command's machinery (``run.run``, ``run.format_table``,
``config.make_config``) is imported from its module. Importing the package registers the checkpoint kind
``classifier`` (``gatedrnn.models.io``): ``gatedrnn.load`` of a ``Classifier.save`` folder gives the Classifier.
"""

from gatedrnn.classify.config import ClassifyConfig
from gatedrnn.classify.export_adapter import ADAPTER as _EXPORT_ADAPTER
from gatedrnn.classify.inputs import as_sequences
from gatedrnn.classify.model import Classifier
from gatedrnn.deploy.adapters import register_adapter
from gatedrnn.models.io import register_kind

register_kind("classifier", Classifier, Classifier.load)
register_adapter("classifier", _EXPORT_ADAPTER)     # deploy imports no application: classify hands its adapter down

__all__ = ["ClassifyConfig", "Classifier", "as_sequences"]
