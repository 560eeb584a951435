"""Training the ES-RNN of a ``Forecaster(model="esrnn")`` through the ``Trainer`` (the one loop).

A batch is ``batch_size`` whole series of one length (the series of a panel are grouped by length; each epoch
shuffles the series within their group, cuts the groups into batches and shuffles the batches, seeded by
``[seed, epoch]``): ``((values (B, T), rows (B,)), values)``. The loss is ``ESRNNLoss`` (the pinball loss at the
forecaster's quantiles plus ``penalty`` times the level's wiggliness); the network trains with Adam at ``lr`` and
the per-series smoothing parameters (``es.*``) at ``es_lr`` in a ``SparseAdam`` of their own (only the series of
the batch step: ``optim/sparse.py``), all under one cosine decay over ``max_steps`` and clipping at ``clip``.

``train_esrnn(f, panel, seed, echo, *, valid, every, patience, limit, clock, score)`` has the signature of
``training.train_network``, so the settings search (``selection.py``) runs it through its hook
(``ESRNNForecaster.network_trainer``): rounds of ``every`` steps, ``EarlyStopping`` on ``score`` with the best weights
put back, ``TimeLimit``. ``fit_members(f, panel, echo)`` trains the forecaster's members: one network per seed
(``n_models``), and with ``snapshots=K`` also the weights at the ends of its last K - 1 epochs before the last
(Smyl's ensemble over the last epochs), each a network of its own.
"""

from __future__ import annotations

import math

import numpy

from gatedrnn.backend import to_numpy, xp
from gatedrnn.forecast.features import Panel
from gatedrnn.models.esrnn import ESRNN
from gatedrnn.models.esrnn_loss import ESRNNLoss
from gatedrnn.optim import param_groups
from gatedrnn.optim.schedules import CosineDecay
from gatedrnn.train.callbacks import Callback, EarlyStopping, TimeLimit
from gatedrnn.train.console import EpochLines
from gatedrnn.train.trainer import Trainer

DTYPE = "float64"      # a stream equals predict to 1e-6 only when the long recursion runs in float64


def by_length(values: list) -> list:
    """[(length, indices)] of the series of ``values`` grouped by length, the longest first."""
    groups: dict = {}
    for i, v in enumerate(values):
        groups.setdefault(len(v), []).append(i)
    return sorted(((n, numpy.array(ix)) for n, ix in groups.items()), key=lambda g: -g[0])


class SeriesBatches:
    """The batches of whole series (module docstring): ``epoch(k)`` -> the ``steps`` batches of round k, drawn
    from one endless sequence of epochs over the series."""

    def __init__(self, values: list, batch_size: int, steps: int, seed: int):
        self.values, self.batch_size, self.steps, self.seed = values, batch_size, steps, seed
        self.groups = by_length(values)
        self.per_epoch = sum(-(-len(ix) // batch_size) for _, ix in self.groups)
        self._round = 0
        self._cache: tuple = (-1, [])

    def _chunks(self, e: int) -> list:
        if self._cache[0] != e:
            rng = numpy.random.default_rng([self.seed, e])
            chunks = []
            for _, ix in self.groups:
                order = ix[rng.permutation(len(ix))]
                chunks += [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
            self._cache = (e, [chunks[j] for j in rng.permutation(len(chunks))])
        return self._cache[1]

    def batch(self, g: int):
        rows = self._chunks(g // self.per_epoch)[g % self.per_epoch]
        Y = xp.asarray(numpy.stack([self.values[r] for r in rows]), dtype=DTYPE)
        return (Y, xp.asarray(rows)), Y

    def epoch(self, k: int) -> "SeriesBatches":
        self._round = k
        return self

    def __len__(self) -> int:
        return self.steps

    def __iter__(self):
        return (self.batch(self._round * self.steps + j) for j in range(self.steps))


def build_network(f, panel: Panel, seed: int) -> ESRNN:
    """The forecaster ``f``'s ES-RNN for ``panel``'s series (seasonal indices initialised from their start)."""
    model = ESRNN(len(panel.values), f.horizon, f.season, f.season2, window=f.window, cell=f.cell,
                  hidden_size=f.hidden_size, dilations=f.dilations, quantiles=f.quantiles, seasonality=f.seasonality,
                  dtype=DTYPE, seed=seed, series_names=list(panel.ids))
    model.scales = f.scales_of(panel.values)
    assert model.es is not None
    for _, ix in by_length(panel.values):
        model.es.initialise(numpy.stack([panel.values[i] for i in ix]), ix)
    return model


class Snapshots(Callback):
    """The weights after each of the steps ``at`` (the ends of the last epochs)."""

    def __init__(self, at):
        self.at, self.taken = set(at), []

    def on_step_end(self, trainer, logs: dict) -> None:
        if trainer.step in self.at:
            self.taken.append([to_numpy(p).copy() for p in trainer.model.params])


def _train(f, panel: Panel, seed: int, echo=None, *, valid=None, every: int = 50, patience: int = 4,
           limit: float | None = None, clock: str = "wall", score=None, snapshots: int = 1):
    model = build_network(f, panel, seed)
    n = len(panel.values)
    assert model.es is not None
    loss = ESRNNLoss(model.quantiles, f.penalty)
    opt = param_groups("adam", model.names, model.params, model.grads, lr=f.lr, rates={"es.": f.es_lr},
                       sparse={"es.": (model.es.take_rows, n)})
    search = score is not None
    data = SeriesBatches(panel.values, f.batch_size, every if search else f.max_steps, seed)
    stop = EarlyStopping(patience=patience, restore_best_weights=True,
                         score=None if score is None else (lambda trainer: score(trainer.model)))
    ends = [f.max_steps - j * data.per_epoch for j in range(1, snapshots)]
    snaps = Snapshots([s for s in ends if s > 0])
    callbacks = [stop] + ([TimeLimit(limit, clock)] if limit else []) if search else [snaps]
    trainer = Trainer(model, loss, opt, train_data=data.epoch, valid_data=[data.batch(0)] if search else valid,
                      clip=f.clip or None, schedule=CosineDecay(opt, total_steps=f.max_steps), carry_state=False,
                      epochs=math.ceil(f.max_steps / every) if search else 1, max_steps=f.max_steps, plot=False,
                      callbacks=callbacks + ([EpochLines(echo)] if echo else []), echo=echo)
    summary = trainer.fit()
    record = {"seed": seed, "train_loss": trainer.history[-1]["train_loss"] if trainer.history else None,
              "steps": summary.get("step")}
    if search:
        record.update(best_step=stop.best_step, val_loss=stop.best if math.isfinite(stop.best) else None,
                      stopped=summary.get("stopped"))
    return model.eval(), record, snaps.taken


def train_esrnn(f, panel: Panel, seed: int, echo=None, **kwargs):
    """(network, record): ``training.train_network``'s contract for the ES-RNN (module docstring)."""
    model, record, _ = _train(f, panel, seed, echo, **kwargs)
    return model, record


def fit_members(f, panel: Panel, echo=None) -> tuple[list, list]:
    """(networks, history) of the forecaster ``f``: per seed its network, then its snapshots (module docstring)."""
    models, history = [], []
    for k in range(f.n_models):
        model, record, taken = _train(f, panel, f.seed + k, echo, snapshots=f.snapshots)
        models.append(model)
        for weights in taken:
            twin = build_network(f, panel, f.seed + k)
            for p, w in zip(twin.params, weights):
                p[...] = xp.asarray(w)
            models.append(twin.eval())
        history.append({**record, "snapshots": len(taken)})
    return models, history
