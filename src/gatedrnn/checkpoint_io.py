"""Checkpoint folders on disk, without pickle: a directory holding ``model.npz`` (weights, PyTorch names and layout),
``meta.json`` (format, model class and config, and whatever the caller adds: training config, vocabulary,
optimizer scalars, RNG states, step) and optionally ``extra.npz`` (other arrays, e.g. optimizer slots).

Loading never runs code and never allocates more than the files hold: each ``.npy`` member's header is read and
checked (no object dtype, a declared size that the member holds) before ``numpy.lib.format.read_array(...,
allow_pickle=False)`` reads it, and ``meta.json`` is read by ``gatedrnn.config.parse_json``.

Saving is crash-consistent: whatever instruction the process dies on (``kill -9``, Ctrl-C, a full disk), a complete
checkpoint, the old one or the new one, is found afterwards. The files are written into a temporary sibling
``.NAME.tmp-XXXXXXXX`` (each flushed to the disk, ``meta.json`` last and by rename, so a folder holding
``meta.json`` is complete); then the old ``NAME`` is moved aside to ``.NAME.old-PID-XXXXXXXX``, the new one is
renamed to ``NAME``, the parent folder is flushed and the old one deleted (``meta.json`` first, so a half-deleted
folder never looks complete). An exception between the two renames moves the old one back. A process killed
between them leaves no ``NAME``: every reader (``read_checkpoint``, ``load_checkpoint``, ``resolve_checkpoint``,
hence ``Trainer.load`` and ``gatedrnn train --resume``) then reads the complete sibling (``locate_checkpoint``),
and the next save, or a run's start (``recover_checkpoints``), renames it back to ``NAME`` and deletes the
orphans (``.NAME.tmp-*``, ``.NAME.old-*``).

This module knows the folder format only, not the models (it sits on the bottom floor so that a model can save
itself); ``gatedrnn.train.checkpoint`` rebuilds models from what it reads.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import shutil
import zipfile
from contextlib import ExitStack
from pathlib import Path

import numpy

from gatedrnn.atomic import fsync_dir, make_temporary_dir, remove_temporaries
from gatedrnn.config import parse_json
from gatedrnn.errors import UserError

FORMAT = "gatedrnn-checkpoint"
VERSION = 1
# the siblings a save leaves when it is killed: .NAME.tmp-XXXXXXXX, .NAME.old-PID-XXXXXXXX, .NAME.trash-XXXXXXXX
_SIBLING = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old|trash)-[0-9a-f-]+(\.[A-Za-z0-9]+)?$")


def save_checkpoint(path, model, *, meta: dict | None = None, arrays: dict | None = None) -> Path:
    """Write ``model`` (and ``meta``/``arrays``) to the directory ``path``, crash-consistently (see the module
    docstring); returns the path. An ``OSError`` while writing (a full disk) leaves the previous checkpoint as it
    was and says so."""
    path = Path(path)
    cls = type(model).__name__
    doc = {"format": FORMAT, "version": VERSION,
           "model": {"class": cls, "config": model.config, "dtype": str(model.params[0].dtype)},
           **(meta or {})}
    text = json.dumps(doc, indent=1, sort_keys=True)  # fails here, before anything is written, if not JSON-able
    path.parent.mkdir(parents=True, exist_ok=True)
    recover_checkpoint(path)
    tmp, old = make_temporary_dir(path), None
    try:
        _write_files(tmp, model.state_dict(), arrays, text.encode("utf-8"))
        if path.exists():
            old = path.parent / f".{path.name}.old-{os.getpid()}-{secrets.token_hex(4)}"
            os.replace(path, old)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException as exc:
        _undo(path, tmp, old)
        if isinstance(exc, OSError) and exc.errno is not None:
            kept = "the previous checkpoint is kept" if _complete(path) else "no checkpoint had been written there"
            raise OSError(exc.errno, f"checkpoint {path}: could not write it ({exc.strerror or exc}); {kept}") from exc
        raise
    if old is not None:
        _discard(old)
    return path


def _write_files(tmp: Path, weights: dict, arrays: dict | None, meta: bytes) -> None:
    """The checkpoint's files into the new folder ``tmp``, each flushed to the disk; ``meta.json`` last."""
    for name, content in (("model.npz", weights), ("extra.npz", arrays or {})):
        if name == "model.npz" or content:
            with open(tmp / name, "wb") as f:
                numpy.savez(f, **content)
                f.flush()
                os.fsync(f.fileno())
    part = tmp / "meta.json.part"
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        view = memoryview(meta)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(part, tmp / "meta.json")
    fsync_dir(tmp)


def _undo(path: Path, tmp: Path, old: Path | None) -> None:
    """After an exception in a save: the old checkpoint back in place (unless the new one already is), no temporary."""
    if old is not None and old.exists():
        if path.exists():
            _discard(old)
        else:
            os.replace(old, path)
            fsync_dir(path.parent)
    if tmp.exists():
        _discard(tmp)


def _complete(folder: Path) -> bool:
    return (folder / "meta.json").is_file() and (folder / "model.npz").is_file()


def _discard(folder: Path) -> None:
    """Delete a checkpoint folder, ``meta.json`` first: a half-deleted folder never looks complete."""
    if folder.is_dir() and not folder.is_symlink():
        (folder / "meta.json").unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
    else:
        folder.unlink(missing_ok=True)


def _siblings(path: Path) -> list[Path]:
    """What saves of ``path`` left beside it: ``.NAME.tmp-*``, ``.NAME.old-*``, ``.NAME.trash-*``."""
    if not path.parent.is_dir():
        return []
    found = []
    for p in path.parent.iterdir():
        m = _SIBLING.match(p.name)
        if m and m.group("name") == path.name:
            found.append(p)
    return found


def locate_checkpoint(path) -> Path | None:
    """The complete checkpoint ``path`` stands for, without changing anything: ``path`` itself when it holds
    ``meta.json`` and ``model.npz``; when ``path`` does not exist (a save was killed between its two renames), the
    complete ``.NAME.tmp-*`` (the new one) or else ``.NAME.old-*`` (the old one) beside it; else None. Looks again
    when what it sees may be a save running beside it (a folder that is there but incomplete)."""
    path = Path(path)
    for _ in range(3):
        if _complete(path):
            return path
        if path.exists() or path.is_symlink():
            continue  # incomplete, or swapped between the two checks by a save running beside this
        found = _complete_sibling(path)
        if found is not None or not _complete(path):  # else a save finished meanwhile: look again
            return found
    return None


def _complete_sibling(path: Path) -> Path | None:
    """The complete ``.NAME.tmp-*`` (the newest), else the complete ``.NAME.old-*`` (the newest), else None."""
    rank, cands = {"tmp": 0, "old": 1}, []
    for p in _siblings(path):
        m = _SIBLING.match(p.name)   # every sibling matches
        kind = m.group("kind") if m else None
        if kind in rank and (p / "model.npz").is_file():
            try:
                cands.append((rank[kind], -(p / "meta.json").stat().st_mtime_ns, p))
            except FileNotFoundError:  # incomplete, or deleted since the listing
                continue
    return min(cands)[2] if cands else None


def recover_checkpoint(path) -> Path | None:
    """Put the checkpoint ``path`` back in place after a killed save (rename the complete sibling that
    ``locate_checkpoint`` finds to ``path``) and delete the orphans beside it; returns ``path`` when it is now a
    complete checkpoint, else None. Only for a writer of the folder (a save, a run's start under its lock)."""
    path = Path(path)
    if not (path.exists() or path.is_symlink()):
        found = locate_checkpoint(path)
        if found is not None:
            os.replace(found, path)
            fsync_dir(path.parent)
    for p in _siblings(path):
        _discard(p)
    return path if _complete(path) else None


def recover_checkpoints(folder) -> None:
    """``recover_checkpoint`` for every checkpoint a killed save left in ``folder``, then delete the temporaries
    of killed file writes (``gatedrnn.atomic``). A run calls this when it starts, holding the folder's lock."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    names = {m.group("name") for p in folder.iterdir() if (m := _SIBLING.match(p.name))}
    for name in sorted(names):
        recover_checkpoint(folder / name)
    remove_temporaries(folder)


def remove_checkpoint(path) -> None:
    """Delete the checkpoint ``path`` and every sibling a save left, so that no reader finds any of them."""
    path = Path(path)
    for p in _siblings(path):
        _discard(p)
    if path.exists() or path.is_symlink():
        trash = path.parent / f".{path.name}.trash-{secrets.token_hex(4)}"
        os.replace(path, trash)
        _discard(trash)


MAX_NPZ_BYTES = 1 << 36       # 64 GiB: what the arrays of one checkpoint file may declare in all
_DEFLATE_RATIO = 1032         # deflate's largest expansion: no member unpacks to more than this times its size


def _load_npz(file, name: Path) -> dict[str, numpy.ndarray]:
    """The arrays of an ``.npz`` file, without pickle and without allocating more than the file can hold: every
    member's size and ``.npy`` header (shape and dtype) are checked first (``_check_members``), so a 64-byte file
    that declares a 4 TB array, an object array, a zip bomb or a member that is no array is one ``UserError``."""
    try:
        with zipfile.ZipFile(file) as zf:
            infos = zf.infolist()
            _check_members(zf, infos, os.fstat(file.fileno()).st_size, name)
            arrays = {}
            for info in infos:
                with zf.open(info) as f:
                    arrays[info.filename[:-4]] = numpy.lib.format.read_array(f, allow_pickle=False)
            return arrays
    except UserError:                     # what _check_members refuses, said as it is
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, NotImplementedError) as exc:
        # numpy's header and data errors, zipfile's CRC errors and unknown compression methods
        raise UserError(f"checkpoint {name}: corrupt or unreadable array file ({exc})") from None


def _check_members(zf: zipfile.ZipFile, infos: list, file_bytes: int, name: Path) -> None:
    """Refuse, before anything is allocated: members that are no ``.npy`` array, named twice or encrypted, sizes that
    the file's bytes cannot unpack to, and ``.npy`` headers that declare another size than the member holds or an
    object dtype (which only pickle could read)."""
    if len({i.filename for i in infos}) < len(infos):
        raise UserError(f"checkpoint {name}: expected each array once, got a name twice")
    total = 0
    for info in infos:
        where = f"checkpoint {name}[{info.filename[:-4]!r}]"
        if not info.filename.endswith(".npy") or info.flag_bits & 0x1:
            raise UserError(f"checkpoint {name}: expected only .npy arrays, got member {info.filename[:60]!r}"
                            f"{' (encrypted)' if info.flag_bits & 0x1 else ''}")
        ratio = 1 if info.compress_type == zipfile.ZIP_STORED else _DEFLATE_RATIO
        total += info.file_size
        if info.compress_size > file_bytes or info.file_size > ratio * info.compress_size or total > MAX_NPZ_BYTES:
            raise UserError(f"{where}: expected an array the file's {file_bytes:,} bytes can hold, got one that "
                            f"declares {info.file_size:,} bytes")
        with zf.open(info) as f:
            version = numpy.lib.format.read_magic(f)
            if version not in ((1, 0), (2, 0)):
                raise UserError(f"{where}: expected .npy format 1.0 or 2.0, got {version}")
            read = numpy.lib.format.read_array_header_1_0 if version == (1, 0) else numpy.lib.format.read_array_header_2_0
            shape, _, dtype = read(f)
            header = f.tell()
        if dtype.hasobject:
            raise UserError(f"{where}: expected numbers, got an object array (it would need pickle, and loading "
                            f"never runs code)")
        declared = math.prod(shape) * dtype.itemsize
        if declared != info.file_size - header:
            raise UserError(f"{where}: expected a shape that fits the file, got shape {tuple(shape)} of {dtype} "
                            f"({declared:,} bytes) in {info.file_size - header:,} bytes of data")


def read_checkpoint(path) -> tuple[dict, dict, dict]:
    """-> (meta, model arrays, extra arrays), validated but without building the model. Reads the checkpoint
    ``locate_checkpoint`` finds, and looks again when a save running beside it moves the folder while it reads."""
    path = Path(path)
    for _ in range(10):
        found = locate_checkpoint(path)
        if found is None:
            break
        with ExitStack() as stack:
            files = _open_files(found, stack)
            if files is not None:
                return _read_files(found, *files)
    raise FileNotFoundError(f"checkpoint {path}: expected a directory with meta.json and model.npz, "
                            f"got {'no such path' if not path.exists() else 'something else'}")


def _open_files(folder: Path, stack: ExitStack):
    """Open meta.json, model.npz and extra.npz (None when absent); None when the folder changed meanwhile (its
    meta.json is no longer the one opened: a save moved or deleted it)."""
    try:
        meta = stack.enter_context(open(folder / "meta.json", "rb"))
        model = stack.enter_context(open(folder / "model.npz", "rb"))
    except FileNotFoundError:
        return None
    extra = stack.enter_context(open(folder / "extra.npz", "rb")) if (folder / "extra.npz").is_file() else None
    opened = os.fstat(meta.fileno())
    try:
        now = os.stat(folder / "meta.json")
    except FileNotFoundError:
        return None
    return (meta, model, extra) if (opened.st_ino, opened.st_dev) == (now.st_ino, now.st_dev) else None


def _read_files(path: Path, meta_file, model_file, extra_file) -> tuple[dict, dict, dict]:
    meta = parse_json(meta_file.read(), f"checkpoint {path}: meta.json")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise UserError(f"checkpoint {path}: expected format {FORMAT!r}, got {meta.get('format') if isinstance(meta, dict) else meta!r}")
    if meta.get("version") != VERSION:
        raise UserError(f"checkpoint {path}: expected version {VERSION}, got {meta.get('version')!r}")
    weights = _load_npz(model_file, path / "model.npz")
    extra = {} if extra_file is None else _load_npz(extra_file, path / "extra.npz")
    return meta, weights, extra


