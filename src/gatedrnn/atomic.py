"""Writing files so that nothing half-written is ever left on disk: a temporary sibling, then a rename.

This module imports nothing of gatedrnn's.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_file(path, suffix: str = ".tmp"):
    """Yield a temporary path beside ``path``; when the block ends without an error, rename it onto ``path``.

    On an error (or Ctrl-C) the temporary file is removed and ``path`` is left as it was. The parent folder is
    created if needed. ``suffix`` lets writers that look at the extension (matplotlib) see the right one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes_atomic(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename; returns the path."""
    with atomic_file(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
    return Path(path)


def write_text_atomic(path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file and a rename; returns the path."""
    return write_bytes_atomic(path, text.encode("utf-8"))
