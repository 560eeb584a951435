"""Training one network of a ``Forecaster`` through the ``Trainer``: the window batches of its panel, the pinball
loss, Adam with a cosine decay over ``max_steps``, gradient clipping.

``train_network(f, panel, seed)`` is what ``Forecaster.fit`` runs for each member. With ``valid`` (the
held-out windows, ``validation_batches``) it is what the settings search runs (``selection.py``): the training
is cut into rounds of ``every`` steps, the loss on the held-out values is measured after each, the Trainer's
``EarlyStopping`` stops after ``patience`` rounds without improvement and puts the best weights back, and
``TimeLimit`` ends it when its share of the search's time is spent.
"""

from __future__ import annotations

import math

import numpy

from gatedrnn.forecast.covariates import CovariateWindows, FuturePinball
from gatedrnn.forecast.features import Panel, Pinball, WindowBatches
from gatedrnn.models import SequenceRegressor
from gatedrnn.optim import Adam
from gatedrnn.optim.schedules import CosineDecay
from gatedrnn.train.callbacks import EarlyStopping, TimeLimit
from gatedrnn.train.console import EpochLines
from gatedrnn.train.trainer import Trainer

VALID_BATCH = 256          # held-out windows per validation batch


def windows(f, panel: Panel, seed: int, steps: int, dtype) -> WindowBatches:
    """The training windows of ``panel`` for the forecaster ``f``'s settings."""
    common = (panel, f.window, f.output_horizon, f.season, f.batch_size, steps, seed, dtype, f.base)
    if f.covariates:
        return CovariateWindows(*common, [(c - f.cov_mean) / f.cov_std for c in panel.covs])
    return WindowBatches(*common, mask=f.mask)


def validation_batches(f, full: Panel, dtype, backs=(0,)) -> list:
    """The held-out windows of ``full`` (the whole series): for each series and each ``b`` of ``backs``, the window
    before its last ``horizon + b`` values, and the ``output_horizon`` values after it as the targets."""
    data = windows(f, full, 0, 1, dtype)
    ends = list(data.offsets[1:]) + [data.flat.size]
    need = 1 if f.mask else f.window
    rows = [[e - b - f.horizon - f.window, v.size - b - f.horizon - f.window]
            for e, v in zip(ends, full.values) for b in backs if v.size - b - f.horizon >= need]
    pick = numpy.array(rows, dtype=numpy.int64).reshape(-1, 2)
    return [data.batch(pick[k:k + VALID_BATCH]) for k in range(0, len(pick), VALID_BATCH)]


def train_network(f, panel: Panel, seed: int, echo=None, *, valid=None, every: int = 50, patience: int = 4,
                  limit: float | None = None, clock: str = "wall", score=None):
    """(network, record) for the forecaster ``f``: trained on ``panel`` for ``f.max_steps`` steps (module
    docstring for ``valid``, ``every``, ``patience``, ``limit`` and ``clock``; ``score(network)``, when given, is
    what early stopping watches instead of the held-out loss). The record holds the seed, the last training loss
    and the steps run; with ``valid`` also the best step and its held-out loss (or score)."""
    qs, out = f.quantiles, f.output_horizon
    cov = bool(f.covariates)          # with covariates: many-to-many, the forecasts on the future steps
    model = SequenceRegressor(f.input_size, f.hidden_size, len(qs) if cov else out * len(qs), f.num_layers,
                              cell=f.cell, many_to_one=not cov, seed=seed)
    rounds = 1 if valid is None else math.ceil(f.max_steps / every)
    data = windows(f, panel, seed, f.max_steps if valid is None else every, model.params[0].dtype)
    opt = Adam(model.params, model.grads, lr=f.lr)
    stop = EarlyStopping(patience=patience, restore_best_weights=True,
                         score=None if score is None else (lambda trainer: score(trainer.model)))
    callbacks = [] if valid is None else [stop] + ([TimeLimit(limit, clock)] if limit else [])
    trainer = Trainer(model, FuturePinball(qs, out) if cov else Pinball(qs), opt, train_data=data.epoch,
                      valid_data=valid, clip=f.clip or None, schedule=CosineDecay(opt, total_steps=f.max_steps),
                      carry_state=False, epochs=rounds, max_steps=f.max_steps, plot=False,
                      callbacks=callbacks + ([EpochLines(echo)] if echo else []), echo=echo)
    summary = trainer.fit()
    record = {"seed": seed, "train_loss": trainer.history[-1]["train_loss"] if trainer.history else None,
              "steps": summary.get("step")}
    if valid is not None:
        record.update(best_step=stop.best_step, val_loss=stop.best if math.isfinite(stop.best) else None,
                      stopped=summary.get("stopped"))
    return model.eval(), record
