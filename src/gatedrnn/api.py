"""``gatedrnn.load``: the object of any checkpoint or run folder, the way a PyTorch or Keras user reaches for it.

    import gatedrnn
    model = gatedrnn.load("runs/ptb-small-lstm")       # a run folder (best/, model/ or last/) or a checkpoint
    logits, state = model(ids)                          # any model: forward(x, state=None) -> (y, state)
    model.meta["vocab"]["tokens"][:5]                   # what the checkpoint said: vocabulary, corpus, config ...
    model.save("my-model")                              # weights + config (+ meta), read back by gatedrnn.load
    gatedrnn.load("runs/forecast-co2-lstm").predict()   # a Forecaster folder gives back the Forecaster
    gatedrnn.load("runs/uea/lstm").predict(X)           # a Classifier's, the Classifier

Every checkpoint's ``meta.json`` names its kind, and ``gatedrnn.models.io`` (the registry of checkpoint kinds, on
the models floor) says what each kind loads as. The applications register their kinds when their package is
imported (``gatedrnn.forecast``: ``forecaster``; ``gatedrnn.classify``: ``classifier``); this module imports them
so that ``load`` knows every kind. (``api`` sits on the floor above the applications, beside ``lab/`` and
``deploy/``, for that reason; nothing on its floor imports it.)
"""

from __future__ import annotations

import os
from typing import Any

import gatedrnn.classify  # noqa: F401  (registers the kind "classifier")
import gatedrnn.forecast  # noqa: F401  (registers the kind "forecaster")
from gatedrnn.models import io


def load(path: str | os.PathLike[str]) -> Any:
    """The object of the checkpoint or run folder ``path`` (the folder itself, else its ``best/``, ``model/`` or
    ``last/``), by the kind its ``meta.json`` names (``gatedrnn.models.io.checkpoint_kind``; a checkpoint written
    before the ``kind`` field by the keys it holds):

    * a network (``LanguageModel``, ``BlockLM``, ``SequenceRegressor``, ``BlockRegressor``, ``SequenceClassifier``)
      in evaluation mode, with ``model.meta`` (the checkpoint's ``meta.json``: vocabulary, corpus, run config ...)
      and ``model.checkpoint`` (the folder it was read from);
    * the ``gatedrnn.Forecaster`` of a folder written by ``Forecaster.save`` (or one of its ``model``/``model-K``
      checkpoints), every ensemble member with it (its networks are ``.models``);
    * the ``gatedrnn.Classifier`` of a folder written by ``Classifier.save`` (its network is ``.model``).

    Typed ``Any`` so that a caller's ``model(x)`` and ``model.vocab_size`` need no cast."""
    return io.load(path)
