"""Checkpoints and models: rebuild the model a checkpoint describes (``build_model``, ``load_checkpoint``), find the
checkpoint a path names (``resolve_checkpoint``), and save a registered model (``save_checkpoint``). The folder
format itself — crash-consistent writes, the readers that find a complete checkpoint after a crash — is
``gatedrnn.checkpoint_io``, re-exported here.
"""

from __future__ import annotations

from pathlib import Path

import numpy

from gatedrnn.checkpoint_io import (
    FORMAT,
    VERSION,
    locate_checkpoint,
    read_checkpoint,
    recover_checkpoint,
    recover_checkpoints,
    remove_checkpoint,
)
from gatedrnn.checkpoint_io import save_checkpoint as _save_folder
from gatedrnn.errors import UserError, show
from gatedrnn.run_folder import NEW as RUN_NEW
from gatedrnn.run_folder import recover as recover_run
from gatedrnn.run_lock import run_lock

__all__ = ["FORMAT", "VERSION", "build_model", "load_checkpoint", "locate_checkpoint", "read_checkpoint",
           "recover_checkpoint", "recover_checkpoints", "remove_checkpoint", "resolve_checkpoint", "save_checkpoint"]


def _model_classes():
    from gatedrnn.models import MODELS

    return MODELS


def save_checkpoint(path, model, *, meta: dict | None = None, arrays: dict | None = None) -> Path:
    """The folder writer (``gatedrnn.checkpoint_io.save_checkpoint``) for a model of a registered class, one that
    ``build_model`` can rebuild."""
    classes = _model_classes()
    if type(model).__name__ not in classes:
        raise UserError(f"save_checkpoint: expected one of the model classes {sorted(classes)}, got {type(model).__name__}")
    return _save_folder(path, model, meta=meta, arrays=arrays)


def build_model(meta: dict, weights: dict | None = None):
    """Rebuild the model described by ``meta['model']`` and load ``weights`` into it."""
    classes = _model_classes()
    spec = meta.get("model") or {}
    if not isinstance(spec, dict):
        raise UserError(f"checkpoint: expected meta.json 'model' to be an object, got {type(spec).__name__}")
    cls = classes.get(spec.get("class")) if isinstance(spec.get("class"), str) else None
    if cls is None:
        raise UserError(f"checkpoint: expected a model class in {sorted(classes)}, got {show(spec.get('class'))}")
    config = spec.get("config")
    if not isinstance(config, dict):
        raise UserError(f"checkpoint: expected meta.json model 'config' to be an object, got {show(config)}")
    if weights is not None:
        _check_weights(config, weights)
    try:
        model = cls(**config, dtype=spec.get("dtype"))
    except (TypeError, KeyError) as exc:
        raise UserError(f"checkpoint: model config does not fit {cls.__name__} ({exc})") from None
    if weights is not None:
        model.load_state_dict(weights)
    return model


def _check_weights(config: dict, weights: dict) -> None:
    """Refuse what loading would silently cast (integer, bool, complex weights), non-finite weights (a diverged or
    damaged run: better here than as NaN at some layer's input) and sizes in the model config that no weight array
    could hold (a size larger than every dimension would only ask for a huge allocation)."""
    for name, w in weights.items():
        if not numpy.issubdtype(w.dtype, numpy.floating):
            raise UserError(f"checkpoint model.npz[{name!r}]: expected floating-point weights, got dtype {w.dtype}")
        if not numpy.isfinite(w).all():
            raise UserError(f"checkpoint model.npz[{name!r}]: expected finite weights, got NaN or Inf")
    if not weights:
        raise UserError("checkpoint model.npz: expected the model's weights, got no arrays")
    bound = max([len(weights), *(d for w in weights.values() for d in w.shape)])
    for key, v in config.items():
        if isinstance(v, int) and not isinstance(v, bool) and not 0 <= v <= bound:
            raise UserError(f"checkpoint: expected model config {key!r} in [0, {bound}] (the weights' sizes), got {show(v)}")


def load_checkpoint(path):
    """-> (model, meta, extra arrays). The model is in eval mode. A retired kind is one line (``refuse_retired``)."""
    meta, weights, extra = read_checkpoint(path)
    refuse_retired(meta, path)
    return build_model(meta, weights).eval(), meta, extra


KINDS = ("forecaster", "classifier")     # the applications whose checkpoints carry more than a network


def checkpoint_kind(meta: dict) -> str | None:
    """The one place a checkpoint's application is read from its ``meta``: ``"forecaster"`` (written by
    ``Forecaster.save``: its members are the checkpoint's siblings), ``"classifier"`` (``Classifier.save``: the
    scaling and the labels beside the network) or None (a network alone: language model, regressor, stack)."""
    if isinstance(meta.get("forecaster"), dict):
        return "forecaster"
    if "classifier" in meta:
        return "classifier"
    return None


def refuse_retired(meta: dict, path) -> None:
    """The single-series forecaster of gatedrnn 0.1 (meta ``series`` of kind ``forecaster``: a recursive one-step
    network with a global scaler) was removed in 0.2, when ``Forecaster`` became the one engine: its checkpoints
    are refused in one line that says so and what to do."""
    series = meta.get("series")
    if isinstance(series, dict) and series.get("kind") == "forecaster":
        raise UserError(f"checkpoint {path}: expected a Forecaster (meta.json 'forecaster', gatedrnn 0.2), got the "
                        f"single-series forecaster of gatedrnn 0.1 (meta.json 'series'), removed in 0.2: re-run its "
                        f"gatedrnn forecast command (or --config its config.json) to get a Forecaster")


def resolve_checkpoint(path) -> Path:
    """The checkpoint a path names, for every command that reads one: the folder itself when it holds
    ``meta.json``, else inside a run folder its ``best/`` (lowest validation loss), ``model/`` (a forecaster's)
    or ``last/``, in that order (each through ``locate_checkpoint``: after a killed save, its complete sibling)."""
    path = Path(path)
    finish_interrupted_run(path)
    for cand in (path, path / "best", path / "model", path / "last"):
        found = locate_checkpoint(cand)
        if found is not None:
            return found
    raise FileNotFoundError(f"checkpoint {path}: expected a checkpoint folder (meta.json, model.npz) or a run folder "
                            f"holding best/, model/ or last/, got {'no such path' if not path.exists() else 'none of them'}")


def finish_interrupted_run(path) -> None:
    """A run folder (``path`` or its parent) whose last ``forecast``/``classify`` write was cut off inside its swap
    (``gatedrnn.run_folder``: ``.gatedrnn-run.new`` left by a ``kill -9``) is finished first, under the folder's
    lock, so that a reader sees the whole new run; one line when it cannot be (a read-only folder, say)."""
    path = Path(path)
    for folder in (path, path.parent):
        if not (folder / RUN_NEW).is_dir():
            continue
        try:
            with run_lock(folder):
                recover_run(folder)
        except OSError as exc:
            raise UserError(f"{folder}: expected a finished run, got one whose last write was cut off while it was "
                            f"swapped in and which could not be finished here ({exc.strerror or exc})") from None
