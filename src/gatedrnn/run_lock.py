"""One writer per run folder: ``with run_lock(out_dir): ...`` around a training that writes into ``out_dir``.

The lock is ``fcntl.flock`` on ``out_dir/.lock``, which holds the holder's process id for the message a second
process gets (one ``UserError`` line naming that process). The kernel releases the lock when its holder exits,
however it dies, so a lock left by a killed run never blocks the next one. Where ``fcntl`` does not exist
(Windows) there is no lock. The folder is created if needed, and removed again on release when the run left
nothing else in it.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from gatedrnn.errors import UserError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]  # the module's stand-in where it does not exist

LOCK_NAME = ".lock"


def _holder(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 64).decode("ascii", "replace").strip()
    return f"process {text}" if text.isdigit() else "another process"


def _acquire(lock: Path, folder: Path) -> int:
    """Open and lock ``lock``; the file descriptor holding the lock. Retries when the file it locked was removed
    or replaced meanwhile (a holder releasing it), so that two processes never both hold one."""
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise UserError(f"--out {folder}: expected a run folder no other training is writing, got one locked by "
                            f"{holder} (wait for it to end or stop it)") from None
        except BaseException:
            os.close(fd)
            raise
        mine = os.fstat(fd)
        try:
            now = os.stat(lock)
        except FileNotFoundError:
            now = None
        if now is not None and (now.st_ino, now.st_dev) == (mine.st_ino, mine.st_dev):
            return fd
        os.close(fd)


def _write_pid(fd: int) -> None:
    try:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
    except OSError:  # a full disk: the lock holds all the same, the message just cannot name this process
        pass


@contextmanager
def run_lock(folder):
    """Hold the run folder ``folder`` for this process while the block runs (see the module docstring)."""
    folder = Path(folder)
    if fcntl is None:  # pragma: no cover - Windows
        yield folder
        return
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK_NAME
    fd = _acquire(lock, folder)
    try:
        _write_pid(fd)
        yield folder
    finally:
        lock.unlink(missing_ok=True)   # while still holding it: a process waiting on this file retries
        os.close(fd)
        if created and not any(folder.iterdir()):
            folder.rmdir()
