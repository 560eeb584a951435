"""The recurrent forecaster: trained on every window of the training part, then forecasting recursively.

A ``SequenceRegressor`` (many-to-many) reads two standardised inputs per step, the level and the change from the
previous step, and predicts the standardised next change (``data.series.SeriesScaler``, fitted on the training
part only). It is trained with MSE by the project's ``Trainer`` (Adam, global-norm clipping, cosine learning-rate
decay) on every sliding window of ``window`` steps of the training part, each window starting from the zero
state. At a forecast origin it reads the last ``window`` observed steps from the zero state (as in training),
predicts the next change, adds it to the last value, feeds its own forecast back as the next observation and so
on (``models.stream.Stream``, one step per call).
"""

from __future__ import annotations

import math

import numpy

from gatedrnn.data.series import SeriesScaler, make_windows
from gatedrnn.layers import MSE
from gatedrnn.models import SequenceRegressor
from gatedrnn.models.stream import Stream
from gatedrnn.optim import Adam
from gatedrnn.optim.schedules import CosineDecay
from gatedrnn.train.trainer import Trainer


def model_forecast(model, scaler: SeriesScaler, history: numpy.ndarray, h: int, window: int, stream=None) -> numpy.ndarray:
    """Read the last ``window`` steps of ``history`` from the zero state, then forecast ``h`` steps recursively."""
    stream = stream or Stream(model)
    stream.reset()
    rows = scaler.inputs(history[-(window + 1):])
    for r in rows:
        y = stream.step(r)
    last = float(history[-1])
    out = numpy.empty(h)
    row = numpy.empty(2, dtype=numpy.float64)
    for k in range(h):
        nxt = float(scaler.next_value(last, float(y[0])))
        out[k] = nxt
        if k + 1 < h:
            row[0] = (nxt - scaler.mean) / scaler.std
            row[1] = (nxt - last - scaler.dmean) / scaler.dstd
            y = stream.step(row)
        last = nxt
    return out


def _few_lines(echo, epochs: int):
    """The trainer prints a line per epoch: pass on four of them."""
    shown = {"n": 0}
    every = max(1, epochs // 4)

    def quiet(line):
        shown["n"] += 1
        if shown["n"] % every == 0 or shown["n"] == epochs:
            echo("   " + line)

    return quiet


def train_model(cfg, train: numpy.ndarray, window: int, scaler: SeriesScaler, echo=print):
    """Train the forecaster of ``cfg`` (a ``ForecastConfig``) on every window of the training part; returns
    (model in evaluation mode, final epoch's train loss, number of windows)."""
    X, Y = make_windows(scaler.inputs(train), scaler.targets(train), window)
    N = len(X)
    model = SequenceRegressor(2, cfg.hidden_size, 1, cfg.num_layers, cell=cfg.cell, seed=cfg.seed)
    opt = Adam(model.params, model.grads, lr=cfg.lr)
    batch = min(cfg.batch_size, N)
    epochs = math.ceil(cfg.max_steps / math.ceil(N / batch))

    def batches(epoch):
        order = numpy.random.default_rng([cfg.seed, epoch]).permutation(N)
        return [(X[order[i:i + batch]], Y[order[i:i + batch]]) for i in range(0, N, batch)]

    trainer = Trainer(model, MSE(), opt, train_data=batches, clip=cfg.clip,
                      schedule=CosineDecay(opt, total_steps=cfg.max_steps), carry_state=False, epochs=epochs,
                      max_steps=cfg.max_steps, progress=False, plot=False, echo=_few_lines(echo, epochs))
    trainer.fit()
    model.eval()
    loss = trainer.history[-1]["train_loss"] if trainer.history else None
    return model, loss, N
