"""Output paths that never write over what the user gave: ``check_output`` for every file a command writes at a
path the user names (``forecast --figure``, ``export --onnx``/``--c``...).

Refused, in one line, always: a special file (device, pipe, socket: ``/dev/null`` included) or a folder; a path
that names one of the command's input files (the same file, however it is spelled, hard links included); a path
inside one of the ``protected`` folders or files (the run's own checkpoint). Refused unless ``overwrite``: an
existing file (or link) that this command did not write before (``written``: what its earlier run recorded).

This module imports nothing of gatedrnn's but ``errors``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from gatedrnn.errors import UserError


def file_kind(path) -> str | None:
    """What ``path`` is: "file", "folder", "special file (device, pipe or socket)", "link to nothing", or None
    when nothing is there."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "link to nothing" if os.path.islink(path) else None
    if stat.S_ISDIR(st.st_mode):
        return "folder"
    return "file" if stat.S_ISREG(st.st_mode) else "special file (device, pipe or socket)"


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:           # one of them does not exist (or cannot be looked at): compare the spelled paths
        return os.path.abspath(a) == os.path.abspath(b)


def _inside(path: Path, folder: Path) -> bool:
    p, f = Path(os.path.realpath(path)), Path(os.path.realpath(folder))
    return p == f or f in p.parents


def check_output(path, *, inputs=(), protected=(), written=(), overwrite: bool = False, flag: str = "output") -> Path:
    """``path`` as a ``Path`` when a command may write its output there, else a one-line ``UserError`` naming
    ``flag`` (see the module docstring). ``inputs``: the files the command reads; ``protected``: folders or files
    no output may be written into or over (the run's own checkpoint); ``written``: the files an earlier run of
    the command wrote (it may write over them again)."""
    path = Path(path)
    kind = file_kind(path)
    if kind not in (None, "file", "link to nothing"):
        raise UserError(f"{flag} {path}: expected a path for a new or regular file, got a {kind}")
    for given in inputs:
        if given is not None and _same(path, Path(given)):
            raise UserError(f"{flag} {path}: expected a path other than an input of the command, got the input "
                            f"{given}")
    for folder in protected:
        if folder is not None and _inside(path, Path(folder)):
            raise UserError(f"{flag} {path}: expected a path outside the run's own checkpoint, got one in {folder}")
    if kind is not None and not overwrite and not any(_same(path, Path(w)) for w in written):
        raise UserError(f"{flag} {path}: expected a new file, got an existing {kind} that this command did not "
                        f"write; pass --overwrite to replace it, or choose another path")
    return path
