"""How a command other than ``train`` (``forecast`` in every mode, ``classify``) writes its run folder: as one
process, holding the folder's lock (``run_lock``), through ``gatedrnn.run_folder.open_run`` (the whole run
swapped in at the end, or nothing).

These commands do not train data-parallel: under an MPI launcher that started more than one process (the
variables ``train.parallel`` reads) they are refused before anything is read or written: one line and exit
status 2 on rank 0 (the launcher's status), while the other ranks leave quietly with status 0 (a rank leaving
with an error first would make the launcher end rank 0 before it could say why).
"""

from __future__ import annotations

from contextlib import contextmanager

from gatedrnn.errors import UserError
from gatedrnn.run_folder import check_out_folder, open_run
from gatedrnn.run_lock import run_lock
from gatedrnn.train.parallel import launcher_rank, launcher_size


def refuse_launcher(command: str) -> None:
    """One line on rank 0 (exit status 2), the other ranks quietly gone, when an MPI launcher started several
    processes."""
    n = launcher_size()
    if n <= 1:
        return
    if launcher_rank() != 0:
        raise SystemExit(0)
    raise UserError(f"MPI launcher: expected one process (only gatedrnn train trains data-parallel), got {n}; "
                    f"run {command} without mpiexec")


@contextmanager
def writing_run(out, command: str, *, known=(), overwrite: bool = False, inputs=()):
    """Refuse a launcher's ranks, then, when ``out`` is given, hold its lock and yield its ``RunFolder``
    (``open_run``: committed when the block ends without an error); yields None when ``out`` is None."""
    refuse_launcher(command)
    if out is None:
        yield None
        return
    out = check_out_folder(out)
    with run_lock(out), open_run(out, command, known=known, overwrite=overwrite, inputs=inputs) as run:
        yield run
