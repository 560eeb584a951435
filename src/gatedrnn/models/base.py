"""What every model adds to a layer: the metadata of the checkpoint it came from, and ``save``.

A model is a ``Layer`` with a ``config`` dict (the keyword arguments that rebuild it) registered by class name in
``gatedrnn.models.MODELS`` (the registry of checkpoint kinds' ``gatedrnn.models.io.NETWORKS``).
``model.save(path)`` writes a checkpoint folder (``model.npz`` + ``meta.json``) that ``gatedrnn.load(path)`` reads
back, and that ``gatedrnn eval``/``generate`` (a language model whose ``meta``
holds its vocabulary and corpus), ``gatedrnn stream`` and ``gatedrnn export`` read like a training run's.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gatedrnn.layers.base import Layer
from gatedrnn.models.io import save_checkpoint

# meta.json keys that describe a training run's position (optimizer slots, random generators, ...): they belong
# to a checkpoint written by the Trainer, with its extra arrays, and are not written by ``save``
TRAINING_STATE_KEYS = ("trainer", "optimizer", "rng", "schedule", "callbacks", "carried_state")
# meta.json keys that the checkpoint format itself writes
FORMAT_KEYS = ("format", "version", "model")


class Model(Layer):
    """Base class of the models: ``config`` rebuilds it, ``meta`` is what its checkpoint said about it (empty for a
    model built in Python; ``gatedrnn.load`` fills it: vocabulary, corpus, run config, series, ...)."""

    config: dict[str, Any]

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, Any] = {}
        self.checkpoint: Path | None = None  # the folder ``gatedrnn.load`` read it from

    def save(self, path: str | os.PathLike[str], meta: dict[str, Any] | None = None) -> Path:
        """Write the weights and the config to the checkpoint folder ``path`` (crash-consistently: the old
        checkpoint or the new one, never half of one) and return its path.

        ``meta`` (default: ``self.meta``; without the training state either way) is stored in ``meta.json`` beside the
        model's class and config: keep a language model's ``vocab`` and ``corpus`` there for ``gatedrnn eval``
        and ``generate``, a forecaster's ``series`` for ``gatedrnn stream``. Any JSON-able dict will do. Its
        ``kind`` (``gatedrnn.models.io.save_checkpoint``) is the meta's own when it names an application's (else the
        one its keys imply), a network's always its class's.
        """
        doc = self.meta if meta is None else meta
        skip = FORMAT_KEYS + TRAINING_STATE_KEYS
        return save_checkpoint(path, self, meta={k: v for k, v in doc.items() if k not in skip})
