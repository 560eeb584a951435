"""The seed's sanity test before anything large: a model must be able to memorise a tiny data set.

If a network cannot drive the loss on one sentence or one period of a sine to ~0, something is broken (a
gradient, the optimizer, the data pipeline), and no amount of training on a real corpus will show it clearly.
Two recipes, the ones ``tests/test_overfit.py`` runs:

* ``sentence``: a one-layer LSTM language model (embedding 16, hidden 32) memorises a 19-word sentence,
  next-word cross-entropy < 0.01 and every next word predicted right (Adam 0.02, clip 5, at most 300 steps);
* ``sine``: an LSTM regressor (hidden 32) fits one period of a sine, next-value MSE < 1e-3 (Adam 0.01, at
  most 500 steps).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy

from gatedrnn.backend import to_numpy
from gatedrnn.layers import MSE, SoftmaxCrossEntropy
from gatedrnn.models import LanguageModel, SequenceRegressor
from gatedrnn.optim import Adam, clip_grad_norm

SENTENCE = "the cat sat on the mat and the dog sat on the log because the dog liked the log"
WHAT = ("sentence", "sine")


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


def overfit_sentence(cell: str = "lstm", seed: int = 0, max_steps: int = 300, echo=None) -> OverfitResult:
    t0 = time.perf_counter()
    words = SENTENCE.split()
    vocab = {w: i for i, w in enumerate(dict.fromkeys(words))}
    ids = numpy.array([[vocab[w] for w in words]])
    x, t = ids[:, :-1], ids[:, 1:]
    model = LanguageModel(len(vocab), 16, 32, cell=cell, seed=seed)
    opt = Adam(model.params, model.grads, lr=0.02)
    ce = SoftmaxCrossEntropy()
    threshold, loss, step = 0.01, float("inf"), 0
    for step in range(1, max_steps + 1):
        model.zero_grad()
        logits, _ = model.forward(x)
        loss = ce.forward(logits, t)
        if echo and (step == 1 or step % 50 == 0):
            echo(f"  step {step:4d}  cross-entropy {loss:.4f}")
        if loss < threshold:
            break
        model.backward(ce.backward())
        clip_grad_norm(model.grads, 5.0)
        opt.step()
    logits, _ = model.eval().forward(x)
    right = int((to_numpy(logits).argmax(-1) == t).sum())
    passed = loss < threshold and right == t.size
    return OverfitResult("sentence", passed, loss, threshold, step, time.perf_counter() - t0,
                         f"{right}/{t.size} next words right, {len(vocab)}-word vocabulary, {cell.upper()} 32 units")


def overfit_sine(cell: str = "lstm", seed: int = 0, max_steps: int = 500, echo=None) -> OverfitResult:
    t0 = time.perf_counter()
    n = 64
    wave = numpy.sin(numpy.linspace(0, 2 * numpy.pi, n + 1)).astype(numpy.float32)
    x, y = wave[None, :-1, None], wave[None, 1:, None]
    model = SequenceRegressor(1, 32, 1, cell=cell, seed=seed)
    opt = Adam(model.params, model.grads, lr=0.01)
    mse = MSE()
    threshold, loss, step = 1e-3, float("inf"), 0
    for step in range(1, max_steps + 1):
        model.zero_grad()
        pred, _ = model.forward(x)
        loss = mse.forward(pred, y)
        if echo and (step == 1 or step % 100 == 0):
            echo(f"  step {step:4d}  MSE {loss:.2e}")
        if loss < threshold:
            break
        model.backward(mse.backward())
        opt.step()
    return OverfitResult("sine", loss < threshold, loss, threshold, step, time.perf_counter() - t0,
                         f"one period, {n} points, next-value regression, {cell.upper()} 32 units")


def overfit(what: str, cell: str = "lstm", seed: int = 0, echo=None) -> OverfitResult:
    """Run one recipe (``sentence`` or ``sine``) and return its result; ``.verdict`` is PASS or FAIL."""
    if what == "sentence":
        return overfit_sentence(cell, seed, echo=echo)
    if what == "sine":
        return overfit_sine(cell, seed, echo=echo)
    raise ValueError(f"overfit what: expected one of {list(WHAT)}, got {what!r}")
