"""The checkpoints a training run writes and reads, by the names the Trainer and older code import: the folder
format (``gatedrnn.checkpoint_io``: crash-consistent writes, the readers that find a complete checkpoint after a
crash) and the registry of checkpoint kinds (``gatedrnn.models.io``: ``save_checkpoint`` stamps the kind,
``load_checkpoint``/``build_model`` rebuild the network, ``resolve_checkpoint`` finds the checkpoint a path names).
Loading lives on the models floor, so that nothing that only reads a checkpoint needs ``train/``.
"""

from __future__ import annotations

from gatedrnn.checkpoint_io import (
    FORMAT,
    VERSION,
    locate_checkpoint,
    read_checkpoint,
    recover_checkpoint,
    recover_checkpoints,
    remove_checkpoint,
)
from gatedrnn.models.io import build_model, checkpoint_kind, load_checkpoint, resolve_checkpoint, save_checkpoint

__all__ = ["FORMAT", "VERSION", "build_model", "checkpoint_kind", "load_checkpoint", "locate_checkpoint",
           "read_checkpoint", "recover_checkpoint", "recover_checkpoints", "remove_checkpoint", "resolve_checkpoint",
           "save_checkpoint"]
