"""A language model stuck on the unigram plateau, said early: ``PlateauWarning``.

A model that has learned only the words' frequencies has the training text's unigram perplexity, exp(H) with H
the entropy of the word frequencies (PTB: ~690). A 2-layer model with too small a start (the book's N(0, 1/fan_in)
with an embedding of std 0.01) can sit there for a whole epoch, its gradient norm ~0.05 throughout. So at step
min(500, 10 % of the first epoch) the callback compares the training perplexity of the last steps (the mean loss of
up to ``WINDOW`` steps) with the unigram perplexity and, when it is still within 5 % of it (or above it), prints one
line naming the likely causes: the initialisation scale, the learning rate, clipping. It changes nothing.
"""

from __future__ import annotations

import math

import numpy

from gatedrnn.train.callbacks import Callback

WINDOW = 50
TOLERANCE = 0.05


def unigram_perplexity(ids, vocab_size: int) -> float:
    """exp(entropy) of the token frequencies of ``ids``: the perplexity of a model that knows only them."""
    counts = numpy.bincount(numpy.asarray(ids).reshape(-1), minlength=vocab_size).astype(numpy.float64)
    p = counts[counts > 0] / counts.sum()
    return float(math.exp(-(p * numpy.log(p)).sum()))


def check_step(steps_per_epoch: int) -> int:
    """The step the check runs at: min(500, 10 % of the first epoch), at least 1."""
    return max(1, min(500, steps_per_epoch // 10))


class PlateauWarning(Callback):
    """Warn once if the training perplexity at ``at_step`` is within ``TOLERANCE`` of ``unigram`` (see the module
    docstring); ``self.warned`` tells whether it did."""

    def __init__(self, unigram: float, at_step: int):
        self.unigram, self.at_step = float(unigram), int(at_step)
        self.losses: list[float] = []
        self.warned = False

    def on_step_end(self, trainer, logs: dict) -> None:
        step = int(logs["step"])
        if step > self.at_step:
            return
        if step > self.at_step - WINDOW:
            self.losses.append(float(logs["loss"]))
        if step != self.at_step or not self.losses:
            return
        ppl = math.exp(min(sum(self.losses) / len(self.losses), 700.0))
        if ppl >= (1.0 - TOLERANCE) * self.unigram:
            self.warned = True
            trainer.echo(f"warning: at step {step} the training perplexity {ppl:.1f} is still that of the word "
                         f"frequencies alone (unigram perplexity {self.unigram:.1f}): the model is stuck on the "
                         f"unigram plateau. Likely causes: an initialisation too small for this depth (try --init "
                         f"uniform --init-scale 0.1), a learning rate too low or too high, or clipping too tight "
                         f"(--clip)")
