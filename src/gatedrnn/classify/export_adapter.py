"""A saved Classifier's export adapter: what every export and stream of its network adds around it.

Pre-processing: the raw inputs standardised with the mean and std saved beside the network; post-processing: the
class labels, one per logit. Both are read from the folder's ``meta.json`` and checked against the network
(``checks.read_meta``), so that an export of a ``Classifier.save`` folder takes the values ``Classifier`` takes and
names its outputs as ``Classifier.predict`` does. The package's ``__init__`` hands ``ADAPTER`` to deploy
(``deploy.adapters.register_adapter``), which asks for it by the checkpoint's kind and imports no application.
"""

from __future__ import annotations

from gatedrnn.classify.checks import read_meta
from gatedrnn.deploy.adapters import Adapter, NetworkIO


def classifier_io(found, model, meta: dict) -> NetworkIO:
    """The pre-processing (``standardize``: the saved (mean, std) of its raw inputs) and post-processing
    (``labels``: one class per output) of the Classifier saved in ``found`` (its network ``model``, its ``meta``),
    checked; one line for a meta that does not fit the network."""
    classes, mean, std = read_meta(found, model, meta)
    return NetworkIO((mean, std), classes.tolist())


ADAPTER = Adapter(io=classifier_io)
