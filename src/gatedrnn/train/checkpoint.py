"""Checkpoints without pickle: a directory holding ``model.npz`` (weights, PyTorch names and layout),
``meta.json`` (format, model class and config, and whatever the caller adds: training config, vocabulary,
optimizer scalars, RNG states, step) and optionally ``extra.npz`` (other arrays, e.g. optimizer slots).

Loading never runs code: ``numpy.load(..., allow_pickle=False)`` and ``json``. Saving is atomic: the files are
written into a temporary sibling directory which then replaces the old checkpoint by rename, so a crash leaves
either the old checkpoint or the new one, never a half-written one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy

from gatedrnn.errors import UserError

FORMAT = "gatedrnn-checkpoint"
VERSION = 1


def _model_classes():
    from gatedrnn.models import MODELS

    return MODELS


def save_checkpoint(path, model, *, meta: dict | None = None, arrays: dict | None = None) -> Path:
    """Write ``model`` (and ``meta``/``arrays``) to the directory ``path`` atomically; returns the path."""
    path = Path(path)
    classes = _model_classes()
    cls = type(model).__name__
    if cls not in classes:
        raise UserError(f"save_checkpoint: expected one of the model classes {sorted(classes)}, got {cls}")
    doc = {"format": FORMAT, "version": VERSION,
           "model": {"class": cls, "config": model.config, "dtype": str(model.params[0].dtype)},
           **(meta or {})}
    text = json.dumps(doc, indent=1, sort_keys=True)  # fails here, before anything is written, if not JSON-able
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        with open(tmp / "model.npz", "wb") as f:
            numpy.savez(f, **model.state_dict())
        if arrays:
            with open(tmp / "extra.npz", "wb") as f:
                numpy.savez(f, **arrays)
        (tmp / "meta.json").write_text(text)
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        old = None
        if path.exists():
            old = path.parent / f".{path.name}.old-{os.getpid()}"
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def _load_npz(file: Path) -> dict[str, numpy.ndarray]:
    try:
        with numpy.load(file, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise UserError(f"checkpoint {file}: corrupt or unreadable array file ({exc})") from None


def read_checkpoint(path) -> tuple[dict, dict, dict]:
    """-> (meta, model arrays, extra arrays), validated but without building the model."""
    path = Path(path)
    if not (path / "meta.json").is_file() or not (path / "model.npz").is_file():
        raise FileNotFoundError(f"checkpoint {path}: expected a directory with meta.json and model.npz, "
                                f"got {'no such path' if not path.exists() else 'something else'}")
    try:
        meta = json.loads((path / "meta.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"checkpoint {path}: meta.json is not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise UserError(f"checkpoint {path}: expected format {FORMAT!r}, got {meta.get('format') if isinstance(meta, dict) else meta!r}")
    if meta.get("version") != VERSION:
        raise UserError(f"checkpoint {path}: expected version {VERSION}, got {meta.get('version')!r}")
    weights = _load_npz(path / "model.npz")
    extra = _load_npz(path / "extra.npz") if (path / "extra.npz").is_file() else {}
    return meta, weights, extra


def build_model(meta: dict, weights: dict | None = None):
    """Rebuild the model described by ``meta['model']`` and load ``weights`` into it."""
    classes = _model_classes()
    spec = meta.get("model") or {}
    cls = classes.get(spec.get("class"))
    if cls is None:
        raise UserError(f"checkpoint: expected a model class in {sorted(classes)}, got {spec.get('class')!r}")
    try:
        model = cls(**spec["config"], dtype=spec.get("dtype"))
    except (TypeError, KeyError) as exc:
        raise UserError(f"checkpoint: model config does not fit {cls.__name__} ({exc})") from None
    if weights is not None:
        model.load_state_dict(weights)
    return model


def load_checkpoint(path):
    """-> (model, meta, extra arrays). The model is in eval mode."""
    meta, weights, extra = read_checkpoint(path)
    return build_model(meta, weights).eval(), meta, extra


def resolve_checkpoint(path) -> Path:
    """The checkpoint a path names, for every command that reads one: the folder itself when it holds
    ``meta.json``, else inside a run folder its ``best/`` (lowest validation loss), ``model/`` (a forecaster's)
    or ``last/``, in that order."""
    path = Path(path)
    for cand in (path, path / "best", path / "model", path / "last"):
        if (cand / "meta.json").is_file():
            return cand
    raise FileNotFoundError(f"checkpoint {path}: expected a checkpoint folder (meta.json, model.npz) or a run folder "
                            f"holding best/, model/ or last/, got {'no such path' if not path.exists() else 'none of them'}")
