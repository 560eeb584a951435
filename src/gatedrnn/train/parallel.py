"""How a run is spread over processes: the narrow interface the ``Trainer`` asks of it, the one-process case, and
the choice between that and MPI.

The ``Trainer`` holds a communicator (its ``comm``) and asks it only this:

- ``is_root`` (rank 0: runs every callback, the others those without ``root_only``) and ``size``;
- ``attach(model)`` before training (MPI: dropout draws of the global batch), returning the communicator;
- ``share(x, t, mask, carry_state) -> (x, t, mask, weight)``: this process's rows of a batch and its share of the
  batch's targets, then ``reduce_gradients(grads, loss, weight) -> loss``: the global batch's gradient and loss;
- ``agree_stop(interrupted, stopping) -> (interrupted, stopping)``: whether any process was interrupted (Ctrl-C)
  or asked to stop, so that every process stops after the same step;
- ``save(state, write)``: ``write(state)`` with the whole carried state (every process's rows) on rank 0, the
  others learning whether it worked; ``local_state(state)``: this process's rows of a whole state read back;
- ``local_batches(data)`` and ``sum(*values)`` for the validation loss (``gatedrnn.train.evaluation``).

The commands (``gatedrnn train``) ask more of it: ``together``, ``quiet``, ``check_same``, ``on_root``,
``even_split``, ``root_echo``. ``SingleProcess`` answers all of it as one process would, sending nothing;
``communicator()`` returns it, or the ``MPICommunicator`` of ``gatedrnn.train.distributed`` when an MPI launcher
started more than one process (only then is that module, and ``mpi4py``, imported).
"""

from __future__ import annotations

import os
from contextlib import contextmanager, nullcontext

# world size as Open MPI, MPICH / Intel MPI (Hydra) and MVAPICH set it in each process they start
LAUNCHER_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE")
# the rank as Open MPI, MPICH / Intel MPI (Hydra) and MVAPICH set it
RANK_VARS = ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "MV2_COMM_WORLD_RANK")


def _launcher_number(names, default: int) -> int:
    """The first of the environment variables ``names`` that holds a whole number, else ``default``."""
    for var in names:
        v = os.environ.get(var, "").strip()
        if v.isdigit():
            return int(v)
    return default


def launcher_size() -> int:
    """The number of processes an MPI launcher says it started (1 when none did)."""
    return _launcher_number(LAUNCHER_VARS, 1)


def launcher_rank() -> int:
    """This process's rank as the launcher says (0 when none says)."""
    return _launcher_number(RANK_VARS, 0)


class SingleProcess:
    """The communicator of a run without MPI: one rank, nothing to send (see the module docstring)."""

    size, rank, is_root = 1, 0, True

    # -- what the Trainer asks ------------------------------------------------------------------------
    def attach(self, model):
        return self

    def share(self, x, t, mask, carry_state: bool = True):
        return x, t, mask, 1.0

    def reduce_gradients(self, grads, loss: float, weight: float) -> float:
        return loss

    def agree_stop(self, interrupted: bool, stopping: bool) -> tuple[bool, bool]:
        return interrupted, stopping

    def save(self, state, write):
        return write(state)

    def local_state(self, state):
        return state

    def local_batches(self, data):
        return data

    def sum(self, *values: float) -> list[float]:
        return list(values)

    # -- what the commands ask -----------------------------------------------------------------------
    def together(self):
        return nullcontext()

    def quiet(self):
        return nullcontext()

    def check_same(self, what: str, value: bytes) -> None:
        pass

    def even_split(self, name: str, n: int) -> int:
        return n

    def root_echo(self, echo):
        return echo

    @contextmanager
    def on_root(self, cm):
        with cm as value:
            yield value


_COMM: SingleProcess | None = None


def communicator() -> SingleProcess:
    """The communicator of this process, made once: ``MPICommunicator`` under an MPI launcher that started more
    than one process, else ``SingleProcess`` (``mpi4py`` is not imported then)."""
    global _COMM
    if _COMM is None:
        if launcher_size() > 1:
            from gatedrnn.train.distributed import MPICommunicator  # only under a launcher: it needs mpi4py

            _COMM = MPICommunicator()
        else:
            _COMM = SingleProcess()
    return _COMM
