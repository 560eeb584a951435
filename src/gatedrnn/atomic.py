"""Writing files so that nothing half-written is ever left on disk: a temporary sibling, then a rename.

Temporaries are named ``.NAME.tmp-XXXXXXXX[SUFFIX]`` beside their target and are created with the modes a plain
``open``/``mkdir`` would give (0666/0777 less the umask: 0644/0755 under umask 022), not tempfile's 0600/0700, so a
service running as another user can read what a run wrote. A process killed between the write and the rename leaves
such a temporary behind; ``remove_temporaries(folder)`` deletes them (a run calls it when it starts).

This module imports nothing of gatedrnn's.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path

_TEMPORARY = re.compile(r"^\..+\.tmp-[0-9a-f]{8}(\.[A-Za-z0-9]+)?$")


def _temporary_name(target: Path, suffix: str = "") -> Path:
    return target.parent / f".{target.name}.tmp-{secrets.token_hex(4)}{suffix}"


def make_temporary_file(target, suffix: str = "") -> Path:
    """Create an empty, new file ``.NAME.tmp-XXXXXXXX{suffix}`` beside ``target`` (mode 0666 less the umask)."""
    target = Path(target)
    while True:
        tmp = _temporary_name(target, suffix)
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue


def make_temporary_dir(target) -> Path:
    """Create an empty, new folder ``.NAME.tmp-XXXXXXXX`` beside ``target`` (mode 0777 less the umask)."""
    target = Path(target)
    while True:
        tmp = _temporary_name(target)
        try:
            os.mkdir(tmp, 0o777)
            return tmp
        except FileExistsError:
            continue


def fsync_file(path) -> None:
    """Flush ``path``'s data to the disk."""
    fd = os.open(path, os.O_RDONLY if os.name == "posix" else os.O_RDWR)  # Windows flushes only writable handles
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path) -> None:
    """Flush a folder's entries (a rename into it) to the disk; nothing where folders cannot be opened (Windows)."""
    if os.name != "posix":
        return
    fsync_file(path)


def remove_temporaries(folder) -> list[Path]:
    """Delete the temporaries (``.NAME.tmp-XXXXXXXX``, files or folders) a killed process left in ``folder``;
    returns what was removed. Only for a folder no other process is writing (a run holds its lock)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    gone = [p for p in folder.iterdir() if _TEMPORARY.match(p.name)]
    for p in gone:
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() and not p.is_symlink() else p.unlink(missing_ok=True)
    return gone


@contextmanager
def atomic_file(path, suffix: str = ".tmp"):
    """Yield a temporary path beside ``path``; when the block ends without an error, flush it to the disk and
    rename it onto ``path``.

    On an error (or Ctrl-C) the temporary file is removed and ``path`` is left as it was. The parent folder is
    created if needed. ``suffix`` lets writers that look at the extension (matplotlib) see the right one. The file
    gets the mode a plain ``open`` would give it (0666 less the umask).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temporary_file(path, "" if suffix == ".tmp" else suffix)
    try:
        yield str(tmp)
        fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_bytes_atomic(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename; returns the path."""
    with atomic_file(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
    return Path(path)


def write_text_atomic(path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file and a rename; returns the path."""
    return write_bytes_atomic(path, text.encode("utf-8"))
