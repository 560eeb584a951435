"""The training loop: any model with ``forward(x, state) -> (y, state)`` / ``backward(dy)``, any loss object
with ``forward(y, t) -> float`` / ``backward() -> dy``, any optimizer of ``gatedrnn.optim``.

Language model, Truncated BPTT (state carried across windows)::

    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.params, model.grads, lr=20.0), clip=0.25,
                      train_data=TBPTTBatches(train_ids, 20, 35, drop_last=True),
                      valid_data=TBPTTBatches(valid_ids, 10, 35), epochs=4, out_dir="runs/ptb")
    summary = trainer.fit()            # {'val_loss': ..., 'val_ppl': ..., 'step': ..., ...}

Regression with MSE (independent windows, no state carried, a fresh shuffle every epoch)::

    from gatedrnn.layers import MSE
    from gatedrnn.models import SequenceRegressor
    from gatedrnn.optim import Adam
    from gatedrnn.train.trainer import Trainer, TrainingDiverged

    model = SequenceRegressor(input_size=1, hidden_size=32, output_size=1, many_to_one=True, seed=0)

    def batches(epoch):                # x: (batch, time, 1), t: (batch, 1); deterministic in epoch
        order = np.random.default_rng([0, epoch]).permutation(len(X))
        return [(X[order[i:i + 32]], Y[order[i:i + 32]]) for i in range(0, len(X), 32)]

    trainer = Trainer(model, MSE(), Adam(model.params, model.grads, lr=1e-3), clip=1.0,
                      train_data=batches, valid_data=[(Xv, Yv)], carry_state=False, epochs=20,
                      out_dir="runs/sine", progress=False)
    try:
        summary = trainer.fit()        # summary['val_loss'] is the validation MSE; no perplexity for MSE
    except TrainingDiverged as exc:    # a ValueError; str(exc) is the one-line message
        print(exc, exc.step, exc.grad_norm)

``train_data`` is a sequence of ``(x, t)`` batches (``len`` and iteration), or a callable ``epoch -> iterable``
that must be a deterministic function of ``epoch`` for ``resume`` to be exact (seed any shuffle with the
epoch, as above). ``valid_data`` is a sequence or a no-argument callable. ``carry_state`` feeds each batch's
final state into the next (Truncated BPTT; the state is reset at every epoch start and for validation);
turn it off for independent windows.

Every step: forward, loss, backward, global-norm clipping (the norm before clipping is logged either way),
schedule, optimizer step. A non-finite loss or gradient norm raises ``TrainingDiverged`` on the step it
happens, naming the step and the gradient norm, and leaves the last good checkpoint in place.

With ``out_dir``: ``out_dir/last`` (written every ``checkpoint_every`` steps, at each epoch end and when
stopped; what ``load`` resumes from), ``out_dir/best`` (lowest validation loss), ``out_dir/log.jsonl`` (one
JSON object per log line, epoch and event) and ``out_dir/curves.png`` (train/validation curves, when
matplotlib is installed). Checkpoints hold the weights, the optimizer's slots and scalars, the schedule,
every random generator's ``bit_generator.state`` (the model's dropout layers and ``rngs``), the carried
state, the epoch, the batch position and the step, so that a run stopped (``max_steps``, Ctrl-C) and resumed
with ``load(out_dir / 'last')`` ends with exactly the weights of an uninterrupted run.
"""

from __future__ import annotations

import json
import math
import signal
import sys
import threading
import time
from itertools import islice
from pathlib import Path

import numpy

from gatedrnn.backend import asarray, to_numpy, xp
from gatedrnn.layers import SoftmaxCrossEntropy
from gatedrnn.optim.clip import clip_grad_norm
from gatedrnn.train.checkpoint import read_checkpoint, save_checkpoint


def say(*args) -> None:
    """``print`` that flushes, so that a log file redirected from stdout follows the run."""
    print(*args, flush=True)


class TrainingDiverged(ValueError):
    """The loss or the gradient norm became NaN/Inf. ``step``, ``loss`` and ``grad_norm`` say where."""

    def __init__(self, message: str, *, step: int, loss: float, grad_norm: float, checkpoint=None):
        super().__init__(message)
        self.step, self.loss, self.grad_norm, self.checkpoint = step, loss, grad_norm, checkpoint


def iter_layers(layer):
    """``layer`` and all its descendants, depth first, each once."""
    seen, stack = set(), [layer]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        stack.extend(reversed(getattr(node, "children", [])))


def model_generators(model) -> list:
    """The random generators a model owns (its dropout layers' ``rng``), in a fixed order."""
    return [lay.rng for lay in iter_layers(model) if isinstance(getattr(lay, "rng", None), numpy.random.Generator)]


def _flatten_state(state):
    if state is None:
        return None, []
    if isinstance(state, (tuple, list)):
        return len(state), [to_numpy(s) for s in state]
    return 0, [to_numpy(state)]


def _unflatten_state(kind, arrays):
    if kind is None:
        return None
    arrays = [asarray(a) for a in arrays]
    return arrays[0] if kind == 0 else tuple(arrays)


def evaluate(model, loss, data, *, carry_state: bool = True) -> float:
    """Mean loss over ``data`` (an iterable of ``(x, t)``), weighting each batch by its number of targets.

    Runs in evaluation mode (no dropout) and leaves the model in the mode it was in.
    """
    was = model.training
    model.eval()
    total, count, state = 0.0, 0, None
    try:
        for x, t in data:
            y, new = model.forward(x, state)
            n = int(numpy.prod(t.shape))
            total += loss.forward(y, t) * n
            count += n
            state = new if carry_state else None
    finally:
        model.train(was)
    if count == 0:
        raise ValueError("evaluate: expected at least one batch, got none")
    return total / count


class Trainer:
    """See the module docstring. ``fit()`` runs to ``epochs`` (or ``max_steps`` optimizer steps in total) and
    returns a summary dict; ``load(path)`` restores a checkpoint written by ``save``/``fit``."""

    def __init__(self, model, loss, optimizer, *, train_data, valid_data=None, clip: float | None = None,
                 schedule=None, carry_state: bool = True, epochs: int = 1, max_steps: int | None = None,
                 out_dir=None, checkpoint_every: int = 0, log_every: int = 50, progress: bool = True,
                 perplexity: bool | None = None, meta: dict | None = None, rngs: dict | None = None,
                 plot: bool = True, echo=say):
        if epochs < 1:
            raise ValueError(f"Trainer epochs: expected a positive integer, got {epochs}")
        if max_steps is not None and max_steps < 1:
            raise ValueError(f"Trainer max_steps: expected a positive integer or None, got {max_steps}")
        if clip is not None and clip < 0:
            raise ValueError(f"Trainer clip: expected a number >= 0 or None, got {clip}")
        self.model, self.loss, self.optimizer, self.schedule = model, loss, optimizer, schedule
        self.train_data, self.valid_data = train_data, valid_data
        self.clip = clip if clip else None
        self.carry_state, self.epochs, self.max_steps = carry_state, int(epochs), max_steps
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.checkpoint_every, self.log_every = int(checkpoint_every or 0), max(1, int(log_every))
        self.progress, self.plot, self.echo = progress, plot, echo
        self.perplexity = isinstance(loss, SoftmaxCrossEntropy) if perplexity is None else perplexity
        self.meta = dict(meta or {})
        self.rngs = dict(rngs or {})
        # where the run is: all of this goes into checkpoints
        self.step, self.epoch, self.pos = 0, 0, 0        # optimizer steps, epochs completed, batches done in this epoch
        self.state = None                                  # the carried recurrent state
        self.best_val = math.inf
        self.history: list[dict] = []                      # one entry per completed epoch
        self._epoch_sum, self._epoch_count = 0.0, 0        # running train loss of the current epoch
        self.last_grad_norm = float("nan")
        self.seconds = 0.0                                 # training time over all runs of this training (resumes add up)
        self._t_mark = None
        self._interactive = False
        self._stop_requested = False
        self._plot_note_shown = False
        self._last_plot = time.perf_counter()

    # -- helpers --------------------------------------------------------------------------------------
    def _metric(self, loss: float) -> float:
        return math.exp(min(loss, 700.0)) if self.perplexity else loss

    def _fmt(self, loss: float) -> str:
        if not self.perplexity:
            return f"loss {loss:.4g}"
        ppl = self._metric(loss)
        return f"ppl {ppl:.2f}" if ppl < 1e6 else f"ppl {ppl:.3g}"

    def log(self, record: dict) -> None:
        """Append one JSON object to ``out_dir/log.jsonl`` (no-op without ``out_dir``)."""
        if self.out_dir is None:
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with open(self.out_dir / "log.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")

    def _epoch_batches(self, epoch: int):
        data = self.train_data(epoch) if callable(self.train_data) else self.train_data
        try:
            n = len(data)
        except TypeError:
            n = None
        return data, n

    def _valid(self):
        return self.valid_data() if callable(self.valid_data) else self.valid_data

    def evaluate(self, data=None) -> float:
        """Mean loss over ``data`` (default: the validation data)."""
        return evaluate(self.model, self.loss, self._valid() if data is None else data, carry_state=self.carry_state)

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

    def _params_finite(self) -> bool:
        return all(bool(xp.isfinite(p).all()) for p in self.model.params)

    # -- one optimizer step ---------------------------------------------------------------------------
    def train_step(self, x, t) -> tuple[float, float]:
        """Forward, loss, backward, clip, schedule, update. Returns (loss, gradient norm before clipping)."""
        model = self.model
        model.zero_grad()
        try:
            y, new_state = model.forward(x, self.state if self.carry_state else None)
        except ValueError:
            if not self._params_finite():   # an earlier update overflowed: a layer's input check caught it
                self._diverged(float("nan"), float("nan"), ", parameters not finite")
            raise
        loss = self.loss.forward(y, t)
        model.backward(self.loss.backward())
        norm = clip_grad_norm(model.grads, self.clip if self.clip else math.inf)
        if not (math.isfinite(loss) and math.isfinite(norm)):
            self._diverged(loss, norm)
        if self.schedule is not None:
            self.schedule.on_step(self.step + 1)
        self.optimizer.step()
        self.state = new_state if self.carry_state else None
        self.step += 1
        self.last_grad_norm = norm
        return loss, norm

    # -- the loop -------------------------------------------------------------------------------------
    def fit(self) -> dict:
        handler_installed = False
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)

            def on_sigint(signum, frame):
                if self._stop_requested:       # second Ctrl-C: stop at once
                    signal.signal(signal.SIGINT, previous)
                    raise KeyboardInterrupt
                self._stop_requested = True

            signal.signal(signal.SIGINT, on_sigint)
            handler_installed = True
        try:
            return self._fit()
        finally:
            if handler_installed:
                signal.signal(signal.SIGINT, previous)

    def _fit(self) -> dict:
        from tqdm.auto import tqdm

        t_start = self._t_mark = time.perf_counter()
        stopped = None
        interactive = self._interactive = sys.stderr.isatty()
        while self.epoch < self.epochs and stopped is None:
            data, n = self._epoch_batches(self.epoch)
            if self.pos == 0:
                self.state = None
            # a live bar on a terminal; in a log file (not a terminal) a plain line every 30 s instead
            bar = tqdm(total=n, initial=self.pos, desc=f"epoch {self.epoch + 1}/{self.epochs}",
                       disable=not (self.progress and interactive), mininterval=0.5, dynamic_ncols=True)
            try:
                stopped = self._run_epoch(data, n, bar)
            finally:
                bar.close()
            if stopped is None:
                self._end_epoch()
        self._plot()
        summary = {"step": self.step, "epoch": self.epoch, "stopped": stopped or "done",
                   "seconds": time.perf_counter() - t_start, "train_seconds": self._tick(),
                   "best_val_loss": self.best_val if math.isfinite(self.best_val) else None}
        if stopped is not None:
            if self.valid_data is not None and stopped == "max_steps":
                val = self.evaluate()
                summary["val_loss"] = val
                self.log({"event": "stop", "reason": stopped, "step": self.step, "epoch": self.epoch + 1, "val_loss": val,
                          **({"val_ppl": self._metric(val)} if self.perplexity else {})})
                self.echo(f"stopped after step {self.step} ({stopped}): validation {self._fmt(val)}")
            self.save("last")
            if stopped == "interrupted":
                self.echo(f"interrupted at step {self.step}; resume from {self.out_dir / 'last' if self.out_dir else '(no out_dir)'}")
                raise KeyboardInterrupt
        elif self.history:
            summary["val_loss"] = self.history[-1].get("val_loss")
        if summary.get("val_loss") is not None and self.perplexity:
            summary["val_ppl"] = self._metric(summary["val_loss"])
        return summary

    def _run_epoch(self, data, n, bar) -> str | None:
        """The steps of the current epoch from ``self.pos``; returns why it stopped early, or None."""
        interactive = self._interactive
        unit = "tok/s" if self.perplexity else "targets/s"
        last_line = time.perf_counter()
        win_loss, win_steps, win_targets, win_t0 = 0.0, 0, 0, time.perf_counter()
        for x, t in islice(iter(data), self.pos, None):
            if self.max_steps is not None and self.step >= self.max_steps:
                return "max_steps"
            loss, norm = self.train_step(x, t)
            self.pos += 1
            targets = int(numpy.prod(t.shape))
            self._epoch_sum += loss * targets
            self._epoch_count += targets
            win_loss += loss
            win_steps += 1
            win_targets += targets
            bar.update(1)
            if win_steps == self.log_every:
                dt = max(time.perf_counter() - win_t0, 1e-9)
                mean = win_loss / win_steps
                rec = {"event": "step", "step": self.step, "epoch": self.epoch + 1, "loss": mean,
                       "grad_norm": norm, "lr": self.optimizer.lr, unit.replace("/", "_per_"): win_targets / dt}
                if self.perplexity:
                    rec["ppl"] = self._metric(mean)
                self.log(rec)
                status = f"{self._fmt(mean)} {win_targets / dt:,.0f} {unit} |g| {norm:.3g} lr {self.optimizer.lr:.3g}"
                bar.set_postfix_str(status, refresh=False)
                if self.progress and not interactive and time.perf_counter() - last_line > 30.0:
                    last_line = time.perf_counter()
                    self.echo(f"epoch {self.epoch + 1}/{self.epochs} [{self.pos}/{n or '?'}] step {self.step}  {status}")
                win_loss, win_steps, win_targets, win_t0 = 0.0, 0, 0, time.perf_counter()
            if self.checkpoint_every and self.step % self.checkpoint_every == 0:
                self.save("last")
            if self._stop_requested:
                return "interrupted"
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
        line = f"epoch {self.epoch}/{self.epochs}  step {self.step}  train {self._fmt(train_loss)}"
        if self.valid_data is not None:
            val = self.evaluate()
            rec["val_loss"] = val
            line += f"  valid {self._fmt(val)}"
            if self.schedule is not None:
                self.schedule.on_epoch_end(self.epoch, val)
            if val < self.best_val:
                self.best_val = val
                self.save("best")
        if self.perplexity:
            rec["train_ppl"] = self._metric(train_loss)
            if "val_loss" in rec:
                rec["val_ppl"] = self._metric(rec["val_loss"])
        self.history.append(rec)
        self.log({"event": "epoch", **rec})
        self.echo(f"{line}  lr {rec['lr']:g}  ({rec['seconds']:.0f}s)")
        self.save("last")
        if time.perf_counter() - self._last_plot > 30.0:   # during long runs; fit() always draws at its end
            self._plot()

    def _plot(self) -> None:
        self._last_plot = time.perf_counter()
        if not self.plot or self.out_dir is None or not self.history:
            return
        from gatedrnn.train.curves import plot_curves

        made = plot_curves(self.history, self.out_dir / "curves.png", perplexity=self.perplexity)
        if not made and not self._plot_note_shown:
            self.echo("note: matplotlib is not installed, so no curves.png (pip install matplotlib)")
            self._plot_note_shown = True

    # -- checkpoints ----------------------------------------------------------------------------------
    def trainer_state(self) -> dict:
        return {"step": self.step, "epoch": self.epoch, "pos": self.pos,
                "best_val": self.best_val if math.isfinite(self.best_val) else None,
                "history": self.history, "epoch_sum": self._epoch_sum, "epoch_count": self._epoch_count,
                "last_grad_norm": self.last_grad_norm if math.isfinite(self.last_grad_norm) else None,
                "seconds": self._tick()}

    def save(self, name: str = "last") -> Path | None:
        """Write a checkpoint to ``out_dir/name`` (atomically); returns its path (None without ``out_dir``)."""
        if self.out_dir is None:
            return None
        scalars, slots = self.optimizer.state_dict()
        kind, state_arrays = _flatten_state(self.state)
        arrays = {f"optim.{k}": v for k, v in slots.items()}
        arrays.update({f"state.{i}": a for i, a in enumerate(state_arrays)})
        rng = {"model": [g.bit_generator.state for g in model_generators(self.model)],
               "extra": {k: g.bit_generator.state for k, g in self.rngs.items()}}
        meta = {**self.meta, "trainer": self.trainer_state(), "optimizer": scalars, "rng": rng,
                "schedule": None if self.schedule is None else self.schedule.state_dict(),
                "carried_state": kind}
        return save_checkpoint(self.out_dir / name, self.model, meta=meta, arrays=arrays)

    def load(self, path) -> dict:
        """Restore weights, optimizer, schedule, random generators, carried state and position from a
        checkpoint written by this trainer; returns its meta."""
        meta, weights, extra = read_checkpoint(path)
        if "trainer" not in meta or "optimizer" not in meta:
            raise ValueError(f"checkpoint {path}: expected a training checkpoint (trainer and optimizer state), got a weights-only one")
        self.model.load_state_dict(weights)
        self.optimizer.load_state_dict(meta["optimizer"], {k[6:]: v for k, v in extra.items() if k.startswith("optim.")})
        sched = meta.get("schedule")
        if (sched is None) != (self.schedule is None):
            raise ValueError(f"checkpoint {path}: expected schedule {None if self.schedule is None else self.schedule.name!r}, "
                             f"got {None if sched is None else sched.get('name')!r}")
        if self.schedule is not None:
            self.schedule.load_state_dict(sched)
        gens, saved = model_generators(self.model), meta.get("rng", {}).get("model", [])
        if len(gens) != len(saved):
            raise ValueError(f"checkpoint {path}: expected {len(gens)} random generator states for the model, got {len(saved)}")
        for g, s in zip(gens, saved):
            g.bit_generator.state = s
        for k, s in meta.get("rng", {}).get("extra", {}).items():
            if k in self.rngs:
                self.rngs[k].bit_generator.state = s
        kind = meta.get("carried_state")
        n = 0 if kind is None else max(kind, 1)
        self.state = _unflatten_state(kind, [extra[f"state.{i}"] for i in range(n)])
        ts = meta["trainer"]
        self.step, self.epoch, self.pos = int(ts["step"]), int(ts["epoch"]), int(ts["pos"])
        self.best_val = math.inf if ts.get("best_val") is None else float(ts["best_val"])
        self.history = list(ts.get("history", []))
        self._epoch_sum, self._epoch_count = float(ts.get("epoch_sum", 0.0)), int(ts.get("epoch_count", 0))
        self.last_grad_norm = float("nan") if ts.get("last_grad_norm") is None else float(ts["last_grad_norm"])
        self.seconds = float(ts.get("seconds", 0.0))
        return meta
