"""The checkpoint kinds: one registry that says what a checkpoint folder holds, writes it and gives it back.

A checkpoint folder (``gatedrnn.checkpoint_io``: ``model.npz`` and ``meta.json``) holds one network of a registered
model class. Its ``meta.json`` carries one ``kind`` field, written on save, naming what the folder is: a network
alone (one kind per model class, registered by ``gatedrnn/models/__init__.py`` through ``register_network``:
``language_model``, ``block_lm``, ``regressor``, ``block_regressor``, ``sequence_classifier``) or an application's
object around its network (registered by the application's package through ``register_kind``: ``forecaster``,
written by ``Forecaster.save``, its ensemble members the folder's siblings; ``classifier``, written by
``Classifier.save``, the labels and the scaling beside the network). This module imports none of them: it sits on
the models floor, below ``train/`` and the applications, and every reader (``gatedrnn.load``, ``stream``,
``export``, the applications' own ``load``) asks it.

``checkpoint_kind(meta)`` is the one place a kind is read from a meta: its ``kind`` field, or, for a checkpoint
written before that field existed (gatedrnn 0.2.0 and earlier), the keys each kind's saver wrote then
(``_legacy_kind``). The single-series forecaster of gatedrnn 0.1 is refused there in one line. ``save_checkpoint``
stamps the kind on every save (the Trainer's checkpoints and ``Model.save`` included); ``load(path)`` returns the
registered kind's own object: the ``Model`` for a network, the ``Forecaster``, the ``Classifier``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy

from gatedrnn.checkpoint_io import locate_checkpoint, read_checkpoint
from gatedrnn.checkpoint_io import save_checkpoint as _save_folder
from gatedrnn.errors import UserError, show
from gatedrnn.run_folder import NEW as RUN_NEW
from gatedrnn.run_folder import recover as recover_run
from gatedrnn.run_lock import run_lock


@dataclass(frozen=True)
class Kind:
    """One kind of checkpoint: its ``name`` (the meta's ``kind``), the class ``load`` returns, and ``load`` itself
    (the checkpoint folder -> the object; None for a network: built from the meta and its weights here)."""

    name: str
    cls: type
    load: Callable[[Path], Any] | None = None

    @property
    def network(self) -> bool:
        return self.load is None


NETWORKS: dict[str, type] = {}     # model class name -> class: what a checkpoint's meta 'model' may name
KINDS: dict[str, Kind] = {}        # kind name -> Kind


def register_network(name: str, cls: type) -> None:
    """A model class whose checkpoints ``build_model`` rebuilds; a folder holding it alone is of kind ``name``."""
    NETWORKS[cls.__name__] = cls
    KINDS[name] = Kind(name, cls)


def register_kind(name: str, cls: type, load: Callable[[Path], Any]) -> None:
    """An application's kind: ``load(found)`` gives back its ``cls`` from the checkpoint folder ``found``."""
    if name in KINDS and KINDS[name].network:
        raise ValueError(f"register_kind: {name!r} is a network kind")
    KINDS[name] = Kind(name, cls, load)


def network_kind(class_name) -> str:
    """The kind of a network of the model class ``class_name`` saved alone."""
    for kind in KINDS.values():
        if kind.network and kind.cls.__name__ == class_name:
            return kind.name
    raise UserError(f"checkpoint: expected a model class in {sorted(NETWORKS)}, got {show(class_name)}")


# -- reading the kind --------------------------------------------------------------------------------------------
def checkpoint_kind(meta: dict, where="checkpoint") -> str:
    """The registered kind of the checkpoint whose ``meta.json`` is ``meta`` (see the module docstring); one
    ``UserError`` line for a kind this version does not know, a network kind that is not the meta's model class,
    or the retired single-series forecaster."""
    _refuse_retired(meta, where)
    kind = meta.get("kind")
    if kind is None:                          # written before the field: what its saver wrote then
        kind = _legacy_kind(meta)
    if not isinstance(kind, str) or kind not in KINDS:
        raise UserError(f"{where} meta.json kind: expected one of {', '.join(sorted(KINDS))}, got {show(kind)}")
    spec = meta.get("model")
    cls = spec.get("class") if isinstance(spec, dict) else None
    if KINDS[kind].network and cls != KINDS[kind].cls.__name__:
        raise UserError(f"{where} meta.json kind: expected {network_kind(cls)!r} for a {cls} network, got {kind!r}")
    return kind


def _legacy_kind(meta: dict) -> str:
    """The kind of a checkpoint written without the ``kind`` field, from the keys its saver wrote: ``forecaster``
    (an object) by ``Forecaster.save``, ``classifier`` by ``Classifier.save``, else the network alone of its model
    class."""
    if isinstance(meta.get("forecaster"), dict):
        return "forecaster"
    if "classifier" in meta:
        return "classifier"
    spec = meta.get("model")
    return network_kind(spec.get("class") if isinstance(spec, dict) else None)


def _refuse_retired(meta: dict, where) -> None:
    """The single-series forecaster of gatedrnn 0.1 (meta ``series`` of kind ``forecaster``: a recursive one-step
    network with a global scaler) was removed in 0.2, when ``Forecaster`` became the one engine: its checkpoints
    are refused in one line that says so and what to do."""
    series = meta.get("series")
    if isinstance(series, dict) and series.get("kind") == "forecaster":
        raise UserError(f"{where}: expected a Forecaster (meta.json 'forecaster', gatedrnn 0.2), got the "
                        f"single-series forecaster of gatedrnn 0.1 (meta.json 'series'), removed in 0.2: re-run its "
                        f"gatedrnn forecast command (or --config its config.json) to get a Forecaster")


# -- saving ------------------------------------------------------------------------------------------------------
def save_checkpoint(path, model, *, meta: dict | None = None, arrays: dict | None = None,
                    kind: str | None = None) -> Path:
    """The folder writer (``gatedrnn.checkpoint_io.save_checkpoint``) for a model of a registered class, with the
    meta's ``kind``: ``kind`` when given (an application's), else the one ``meta`` implies, a network's being its
    model's own."""
    name = type(model).__name__
    if name not in NETWORKS:
        raise UserError(f"save: expected a model of a registered class {sorted(NETWORKS)} (gatedrnn.models.MODELS), "
                        f"got {name}")
    doc = dict(meta or {})
    if kind is None:
        kind = doc["kind"] if "kind" in doc else _legacy_kind({**doc, "model": {"class": name}})
    if not isinstance(kind, str) or kind not in KINDS:
        raise UserError(f"save: kind: expected one of {', '.join(sorted(KINDS))}, got {show(kind)}")
    if KINDS[kind].network:                   # a network's kind is its class's, whatever the meta said
        kind = network_kind(name)
    doc["kind"] = kind
    return _save_folder(path, model, meta=doc, arrays=arrays)


# -- loading -----------------------------------------------------------------------------------------------------
def build_model(meta: dict, weights: dict | None = None):
    """Rebuild the model described by ``meta['model']`` and load ``weights`` into it."""
    spec = meta.get("model") or {}
    if not isinstance(spec, dict):
        raise UserError(f"checkpoint: expected meta.json 'model' to be an object, got {type(spec).__name__}")
    name = spec.get("class")
    cls = NETWORKS.get(name) if isinstance(name, str) else None
    if cls is None:
        raise UserError(f"checkpoint: expected a model class in {sorted(NETWORKS)}, got {show(name)}")
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
    """-> (network, meta, extra arrays) of the checkpoint folder ``path``, its kind checked (``checkpoint_kind``:
    a retired or unknown kind is one line). The network is in eval mode."""
    meta, weights, extra = read_checkpoint(path)
    checkpoint_kind(meta, f"checkpoint {path}")
    return build_model(meta, weights).eval(), meta, extra


def load(path) -> Any:
    """The object of the checkpoint or run folder ``path`` (``resolve_checkpoint``), by its registered kind: a
    network in evaluation mode with ``meta`` (the checkpoint's meta.json) and ``checkpoint`` (the folder), or what
    the kind's application loads (``Forecaster``, ``Classifier``)."""
    found = resolve_checkpoint(path)
    meta, weights, _ = read_checkpoint(found)
    kind = KINDS[checkpoint_kind(meta, f"checkpoint {found}")]
    if kind.load is not None:
        return kind.load(found)
    model = build_model(meta, weights).eval()
    model.meta, model.checkpoint = meta, found
    return model


# -- finding the checkpoint a path names ------------------------------------------------------------------------
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
