"""Sequence classification (``gatedrnn classify``): a recurrent classifier over sequences of different lengths,
trained on a UEA/UCR ``.ts`` dataset and compared with 1-NN DTW and MiniRocket.

One idea per module: ``config`` (``ClassifyConfig``, ``make_config``), ``inputs`` (``as_sequences``, ``as_labels``,
the standardisation), ``checks`` (the settings and a saved meta.json), ``model`` (``Classifier``: ``fit``,
``predict``, ``predict_proba``, ``score``, ``save``, ``load``), ``baselines`` (aeon's 1-NN DTW and MiniRocket),
``selection`` (the steps, chosen on validation cases carved from the training set), ``augment`` (scaling, window
crops), ``run`` (the experiment and its table: the test file read once, after every model is fitted).
"""

from gatedrnn.classify.config import ClassifyConfig, gated_cells, make_config
from gatedrnn.classify.inputs import as_sequences
from gatedrnn.classify.model import Classifier, pad
from gatedrnn.classify.run import format_table, run

__all__ = ["ClassifyConfig", "Classifier", "as_sequences", "format_table", "gated_cells", "make_config", "pad", "run"]
