"""The training loop, the only one in the package: any model with ``forward(x, state) -> (y, state)`` /
``backward(dy)``, any loss object with ``forward(y, t[, mask]) -> float`` / ``backward() -> dy``, any optimizer of
``gatedrnn.optim``.

Language model, Truncated BPTT (state carried across windows)::

    from gatedrnn.train.console import Console

    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.params, model.grads, lr=20.0), clip=0.25,
                      train_data=TBPTTBatches(train_ids, 20, 35, drop_last=True),
                      valid_data=TBPTTBatches(valid_ids, 10, 35), epochs=4, out_dir="runs/ptb",
                      perplexity=True, callbacks=[Console()])   # ppl and tok/s; a bar, or a line per log_every steps
    summary = trainer.fit()            # {'val_loss': ..., 'val_ppl': ..., 'step': ..., ...}

Regression with MSE (independent windows, no state carried, a fresh shuffle every epoch), stopped early::

    from gatedrnn.train.callbacks import CSVLogger, EarlyStopping

    def batches(epoch):                # x: (batch, time, 1), t: (batch, 1); deterministic in epoch
        order = np.random.default_rng([0, epoch]).permutation(len(X))
        return [(X[order[i:i + 32]], Y[order[i:i + 32]]) for i in range(0, len(X), 32)]

    trainer = Trainer(model, MSE(), Adam(model.params, model.grads, lr=1e-3), clip=1.0,
                      train_data=batches, valid_data=[(Xv, Yv)], carry_state=False, epochs=100,
                      callbacks=[EarlyStopping(patience=5), CSVLogger("runs/sine/epochs.csv")])
    summary = trainer.fit()            # summary['stopped'] == StopReason.EARLY_STOPPING when it stopped early

``train_data`` is a sequence of ``(x, t)`` or ``(x, t, mask)`` batches (``len`` and iteration), or a callable
``epoch -> iterable`` that must be a deterministic function of ``epoch`` for ``resume`` to be exact (seed any
shuffle with the epoch, as above). ``valid_data`` is a sequence or a no-argument callable. ``carry_state`` feeds
each batch's final state into the next (Truncated BPTT; reset at every epoch start and for validation).

Every step: forward, loss, backward, global-norm clipping (the norm before clipping is logged either way),
schedule, optimizer step. A non-finite loss, gradient norm or updated weight raises ``TrainingDiverged`` on the
step it happens, naming the step and the gradient norm, and leaves the last good checkpoint in place.

The trainer prints nothing: everything else is a callback (``gatedrnn.train.callbacks``), a console included
(``gatedrnn.train.console``: ``EpochLines``, ``Console``); ``echo`` is where callbacks say things (default:
nowhere). ``perplexity=True`` reports the loss as a perplexity and the throughput in tokens per second
(``gatedrnn.train.report``). Every ``log_every`` steps a ``StepLog`` record (mean loss, throughput) goes to the
callbacks' ``on_log``. Why the run ended is a ``StopReason`` (``gatedrnn.train.stop``).

With ``out_dir`` the trainer writes checkpoints, ``out_dir/last`` (every ``checkpoint_every`` steps, at each
epoch end and when stopped: what ``load`` resumes from) and ``out_dir/best`` (lowest validation loss), and adds
the ``JSONLinesLogger`` (``log.jsonl``) and, with ``plot``, the ``CurvesPlot`` (``curves.png``) callbacks. A run
stopped (``max_steps``, Ctrl-C) and resumed with ``load(out_dir / 'last')`` ends with exactly the weights of an
uninterrupted run.

Under ``mpiexec -n N`` (or with ``comm=``) the same trainer is data-parallel: each rank trains on its rows of every
batch, one ``Allreduce`` per step sums the gradients, rank 0 alone writes checkpoints and runs the ``root_only``
callbacks (``gatedrnn.train.distributed``). The trainer asks its communicator only what
``gatedrnn.train.parallel`` lists, and imports no MPI module.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from itertools import islice
from pathlib import Path

from gatedrnn.backend import xp
from gatedrnn.errors import UserError, check_int, check_positive
from gatedrnn.optim.clip import clip_grad_norm
from gatedrnn.train.callbacks import CurvesPlot, JSONLinesLogger, StepLog
from gatedrnn.train.evaluation import _unpack, evaluate  # noqa: F401 (evaluate: re-exported)
from gatedrnn.train.parallel import communicator
from gatedrnn.train.report import LOSS, PERPLEXITY
from gatedrnn.train.state import finite_or_none, load_training_state, save_training_state
from gatedrnn.train.stop import UNFINISHED, StopReason


def _silent(*args) -> None:
    """The default ``echo``: the trainer and its callbacks say nothing unless asked."""


class TrainingDiverged(UserError):
    """The loss, the gradient norm or the weights became NaN/Inf. ``step``, ``loss`` and ``grad_norm`` say where."""

    def __init__(self, message: str, *, step: int, loss: float, grad_norm: float, checkpoint=None):
        super().__init__(message)
        self.step, self.loss, self.grad_norm, self.checkpoint = step, loss, grad_norm, checkpoint


class Trainer:
    """See the module docstring. ``fit()`` runs to ``epochs`` (or ``max_steps`` optimizer steps in total) and
    returns a summary dict; ``load(path)`` restores a checkpoint written by ``save``/``fit``."""

    def __init__(self, model, loss, optimizer, *, train_data, valid_data=None, clip: float | None = None,
                 schedule=None, carry_state: bool = True, epochs: int = 1, max_steps: int | None = None,
                 out_dir=None, checkpoint_every: int = 0, log_every: int = 50, perplexity: bool = False,
                 meta: dict | None = None, rngs: dict | None = None, plot: bool = True, callbacks=(), echo=None,
                 comm=None):
        check_int("Trainer epochs", epochs)
        check_int("Trainer max_steps", max_steps, none_ok=True)
        check_positive("Trainer clip", clip, zero_ok=True, none_ok=True)
        self.model, self.loss, self.optimizer, self.schedule = model, loss, optimizer, schedule
        self.comm = (comm or communicator()).attach(model)   # one process, or MPI ranks (train/parallel.py)
        self.train_data, self.valid_data = train_data, valid_data
        self.clip = clip if clip else None
        self.carry_state, self.epochs, self.max_steps = carry_state, int(epochs), max_steps
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.checkpoint_every = check_int("Trainer checkpoint_every", int(checkpoint_every or 0), 0)
        self.log_every = max(1, int(log_every))
        self.echo = echo if echo is not None and self.comm.is_root else _silent   # what callbacks say; rank 0 only
        self.report = PERPLEXITY if perplexity else LOSS                         # loss or perplexity, targets or tok/s
        self.meta, self.rngs = dict(meta or {}), dict(rngs or {})
        self.callbacks = list(callbacks) + self._default_callbacks(plot)
        # where the run is: all of this goes into checkpoints
        self.step, self.epoch, self.pos = 0, 0, 0        # optimizer steps, epochs completed, batches done in this epoch
        self.state = None                                  # the carried recurrent state
        self.best_val = math.inf
        self.history: list[dict] = []                      # one record per completed epoch
        self._epoch_sum, self._epoch_count = 0.0, 0        # running train loss of the current epoch
        self.last_grad_norm = float("nan")
        self.seconds = 0.0                                 # training time over all runs of this training (resumes add up)
        self.eval_seconds = 0.0                            # of which spent in ``evaluate`` (this process)
        self.eval_cpu_seconds = 0.0                        # the same in this process's CPU time
        self._t_mark: float | None = None
        self._stop_requested = False                       # Ctrl-C
        self.stop_reason: StopReason | None = None         # a callback's trainer.stop(reason)

    def _default_callbacks(self, plot: bool) -> list:
        files = [] if self.out_dir is None else [JSONLinesLogger(self.out_dir / "log.jsonl")] + (
            [CurvesPlot(self.out_dir / "curves.png")] if plot else [])
        return files + [StepLog(self.log_every)]

    # -- helpers --------------------------------------------------------------------------------------
    @property
    def perplexity(self) -> bool:
        """The loss is reported as a perplexity (``report``)."""
        return self.report.perplexity

    def metric(self, loss: float) -> float:
        """Perplexity for a language model, else the loss itself."""
        return self.report.value(loss)

    def fmt(self, loss: float) -> str:
        return self.report.fmt(loss)

    def _call(self, hook: str, *args) -> None:
        for cb in self.callbacks:
            if self.comm.is_root or not getattr(cb, "root_only", False):  # under MPI, rank 0 alone runs the writers
                getattr(cb, hook)(self, *args)

    def log(self, record: dict) -> None:
        """Hand one record to every callback's ``on_log`` (the JSON-lines log writes it to ``log.jsonl``)."""
        self._call("on_log", record)

    def stop(self, reason: StopReason) -> None:
        """Ask the run to stop after the current step (a callback's way to end training)."""
        self.stop_reason = StopReason.of(reason)

    def evaluate(self, data=None) -> float:
        """Mean loss over ``data`` (default: the validation data)."""
        valid = self.valid_data() if callable(self.valid_data) else self.valid_data
        with self.evaluating():
            return evaluate(self.model, self.loss, valid if data is None else data, carry_state=self.carry_state,
                            comm=self.comm if self.comm.size > 1 else None)

    @contextlib.contextmanager
    def evaluating(self):
        """Time spent inside is evaluation (``eval_seconds``, ``eval_cpu_seconds``), not training: a callback that
        evaluates in its own way (the lab's tasks) wraps it in this, and time limits leave it out."""
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.eval_seconds += time.perf_counter() - t0
            self.eval_cpu_seconds += time.process_time() - c0

    def _diverged(self, loss: float, norm: float, detail: str = ""):
        ck = self.out_dir / "last" if self.out_dir is not None and (self.out_dir / "last").is_dir() else None
        kept = f"the last good checkpoint is kept at {ck}" if ck else "no checkpoint had been written yet"
        advice = ("lower the learning rate or the clipping threshold" if self.clip else
                  "turn on gradient clipping (e.g. --clip 0.25) or lower the learning rate")
        prev = f" (previous step {self.last_grad_norm:.3g})" if self.step > 0 else ""
        msg = (f"training diverged at step {self.step + 1} (epoch {self.epoch + 1}): loss {loss:.4g}, "
               f"gradient norm {norm:.4g}{prev}{detail}, learning rate {self.optimizer.lr:g}; {advice}; {kept}")
        self.log({"event": "diverged", "step": self.step + 1, "epoch": self.epoch + 1, "loss": repr(loss),
                  "grad_norm": repr(norm), "message": msg})
        raise TrainingDiverged(msg, step=self.step + 1, loss=loss, grad_norm=norm, checkpoint=ck)

    def _weights_finite(self) -> bool:
        """One sum per parameter: a NaN or Inf anywhere makes it non-finite (cheaper than ``isfinite``)."""
        return all(math.isfinite(float(xp.sum(p))) for p in self.model.params)

    # -- one optimizer step ---------------------------------------------------------------------------
    def train_step(self, x, t, mask=None) -> tuple[float, float]:
        """Forward, loss, backward, clip, schedule, update. Returns (loss, gradient norm before clipping)."""
        model = self.model
        model.zero_grad()
        x, t, mask, share = self.comm.share(x, t, mask, self.carry_state)  # under MPI: this rank's rows, its share
        y, new_state = model.forward(x, self.state if self.carry_state else None)
        loss = self.loss.forward(y, t) if mask is None else self.loss.forward(y, t, mask)
        model.backward(self.loss.backward())
        loss = self.comm.reduce_gradients(model.grads, loss, share)  # one Allreduce: the global batch's gradient
        norm = clip_grad_norm(model.grads, self.clip if self.clip else math.inf)
        if not (math.isfinite(loss) and math.isfinite(norm)):
            self._diverged(loss, norm)
        if self.schedule is not None:
            self.schedule.on_step(self.step + 1)
        self.optimizer.step()
        if not self._weights_finite():
            self._diverged(loss, norm, ", weights not finite after the update")
        self.state = new_state if self.carry_state else None
        self.step += 1
        self.last_grad_norm = norm
        return loss, norm

    # -- the loop -------------------------------------------------------------------------------------
    def fit(self) -> dict:
        """Train until ``epochs`` (or ``max_steps``, Ctrl-C, or a callback's ``stop``); returns a summary."""
        if threading.current_thread() is not threading.main_thread():
            return self._fit()
        previous = signal.getsignal(signal.SIGINT)

        def on_sigint(signum, frame):
            if self._stop_requested:          # second Ctrl-C: stop at once
                signal.signal(signal.SIGINT, previous)
                raise KeyboardInterrupt
            self._stop_requested = True

        signal.signal(signal.SIGINT, on_sigint)
        try:
            return self._fit()
        finally:
            signal.signal(signal.SIGINT, previous)

    def _fit(self) -> dict:
        t_start = self._t_mark = time.perf_counter()
        self.stop_reason, stopped = None, None
        self._call("on_train_begin")
        while self.epoch < self.epochs and stopped is None:
            data = self.train_data(self.epoch) if callable(self.train_data) else self.train_data
            if self.pos == 0:
                self.state = None
            self._call("on_epoch_begin", {"epoch": self.epoch + 1, "pos": self.pos,
                                          "steps": len(data) if hasattr(data, "__len__") else None})
            stopped = self._run_epoch(data)
            if stopped is None:
                self._end_epoch()
                stopped = self.stop_reason
        return self._finish(stopped or StopReason.DONE, t_start)

    def _finish(self, stopped: StopReason, t_start) -> dict:
        summary = {"step": self.step, "epoch": self.epoch, "stopped": stopped,
                   "seconds": time.perf_counter() - t_start, "train_seconds": self._tick(),
                   "best_val_loss": finite_or_none(self.best_val)}
        if stopped in UNFINISHED:
            # one stop record either way: the running train loss of this epoch (and the validation loss after
            # max_steps), which is what the curves draw for a run stopped before its first epoch ended
            rec = {"event": "stop", "reason": stopped, "step": self.step, "epoch": self.epoch + 1}
            if self._epoch_count:
                rec["train_loss"] = self._epoch_sum / self._epoch_count
            if self.valid_data is not None and stopped != StopReason.INTERRUPTED:
                val = rec["val_loss"] = summary["val_loss"] = self.evaluate()
                if stopped == StopReason.TIME_LIMIT and val < self.best_val:
                    self.best_val = val
                    self.save("best")
                self._call("on_validation_end", {"epoch": self.epoch + 1, "step": self.step, "val_loss": val})
                rec.update(self.report.extra("val_ppl", val))
            self.log(rec)
            self.save("last")
            if stopped == StopReason.INTERRUPTED:
                raise KeyboardInterrupt
        elif self.history:
            summary["val_loss"] = self.history[-1].get("val_loss")
        if summary.get("val_loss") is not None:
            summary.update(self.report.extra("val_ppl", summary["val_loss"]))
        self._call("on_train_end", summary)
        return summary

    def _run_epoch(self, data) -> StopReason | None:
        """The steps of the current epoch from ``self.pos``; returns why it stopped early, or None."""
        for batch in islice(iter(data), self.pos, None):
            if self.max_steps is not None and self.step >= self.max_steps:
                return StopReason.MAX_STEPS
            x, t, mask, targets = _unpack(batch)
            self._call("on_step_begin")
            loss, norm = self.train_step(x, t, mask)
            self.pos += 1
            self._epoch_sum += loss * targets
            self._epoch_count += targets
            self._call("on_step_end", {"step": self.step, "epoch": self.epoch + 1, "loss": loss, "grad_norm": norm,
                                       "lr": self.optimizer.lr, "targets": targets})
            if self.checkpoint_every and self.step % self.checkpoint_every == 0:
                self.save("last")
            # under MPI every rank stops after the same step: a Ctrl-C or a stop on any rank stops them all
            self._stop_requested, stopping = self.comm.agree_stop(self._stop_requested, self.stop_reason is not None)
            if self._stop_requested:
                return StopReason.INTERRUPTED
            if stopping:
                self.stop_reason = self.stop_reason or StopReason.OTHER_RANK
                return self.stop_reason
        return None

    def _tick(self) -> float:
        """Add the time since the last tick to ``self.seconds``; returns the total."""
        now = time.perf_counter()
        if self._t_mark is not None:
            self.seconds += now - self._t_mark
        self._t_mark = now
        return self.seconds

    def _end_epoch(self) -> None:
        train_loss = self._epoch_sum / max(self._epoch_count, 1)
        self.epoch += 1
        self.pos, self.state = 0, None
        self._epoch_sum, self._epoch_count = 0.0, 0
        rec = {"epoch": self.epoch, "step": self.step, "train_loss": train_loss, "lr": self.optimizer.lr,
               "seconds": self._tick()}
        if self.valid_data is not None:
            val = rec["val_loss"] = self.evaluate()
            if self.schedule is not None:
                self.schedule.on_epoch_end(self.epoch, val)
            if val < self.best_val:
                self.best_val = val
                self.save("best")
            self._call("on_validation_end", {"epoch": self.epoch, "step": self.step, "val_loss": val})
        rec.update(self.report.extra("train_ppl", train_loss))
        if "val_loss" in rec:
            rec.update(self.report.extra("val_ppl", rec["val_loss"]))
        self.history.append(rec)
        self.log({"event": "epoch", **rec})
        self._call("on_epoch_end", rec)
        self.save("last")

    # -- checkpoints ----------------------------------------------------------------------------------
    def position(self) -> dict:
        """Where the run is (step, epoch, batch, history, running sums), JSON-able, for checkpoints."""
        return {"step": self.step, "epoch": self.epoch, "pos": self.pos, "best_val": finite_or_none(self.best_val),
                "history": self.history, "epoch_sum": self._epoch_sum, "epoch_count": self._epoch_count,
                "last_grad_norm": finite_or_none(self.last_grad_norm), "seconds": self._tick()}

    def restore_position(self, ts: dict) -> None:
        self.step, self.epoch, self.pos = int(ts["step"]), int(ts["epoch"]), int(ts["pos"])
        self.best_val = math.inf if ts.get("best_val") is None else float(ts["best_val"])
        self.history = list(ts.get("history", []))
        self._epoch_sum, self._epoch_count = float(ts.get("epoch_sum", 0.0)), int(ts.get("epoch_count", 0))
        self.last_grad_norm = float("nan") if ts.get("last_grad_norm") is None else float(ts["last_grad_norm"])
        self.seconds = float(ts.get("seconds", 0.0))

    def save(self, name: str = "last") -> Path | None:
        """Write a checkpoint to ``out_dir/name`` (atomically); returns its path (None without ``out_dir``)."""
        if self.out_dir is None:
            return None
        path = self.out_dir / name   # under MPI: written on rank 0 with every rank's rows of the carried state
        return self.comm.save(self.state, lambda carried: save_training_state(self, path, carried))

    def load(self, path) -> dict:
        """Restore weights, optimizer, schedule, random generators, callbacks, carried state and position from a
        checkpoint written by this trainer; returns its meta."""
        meta = load_training_state(self, path)
        self.state = self.comm.local_state(self.state)   # under MPI: this rank's rows of the whole carried state
        return meta
