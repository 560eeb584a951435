"""The seed's sanity test before anything large: a model must be able to memorise a tiny data set.

If a network cannot drive the loss on one sentence or one period of a sine to ~0, something is broken (a
gradient, the optimizer, the data pipeline), and no amount of training on a real corpus will show it clearly.
Two recipes, the ones ``tests/lab/test_overfit.py`` runs, each trained by ``gatedrnn.train.trainer.Trainer`` on one
batch repeated, stopped by the ``BelowThreshold`` callback:

* ``sentence``: a one-layer LSTM language model (embedding 16, hidden 32) memorises a 19-word sentence,
  next-word cross-entropy < 0.01 and every next word predicted right (Adam 0.02, clip 5, at most 300 steps);
* ``sine``: an LSTM regressor (hidden 32) fits one period of a sine, next-value MSE < 1e-3 (Adam 0.01, at
  most 500 steps).

``run_overfit`` is ``gatedrnn overfit``: the chosen recipes, PASS or FAIL each.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy

from gatedrnn.backend import to_numpy
from gatedrnn.config import Config, option
from gatedrnn.errors import check_choice, check_count
from gatedrnn.lab.options import cells, some
from gatedrnn.layers import MSE, SoftmaxCrossEntropy
from gatedrnn.models import LanguageModel, SequenceRegressor
from gatedrnn.optim import Adam
from gatedrnn.train.callbacks import Callback
from gatedrnn.train.stop import StopReason
from gatedrnn.train.trainer import Trainer

SENTENCE = "the cat sat on the mat and the dog sat on the log because the dog liked the log"
WHAT = ("sentence", "sine")


@dataclass
class OverfitConfig(Config):
    """Which recipes to run, with which cell."""

    what: list[str] = option(list(WHAT), "which recipe(s) to run", choices=WHAT, check=some)
    cell: str = option("lstm", "recurrent cell", choices=cells)
    seed: int = option(0, "seed of the weights", check=check_count)


@dataclass
class OverfitResult:
    what: str
    passed: bool
    loss: float
    threshold: float
    steps: int
    seconds: float
    detail: str

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"


class BelowThreshold(Callback):
    """Stops the run (``StopReason.TARGET``) at the first step whose loss is below ``threshold``; keeps that loss and
    step (or the last ones) and prints the loss at step 1 and every ``every`` steps."""

    def __init__(self, threshold: float, every: int, fmt, echo=None):
        self.threshold, self.every, self.fmt, self.echo = threshold, every, fmt, echo
        self.loss, self.step = float("inf"), 0

    def on_step_end(self, trainer, logs):
        self.loss, self.step = logs["loss"], logs["step"]
        if self.echo and (self.step == 1 or self.step % self.every == 0):
            self.echo(f"  step {self.step:4d}  {self.fmt(self.loss)}")
        if self.loss < self.threshold:
            trainer.stop(StopReason.TARGET)


def _fit(model, loss, lr, clip, batch, max_steps, stopper) -> None:
    """``max_steps`` steps at most on the one ``batch``, until ``stopper`` stops the run."""
    Trainer(model, loss, Adam(model.params, model.grads, lr=lr), train_data=[batch] * max_steps, clip=clip,
            carry_state=False, callbacks=[stopper]).fit()


def overfit_sentence(cell: str = "lstm", seed: int = 0, max_steps: int = 300, echo=None) -> OverfitResult:
    t0 = time.perf_counter()
    words = SENTENCE.split()
    vocab = {w: i for i, w in enumerate(dict.fromkeys(words))}
    ids = numpy.array([[vocab[w] for w in words]])
    x, t = ids[:, :-1], ids[:, 1:]
    model = LanguageModel(len(vocab), 16, 32, cell=cell, seed=seed)
    stopper = BelowThreshold(0.01, 50, lambda v: f"cross-entropy {v:.4f}", echo)
    _fit(model, SoftmaxCrossEntropy(), 0.02, 5.0, (x, t), max_steps, stopper)
    logits, _ = model.eval().forward(x)
    right = int((to_numpy(logits).argmax(-1) == t).sum())
    passed = stopper.loss < stopper.threshold and right == t.size
    return OverfitResult("sentence", passed, stopper.loss, stopper.threshold, stopper.step, time.perf_counter() - t0,
                         f"{right}/{t.size} next words right, {len(vocab)}-word vocabulary, {cell.upper()} 32 units")


def overfit_sine(cell: str = "lstm", seed: int = 0, max_steps: int = 500, echo=None) -> OverfitResult:
    t0 = time.perf_counter()
    n = 64
    wave = numpy.sin(numpy.linspace(0, 2 * numpy.pi, n + 1)).astype(numpy.float32)
    x, y = wave[None, :-1, None], wave[None, 1:, None]
    model = SequenceRegressor(1, 32, 1, cell=cell, seed=seed)
    stopper = BelowThreshold(1e-3, 100, lambda v: f"MSE {v:.2e}", echo)
    _fit(model, MSE(), 0.01, 0.0, (x, y), max_steps, stopper)
    return OverfitResult("sine", stopper.loss < stopper.threshold, stopper.loss, stopper.threshold, stopper.step,
                         time.perf_counter() - t0,
                         f"one period, {n} points, next-value regression, {cell.upper()} 32 units")


def overfit(what: str, cell: str = "lstm", seed: int = 0, echo=None) -> OverfitResult:
    """Run one recipe (``sentence`` or ``sine``) and return its result; ``.verdict`` is PASS or FAIL."""
    check_choice("overfit what", what, WHAT)
    return (overfit_sentence if what == "sentence" else overfit_sine)(cell, seed, echo=echo)


def run_overfit(cfg: OverfitConfig, echo=print) -> bool:
    """``gatedrnn overfit``: each recipe of ``cfg.what`` with its progress and a PASS/FAIL line; True if all
    passed."""
    cfg.validate()
    ok = True
    for what in dict.fromkeys(cfg.what):
        echo(f"overfit {what} ({cfg.cell}):")
        r = overfit(what, cell=cfg.cell, seed=cfg.seed, echo=echo)
        echo(f"{r.verdict}: {what}: loss {r.loss:.2e} (threshold {r.threshold:g}) after {r.steps} steps, "
             f"{r.seconds:.1f}s; {r.detail}")
        ok &= r.passed
    return ok
