"""``gatedrnn.load``: the model of any checkpoint or run folder, the way a PyTorch or Keras user reaches for it.

    import gatedrnn
    model = gatedrnn.load("runs/ptb-small-lstm")       # a run folder (best/, model/ or last/) or a checkpoint
    logits, state = model(ids)                          # any model: forward(x, state=None) -> (y, state)
    model.meta["vocab"]["tokens"][:5]                   # what the checkpoint said: vocabulary, corpus, config ...
    model.save("my-model")                              # weights + config (+ meta), read back by gatedrnn.load

Every application writes its checkpoints with ``gatedrnn.train.checkpoint.save_checkpoint`` and names the model
class, so one loader serves language models, forecasters and any later model of ``gatedrnn.models.MODELS``. A
folder written by ``gatedrnn.forecast.Forecaster.save`` gives back the ``Forecaster`` itself, every ensemble member
with it, so ``gatedrnn.load(path).predict()`` forecasts. (``api`` sits on the floor above the applications, beside
``lab/`` and ``deploy/``, because it dispatches to them; nothing on its floor imports it.)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gatedrnn.forecast.forecaster import Forecaster
from gatedrnn.models.base import Model
from gatedrnn.train.checkpoint import checkpoint_kind, load_checkpoint, resolve_checkpoint


def load(path: str | os.PathLike[str]) -> Any:
    """The model of the checkpoint or run folder ``path`` (``resolve_checkpoint``: the folder itself, else its
    ``best/``, ``model/`` or ``last/``), in evaluation mode, with ``model.meta`` (the checkpoint's ``meta.json``:
    vocabulary, corpus, run config, series scaler ...) and ``model.checkpoint`` (the folder it was read from).

    Returns a ``gatedrnn.models.Model`` (``LanguageModel``, ``SequenceRegressor``, ...), or, for a folder written by
    ``Forecaster.save`` (or one of its ``model``/``model-K`` checkpoints: their ``meta`` holds ``forecaster``), the
    ``gatedrnn.forecast.Forecaster`` with all its members (``Forecaster.load`` of that folder; its networks are
    ``.models``). Typed ``Any`` so that a caller's ``model(x)`` and ``model.vocab_size`` need no cast."""
    found = resolve_checkpoint(Path(path))
    model, meta, _ = load_checkpoint(found)
    if not isinstance(model, Model):
        raise TypeError(f"load: {type(model).__name__} is registered in gatedrnn.models.MODELS but is no Model")
    if checkpoint_kind(meta) == "forecaster":          # Forecaster.save wrote found.parent/model, model-1 ...
        return Forecaster.load(found.parent)
    model.meta = meta
    model.checkpoint = found
    return model
