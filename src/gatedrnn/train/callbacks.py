"""Callbacks: what the training loop does besides training, each in one object the ``Trainer`` calls.

A callback overrides any of the hooks of ``Callback``. Each hook receives the trainer (its ``model``, ``step``,
``epoch``, ``history``, ``optimizer``, ``report``) and a plain dict; a callback can ask the run to stop with
``trainer.stop(reason)`` (a ``StopReason``), which takes effect after the current step (or at the end of the epoch
when asked at validation). ``state_dict``/``load_state_dict`` let a callback's counters travel in checkpoints, so
that a resumed run decides as an uninterrupted one would. A callback with ``root_only = True`` (those that write
files or print) runs on rank 0 alone when the run is data-parallel (``gatedrnn.train.distributed``).

Shipped here: ``JSONLinesLogger`` (the run's ``log.jsonl``), ``CSVLogger`` (one row per epoch),
``TensorBoardLogger`` (with ``tensorboardX``, an optional extra), ``CurvesPlot`` (``curves.png``, with
matplotlib), ``StepLog`` (the log's step records, which the trainer always adds), ``EarlyStopping``,
``ValidateEvery`` (a validation record every N steps, for learning curves finer than an epoch), ``TimeLimit``
(stop after a wall-clock budget), ``StepRecorder`` (every step's loss and gradient norm) and ``PeakStepMemory``
(tracemalloc's peak over a training step). What a run prints is a callback too: ``gatedrnn.train.console``.
"""

from __future__ import annotations

import csv
import json
import math
import time
import tracemalloc
from pathlib import Path

from gatedrnn.backend import to_numpy
from gatedrnn.errors import check_choice, check_int, check_positive, require
from gatedrnn.train.stop import StopReason


class Callback:
    """The hooks, in the order the trainer calls them; every one does nothing by default. ``root_only``: run on
    rank 0 alone under MPI (a callback that writes files or prints)."""

    root_only = False

    def on_train_begin(self, trainer) -> None:
        """Before the first step of ``fit`` (also when resuming)."""

    def on_epoch_begin(self, trainer, logs: dict) -> None:
        """Before an epoch's first step (or its next one when resuming): ``logs`` has epoch (counted from 1), steps
        (the epoch's batches, None when the data has no length) and pos (batches of it already done)."""

    def on_step_begin(self, trainer) -> None:
        """Before a step's forward pass."""

    def on_step_end(self, trainer, logs: dict) -> None:
        """After a step's update: ``logs`` has step, epoch, loss, grad_norm (before clipping), lr, targets."""

    def on_log(self, trainer, record: dict) -> None:
        """A record for the run's log: the mean of every ``log_every`` steps, epochs, and events (start, stop,
        diverged, test)."""

    def on_validation_end(self, trainer, logs: dict) -> None:
        """After validation: ``logs`` has epoch, step, val_loss."""

    def on_epoch_end(self, trainer, logs: dict) -> None:
        """After an epoch and its validation: the epoch's record (train_loss, val_loss, lr, seconds, ...)."""

    def on_train_end(self, trainer, summary: dict) -> None:
        """When ``fit`` returns (not when it raises)."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class JSONLinesLogger(Callback):
    """Appends every log record to ``path`` as one JSON object per line (the run's ``log.jsonl``)."""

    root_only = True

    def __init__(self, path):
        self.path = Path(path)

    def on_log(self, trainer, record):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")


class StepLog(Callback):
    """Every ``every`` steps of an epoch, one record for the log: ``{"event": "step", "step", "epoch", "loss" (the
    mean over those steps), "grad_norm" (the last step's), "lr", "<unit>_per_s" (throughput: ``trainer.report.unit``,
    targets or tokens per second) (, "ppl")}``; the count starts again with each epoch. The trainer adds one, with
    its ``log_every``, after every other callback."""

    def __init__(self, every: int = 50):
        self.every = check_int("StepLog every", every)
        self._start()

    def _start(self) -> None:
        self._loss, self._steps, self._targets, self._t0 = 0.0, 0, 0, time.perf_counter()

    def on_epoch_begin(self, trainer, logs):
        self._start()

    def on_step_end(self, trainer, logs):
        self._loss += logs["loss"]
        self._steps += 1
        self._targets += logs["targets"]
        if self._steps < self.every:
            return
        report, mean = trainer.report, self._loss / self._steps
        rate = self._targets / max(time.perf_counter() - self._t0, 1e-9)
        trainer.log({"event": "step", "step": logs["step"], "epoch": logs["epoch"], "loss": mean,
                     "grad_norm": logs["grad_norm"], "lr": logs["lr"], report.unit.replace("/", "_per_"): rate,
                     **report.extra("ppl", mean)})
        self._start()


class CSVLogger(Callback):
    """One row per epoch in ``path`` (header from the first epoch's record; readable by the ``csv`` module).

    A new run (step 0 at the start) starts the file afresh; a resumed run appends to it."""

    root_only = True

    def __init__(self, path):
        self.path = Path(path)
        self._fields = None

    def on_train_begin(self, trainer):
        if trainer.step == 0:
            self.path.unlink(missing_ok=True)

    def on_epoch_end(self, trainer, logs):
        row = {k: v for k, v in logs.items() if not isinstance(v, (dict, list))}
        new = not self.path.is_file() or self.path.stat().st_size == 0
        if new or self._fields is None:
            self._fields = list(row) if new else _header(self.path) or list(row)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=self._fields, extrasaction="ignore", restval="")
            if new:
                w.writeheader()
            w.writerow(row)


def _header(path: Path) -> list:
    with open(path, newline="") as f:
        return next(csv.reader(f), [])


class TensorBoardLogger(Callback):
    """Scalars for TensorBoard in ``logdir``: every logged step window (loss, gradient norm, lr, and perplexity for
    a language model) and every epoch (train and validation). Needs ``tensorboardX``
    (``pip install -e ".[tensorboard]"``)."""

    root_only = True

    def __init__(self, logdir):
        self.logdir = str(logdir)
        self._tbx = require("tensorboardX", "the TensorBoard logger", "tensorboard")
        self._writer = None

    def on_log(self, trainer, record):
        if self._writer is None:
            self._writer = self._tbx.SummaryWriter(self.logdir)
        kind = record.get("event")
        prefix = {"step": "train_step/", "epoch": "epoch/"}.get(kind)
        if prefix is None:
            return
        for key, value in record.items():
            if key not in ("event", "step", "epoch") and isinstance(value, (int, float)) and math.isfinite(value):
                self._writer.add_scalar(prefix + key, value, record.get("step", trainer.step))
        self._writer.flush()

    def on_train_end(self, trainer, summary):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class CurvesPlot(Callback):
    """Train and validation curves per epoch in ``path`` (a PNG; needs matplotlib, else one note is printed).

    Drawn at most every ``every`` seconds during the run and always when it ends; a run stopped before its first
    epoch ended (``max_steps``, Ctrl-C) draws its logged steps instead."""

    root_only = True

    def __init__(self, path, every: float = 30.0):
        self.path, self.every = Path(path), float(every)
        self._last = time.perf_counter()
        self._noted = False
        self._steps: list[dict] = []   # step records (and a stop record's validation) of this process

    def on_log(self, trainer, record):
        if record.get("event") in ("step", "stop"):
            self._steps.append(record)

    def on_epoch_end(self, trainer, logs):
        if time.perf_counter() - self._last > self.every:
            self.draw(trainer)

    def on_train_end(self, trainer, summary):
        self.draw(trainer)

    def draw(self, trainer) -> None:
        from gatedrnn.train.curves import plot_curves

        self._last = time.perf_counter()
        if not trainer.history and not self._steps:
            return
        if not plot_curves(trainer.history, self.path, perplexity=trainer.report.perplexity, steps=self._steps) and not self._noted:
            trainer.echo("note: matplotlib is not installed, so no curves.png (pip install matplotlib)")
            self._noted = True


class EarlyStopping(Callback):
    """Stop when the validation loss has not improved by more than ``min_delta`` for ``patience`` validations in
    a row; at the end, put the best weights seen back into the model (``restore_best_weights``). ``score``: a
    function of the trainer watched instead of the validation loss (lower is better), e.g. a forecast's error
    over several steps where the loss measures one."""

    def __init__(self, patience: int = 3, min_delta: float = 0.0, restore_best_weights: bool = True, score=None):
        self.score = score
        self.patience = check_int("EarlyStopping patience", patience, 0)
        self.min_delta = check_positive("EarlyStopping min_delta", min_delta, zero_ok=True)
        self.restore_best_weights = restore_best_weights
        self.best, self.wait, self.best_step, self.stopped_step = math.inf, 0, None, None
        self._weights = None

    def on_validation_end(self, trainer, logs):
        val = logs["val_loss"] if self.score is None else self.score(trainer)
        if val < self.best - self.min_delta:
            self.best, self.wait, self.best_step = float(val), 0, trainer.step
            if self.restore_best_weights:
                self._weights = [to_numpy(p).copy() for p in trainer.model.params]
            return
        self.wait += 1
        if self.wait >= max(self.patience, 1):
            self.stopped_step = trainer.step
            trainer.stop(StopReason.EARLY_STOPPING)

    def on_train_end(self, trainer, summary):
        if self.restore_best_weights and self._weights is not None and self.best_step != trainer.step:
            for p, w in zip(trainer.model.params, self._weights):
                p[...] = w
            trainer.echo(f"early stopping: restored the weights of step {self.best_step} "
                         f"(validation loss {self.best:.4g})")
        summary["best_step"] = self.best_step

    def state_dict(self):
        return {"best": self.best if math.isfinite(self.best) else None, "wait": self.wait, "best_step": self.best_step}

    def load_state_dict(self, state):
        self.best = math.inf if state.get("best") is None else float(state["best"])
        self.wait, self.best_step = int(state.get("wait", 0)), state.get("best_step")


CLOCKS = ("wall", "cpu")


def _now(clock: str) -> float:
    return time.perf_counter() if clock == "wall" else time.process_time()


def _training_seconds(trainer, t0: float, clock: str = "wall") -> float:
    """Seconds on ``clock`` (``wall``, or ``cpu``: this process's CPU time) since ``t0``, less the time spent
    evaluating (``trainer.eval_seconds`` / ``eval_cpu_seconds``)."""
    return _now(clock) - t0 - (trainer.eval_seconds if clock == "wall" else trainer.eval_cpu_seconds)


def _start(trainer, clock: str) -> float:
    """The clock reading that counts as 0 s of training (wall: the earlier runs of a resumed training included)."""
    if clock == "wall":
        return time.perf_counter() - trainer.seconds - trainer.eval_seconds
    return time.process_time() - trainer.eval_cpu_seconds


class ValidateEvery(Callback):
    """Every ``steps`` training steps, the validation loss of the model as it is: a record ``{"event": "valid",
    "step", "epoch", "val_loss" (, "val_ppl"), "train_loss", "seconds"}`` in the log (``train_loss``: the mean
    training loss since the previous record; ``seconds``: training wall time so far, evaluations not counted).
    It only measures: the epoch-end validation still drives the best checkpoint, schedules and early stopping."""

    def __init__(self, steps: int, clock: str = "wall"):
        self.steps = check_int("ValidateEvery steps", steps)
        self.clock = check_choice("ValidateEvery clock", clock, CLOCKS)
        self._sum, self._count, self._t0 = 0.0, 0, 0.0

    def on_train_begin(self, trainer):
        self._t0 = _start(trainer, self.clock)

    def on_step_end(self, trainer, logs):
        self._sum += logs["loss"]
        self._count += 1
        if logs["step"] % self.steps or trainer.valid_data is None:
            return
        val = trainer.evaluate()
        rec = {"event": "valid", "step": logs["step"], "epoch": logs["epoch"], "val_loss": val,
               "train_loss": self._sum / self._count, "seconds": _training_seconds(trainer, self._t0, self.clock)}
        rec.update({**trainer.report.extra("val_ppl", val), **trainer.report.extra("train_ppl", rec["train_loss"])})
        self._sum, self._count = 0.0, 0
        trainer.log(rec)
        trainer.echo(f"step {logs['step']}  validation {trainer.report.fmt(val)}  ({rec['seconds']:.0f} s)")


class TimeLimit(Callback):
    """Stop the run (reason ``"time_limit"``) after the step during which ``seconds`` of training wall time
    (counted over resumes; time spent evaluating not counted) have passed: equal wall-clock budgets for models
    of different speed, whatever their validation costs. ``clock="cpu"`` counts this process's CPU time instead
    (this process only, resumes not included): with one BLAS thread the same budget, steadier on a shared
    machine."""

    def __init__(self, seconds: float, clock: str = "wall"):
        self.seconds = check_positive("TimeLimit seconds", seconds)
        self.clock = check_choice("TimeLimit clock", clock, CLOCKS)
        self._t0 = 0.0

    def on_train_begin(self, trainer):
        self._t0 = _start(trainer, self.clock)

    def on_step_end(self, trainer, logs):
        if _training_seconds(trainer, self._t0, self.clock) >= self.seconds:
            trainer.stop(StopReason.TIME_LIMIT)


class StepRecorder(Callback):
    """Keeps ``(step, loss, gradient norm before clipping)`` of every step in ``trace``."""

    def __init__(self):
        self.trace: list[tuple[int, float, float]] = []

    def on_step_end(self, trainer, logs):
        self.trace.append((logs["step"], logs["loss"], logs["grad_norm"]))


class PeakStepMemory(Callback):
    """Peak bytes allocated during each of the first ``steps`` training steps (NumPy arrays included, through
    tracemalloc) over what was allocated before the step: activations kept for backward, gradients, temporaries.
    ``peaks`` holds one number per measured step."""

    def __init__(self, steps: int = 1):
        self.steps = check_int("PeakStepMemory steps", steps)
        self.peaks: list[int] = []
        self._base, self._started = 0, False

    def on_step_begin(self, trainer):
        if len(self.peaks) >= self.steps:
            return
        self._started = not tracemalloc.is_tracing()
        if self._started:
            tracemalloc.start()
        tracemalloc.reset_peak()
        self._base = tracemalloc.get_traced_memory()[0]

    def on_step_end(self, trainer, logs):
        if len(self.peaks) >= self.steps:
            return
        self.peaks.append(tracemalloc.get_traced_memory()[1] - self._base)
        if self._started:
            tracemalloc.stop()
