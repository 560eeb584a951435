"""Learning-rate schedules. Each one owns an optimizer and sets its ``lr`` attribute.

The trainer calls ``on_step(step)`` before every optimizer step (``step`` counts from 1 over the whole run)
and ``on_epoch_end(epoch, val_loss)`` after each epoch's validation (``epoch`` = epochs completed). A
schedule's ``state_dict()`` is JSON-able and, with the optimizer's own state, makes a resumed run take the
same steps as an uninterrupted one.

* ``plateau`` — the book's rule for BetterRnnlm (*Deep Learning from Scratch 2*, ch. 6): divide the learning
  rate by 4 whenever the validation perplexity did not improve on the best so far.
* ``step`` — keep the rate for the first ``start`` epochs, then multiply it by ``gamma`` every ``step_size``
  epochs (Zaremba et al. 2014 keep lr 1 for 6 epochs, then divide by 1.2 per epoch: ``start=6, step_size=1,
  gamma=1/1.2``).
* ``cosine`` — half a cosine from the base rate to ``min_lr`` over ``total_steps`` (Loshchilov & Hutter 2017,
  without restarts), after an optional linear warm-up.
"""

from __future__ import annotations

import math

from gatedrnn.errors import UserError, check_int


class Schedule:
    """The constant schedule, and the base of the others."""

    name = "constant"

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.base_lr = float(optimizer.lr)

    @property
    def lr(self) -> float:
        return self.optimizer.lr

    def on_step(self, step: int) -> None:
        pass

    def on_epoch_end(self, epoch: int, val_loss: float) -> None:
        pass

    def state_dict(self) -> dict:
        return {"name": self.name, "base_lr": self.base_lr, "lr": self.optimizer.lr}

    def load_state_dict(self, d: dict) -> None:
        if d.get("name") != self.name:
            raise UserError(f"schedule state: expected {self.name!r}, got {d.get('name')!r}")
        self.base_lr = float(d["base_lr"])
        self.optimizer.lr = float(d["lr"])


class PlateauDecay(Schedule):
    """Divide the rate by ``factor`` when the validation loss has not improved for more than ``patience``
    epochs (the book: factor 4, patience 0). ``min_lr`` is a floor."""

    name = "plateau"

    def __init__(self, optimizer, factor: float = 4.0, patience: int = 0, min_lr: float = 0.0):
        super().__init__(optimizer)
        if not factor > 1:
            raise UserError(f"plateau factor: expected a number > 1, got {factor}")
        self.factor, self.patience, self.min_lr = float(factor), int(patience), float(min_lr)
        self.best, self.bad = math.inf, 0

    def on_epoch_end(self, epoch, val_loss):
        if val_loss < self.best:
            self.best, self.bad = float(val_loss), 0
            return
        self.bad += 1
        if self.bad > self.patience:
            self.optimizer.lr = max(self.optimizer.lr / self.factor, self.min_lr)
            self.bad = 0

    def state_dict(self):
        return {**super().state_dict(), "best": self.best if math.isfinite(self.best) else None, "bad": self.bad}

    def load_state_dict(self, d):
        super().load_state_dict(d)
        self.best = math.inf if d.get("best") is None else float(d["best"])
        self.bad = int(d.get("bad", 0))


class StepDecay(Schedule):
    """Keep the base rate for the first ``start`` epochs, then multiply it by ``gamma`` every ``step_size``
    epochs: epoch k (counting from 1) trains at ``base_lr * gamma ** n`` with ``n = 0`` for k <= start and
    ``n = (k - start - 1) // step_size + 1`` after. ``start=1, step_size=1, gamma=0.5`` halves every epoch from the
    second; Zaremba et al.'s medium model is ``start=6, step_size=1, gamma=1/1.2``."""

    name = "step"

    def __init__(self, optimizer, step_size: int = 1, gamma: float = 0.5, start: int = 1):
        super().__init__(optimizer)
        self.step_size = check_int("step schedule step_size", step_size)
        self.start = check_int("step schedule start", start)
        if not (math.isfinite(gamma) and 0 < gamma <= 1):
            raise UserError(f"step schedule gamma: expected 0 < gamma <= 1, got {gamma}")
        self.gamma = float(gamma)

    def on_epoch_end(self, epoch, val_loss):
        nxt = epoch + 1    # the epoch about to start
        n = 0 if nxt <= self.start else (nxt - self.start - 1) // self.step_size + 1
        self.optimizer.lr = self.base_lr * self.gamma ** n


class CosineDecay(Schedule):
    """Linear warm-up over ``warmup_steps``, then ``min_lr + (base - min_lr) (1 + cos(pi s)) / 2`` with ``s``
    going from 0 to 1 over the remaining steps up to ``total_steps`` (and ``min_lr`` after)."""

    name = "cosine"

    def __init__(self, optimizer, total_steps: int, min_lr: float = 0.0, warmup_steps: int = 0):
        super().__init__(optimizer)
        if not (isinstance(total_steps, int) and total_steps >= 1):
            raise UserError(f"cosine schedule total_steps: expected a positive integer, got {total_steps!r}")
        if not 0 <= warmup_steps < total_steps:
            raise UserError(f"cosine schedule warmup_steps: expected 0 <= warmup_steps < {total_steps}, got {warmup_steps}")
        self.total_steps, self.min_lr, self.warmup_steps = total_steps, float(min_lr), int(warmup_steps)

    def lr_at(self, step: int) -> float:
        if step <= self.warmup_steps:
            return self.base_lr * step / self.warmup_steps
        s = min(1.0, (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps))
        return self.min_lr + (self.base_lr - self.min_lr) * 0.5 * (1.0 + math.cos(math.pi * s))

    def on_step(self, step):
        self.optimizer.lr = self.lr_at(step)


SCHEDULES = {"constant": Schedule, "plateau": PlateauDecay, "step": StepDecay, "cosine": CosineDecay}


def make_schedule(name: str, optimizer, **kwargs) -> Schedule:
    """Build a schedule by name (``constant``/``none``, ``plateau``, ``step``, ``cosine``)."""
    key = "constant" if name in (None, "none") else name
    if key not in SCHEDULES:
        raise UserError(f"schedule: expected one of {sorted(SCHEDULES) + ['none']}, got {name!r}")
    return SCHEDULES[key](optimizer, **kwargs)
