"""What a run shows a person: the ``Trainer`` itself prints nothing; a command that wants a console adds one of these
callbacks. Both run on rank 0 only under MPI (``root_only``).

- ``EpochLines``: one line per epoch (``epoch 2/4  step 1326  train ppl 151.23  valid ppl 160.02  lr 20  (61s)``)
  and one when the run stops before its end (``stopped after step 50 (max_steps): validation ...``, or where to
  resume after Ctrl-C).
- ``Console``: those lines and the progress between them: on a terminal (stdout and stderr both) a live tqdm bar
  per epoch; piped, in a log file or under nohup a plain line at every step record of the log (every ``log_every``
  steps of the trainer): step, loss, perplexity, throughput, gradient norm, learning rate and the time left when the
  total number of steps is known.

Both read the records the trainer logs (``on_log``) and say them through ``echo`` (default ``say``: ``print`` that
flushes, so that a log file redirected from stdout follows the run).
"""

from __future__ import annotations

import math
import sys
import time

from gatedrnn.train.callbacks import Callback
from gatedrnn.train.stop import StopReason


def say(*args) -> None:
    """``print`` that flushes, so that a log file redirected from stdout follows the run."""
    print(*args, flush=True)


def _on_terminal() -> bool:
    """Both output streams are terminals: the live bar; else (a pipe, a log file, nohup) plain progress lines."""
    return sys.stderr.isatty() and sys.stdout.isatty()


def _clock(seconds: float) -> str:
    """``42s``, ``3m07s``, ``2h05m``."""
    s = max(0, round(seconds))
    return f"{s}s" if s < 60 else f"{s // 60}m{s % 60:02d}s" if s < 3600 else f"{s // 3600}h{s % 3600 // 60:02d}m"


class EpochLines(Callback):
    """One line per epoch and one when the run stops before its end (see the module docstring)."""

    root_only = True

    def __init__(self, echo=say):
        self.echo = echo

    def on_log(self, trainer, record):
        event, fmt = record.get("event"), trainer.report.fmt
        if event == "epoch":
            valid = f"  valid {fmt(record['val_loss'])}" if "val_loss" in record else ""
            self.echo(f"epoch {record['epoch']}/{trainer.epochs}  step {record['step']}  train "
                      f"{fmt(record['train_loss'])}{valid}  lr {record['lr']:g}  ({record['seconds']:.0f}s)")
        elif event == "stop" and record["reason"] == StopReason.INTERRUPTED:
            where = trainer.out_dir / "last" if trainer.out_dir is not None else "(no out_dir)"
            self.echo(f"interrupted at step {record['step']}; resume from {where}")
        elif event == "stop" and "val_loss" in record:
            self.echo(f"stopped after step {record['step']} ({record['reason']}): validation "
                      f"{fmt(record['val_loss'])}")


class Console(EpochLines):
    """``EpochLines`` and the progress between them: a bar on a terminal, else a line per step record."""

    def __init__(self, echo=say):
        super().__init__(echo)
        self._bar = None
        self._steps: int | None = None          # batches in the current epoch (None: unknown)
        self._mark = (0.0, 0)                   # (time, step) of the last step record or of the epoch's start

    def on_epoch_begin(self, trainer, logs):
        self._close()
        self._steps, self._mark = logs["steps"], (time.perf_counter(), trainer.step)
        if _on_terminal():
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self._steps, initial=logs["pos"], desc=f"epoch {logs['epoch']}/{trainer.epochs}",
                             mininterval=0.5, dynamic_ncols=True)

    def on_step_end(self, trainer, logs):
        if self._bar is not None:
            self._bar.update(1)

    def on_log(self, trainer, record):
        if record.get("event") == "step":
            self._step_line(trainer, record)
            return
        if record.get("event") in ("epoch", "stop", "diverged"):
            self._close()
        super().on_log(trainer, record)

    def on_train_end(self, trainer, summary):
        self._close()

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _step_line(self, trainer, rec: dict) -> None:
        report = trainer.report
        rate, mean, norm, lr = rec[report.unit.replace("/", "_per_")], rec["loss"], rec["grad_norm"], rec["lr"]
        if self._bar is not None:
            self._bar.set_postfix_str(f"{report.fmt(mean)} {rate:,.0f} {report.unit} |g| {norm:.3g} lr {lr:.3g}",
                                      refresh=False)
            return
        (t0, s0), now = self._mark, time.perf_counter()
        self._mark = (now, rec["step"])
        per_step = (now - t0) / max(rec["step"] - s0, 1)
        totals = (trainer.max_steps, None if self._steps is None else trainer.epochs * self._steps)
        total = min((t for t in totals if t is not None), default=math.inf)
        left = f"  ETA {_clock((total - rec['step']) * per_step)}" if math.isfinite(total) else ""
        ppl = f"  {report.fmt(mean)}" if report.perplexity else ""
        self.echo(f"step {rec['step']}{'' if math.isinf(total) else f'/{total}'}  epoch {rec['epoch']}/{trainer.epochs}"
                  f"  loss {mean:.4f}{ppl}  {rate:,.0f} {report.unit}  |g| {norm:.3g}  lr {lr:.3g}{left}")
