"""Honest model selection for the ``Classifier``: how many training steps to run, chosen on the training set alone.

``plan(targets, seed, folds)`` carves validation cases out of the training cases, stratified by class: with at
least ``FOLD_BELOW`` cases one holdout (``VALID_FRACTION`` of each class, at least one case per class), with fewer
``folds``-fold cross-validation (each case validated once). A holdout that would leave a class with no training
case (a class of one case) falls back to k-fold, with a note saying so.

``choose_steps(clf, seqs, targets)`` trains one network per split with early stopping on its validation cases (the
Trainer's ``EarlyStopping`` watching ``AccuracyWatch.rank``, ``PATIENCE_STEPS``, best weights restored); each
split's best step is the one of highest validation accuracy, ties going to the later step, and a validation with a
lower loss than any before or as accurate as the best so far counts as progress for the patience. On a few
validation cases the cross-entropy alone is no guide: a confident miss outweighs the cases that turn right, and the
loss rises while the accuracy holds, so watching the loss (and breaking ties by it) stopped early: GunPoint's 5
folds of 10 cases chose 224-434 of 2,000 steps, refitted to 92 % where 2,000 steps give 98 %. ``choose_steps``
returns the median of the splits' best steps: the ``Classifier`` then refits on all the training cases for that many
steps. ``time_budget`` seconds, when set, are shared equally between the splits (the Trainer's ``TimeLimit``): a
split stopped by its share before early stopping fired tells only that its validation loss was still improving (or
within the patience) when time ran out, so it counts as ``max_steps`` (censored: no evidence for stopping sooner),
and the note says how many were.
Nothing here sees a test set: the caller has none to give.
"""

from __future__ import annotations

import math
import time

import numpy

from gatedrnn.backend import to_numpy
from gatedrnn.train.callbacks import Callback
from gatedrnn.train.stop import StopReason

FOLD_BELOW = 100          # fewer training cases than this: k-fold instead of one holdout
VALID_FRACTION = 0.2      # of each class, in the holdout
PATIENCE_STEPS = 200      # training steps without a better validation loss before a split stops


class AccuracyWatch(Callback):
    """After each validation: the accuracy on the validation batches; ``best_step`` the step of the highest, ties
    to the later step (``best``: that accuracy and its validation loss); ``rank`` what early stopping watches."""

    def __init__(self, batches):
        self.batches, self.best, self.best_step = batches, (-1.0, math.inf), None
        self.lowest, self.progress = math.inf, 0

    def rank(self, trainer) -> float:
        """Lower is better: minus the validations that made progress (a lower loss than any before, or an accuracy
        at least the best): EarlyStopping waits while either goes on."""
        return -float(self.progress)

    def on_validation_end(self, trainer, logs):
        model = trainer.model
        was = model.training
        model.eval()
        with trainer.evaluating():
            right = total = 0
            for x, t in self.batches:
                logits, _ = model.forward(x)
                right += int((to_numpy(logits).argmax(axis=1) == t).sum())
                total += len(t)
        model.train(was)
        acc, loss = right / max(total, 1), float(logs["val_loss"])
        self.progress += acc >= self.best[0] or loss < self.lowest
        self.lowest = min(self.lowest, loss)
        if acc >= self.best[0]:
            self.best, self.best_step = (acc, loss), trainer.step


def _kfold(targets, seed: int, folds: int) -> list:
    """Stratified folds: each class's cases, shuffled, dealt round the folds (a running offset keeps the folds'
    sizes within one of each other)."""
    rng = numpy.random.default_rng([seed, 7])
    fold_of = numpy.empty(len(targets), dtype=numpy.int64)
    start = 0
    for c in numpy.unique(targets):
        idx = rng.permutation(numpy.flatnonzero(targets == c))
        fold_of[idx] = (start + numpy.arange(len(idx))) % folds
        start += len(idx)
    every = numpy.arange(len(targets))
    return [(every[fold_of != f], every[fold_of == f]) for f in range(folds) if (fold_of == f).any()]


def _holdout(targets, seed: int):
    """One stratified split, or None when it would leave a class without a training case."""
    rng = numpy.random.default_rng([seed, 11])
    valid = []
    for c in numpy.unique(targets):
        idx = rng.permutation(numpy.flatnonzero(targets == c))
        k = max(1, round(VALID_FRACTION * len(idx)))
        if k >= len(idx):
            return None
        valid.append(idx[:k])
    v = numpy.sort(numpy.concatenate(valid))
    return numpy.setdiff1d(numpy.arange(len(targets)), v), v


def plan(targets, seed: int, folds: int) -> tuple[list, str]:
    """-> ([(train indices, validation indices), ...], a line saying what was done)."""
    targets = numpy.asarray(targets)
    n = len(targets)
    if n >= FOLD_BELOW:
        split = _holdout(targets, seed)
        if split is not None:
            return [split], f"validation: a stratified holdout of {len(split[1])} of the {n} training cases"
        counts = numpy.bincount(targets)
        small = int(numpy.argmin(numpy.where(counts > 0, counts, n + 1)))
        note = (f"validation: a holdout would leave class {small} ({counts[small]} case) with no training case; "
                f"{folds}-fold cross-validation instead")
    else:
        note = f"validation: {folds}-fold stratified cross-validation over the {n} training cases (fewer than {FOLD_BELOW})"
    splits = _kfold(targets, seed, folds)
    return splits, note


def choose_steps(clf, seqs: list, targets, time_budget: float | None = None) -> dict:
    """Train ``clf``'s network on each split with early stopping; -> ``{"steps", "best_steps", "val_losses",
    "val_accs", "note", "seconds"}`` (``steps``: the median best step, at least 1; ``val_accs``: each split's
    validation accuracy at its best step, what a choice between settings may read)."""
    t0 = time.perf_counter()
    splits, note = plan(targets, clf.seed, clf.folds)
    share = None if not time_budget else time_budget / len(splits)
    best, losses, accs, censored = [], [], [], 0
    for train, valid in splits:
        summary = clf.fit_split([seqs[i] for i in train], targets[train], [seqs[i] for i in valid], targets[valid],
                                patience_steps=PATIENCE_STEPS, seconds=share)
        cut = summary.get("stopped") == StopReason.TIME_LIMIT
        censored += cut
        best.append(clf.max_steps if cut else int(summary.get("best_step") or summary.get("step") or 1))
        losses.append(float(summary.get("best_val", math.nan)))
        accs.append(float(summary.get("best_acc", math.nan)))
    if censored:
        note += f"; {censored} of {len(splits)} stopped by --time-budget (counted as max_steps)"
    steps = max(1, int(numpy.median(best)))
    return {"steps": steps, "best_steps": best, "val_losses": losses, "val_accs": accs, "note": note,
            "seconds": time.perf_counter() - t0}
