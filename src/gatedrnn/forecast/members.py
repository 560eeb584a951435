"""The members of a ``Forecaster``'s ensemble trained as ONE batched network (issue 21, "ensembles at the price of
one"): ``train_members(f, panel, echo) -> (models, history)`` is what ``Forecaster.fit`` runs.

Each member is what ``training.train_network(f, panel, f.seed + k)`` would train: a ``SequenceRegressor`` built
with that seed, its own batches (``training.windows`` with that seed: its own draws of windows, in its own order),
the pinball loss, Adam, the cosine decay over ``max_steps`` and ``clip``. Here the K members run together in one
``Trainer``: ``models/member_regressor.py`` stacks their weights so that every time step of every member is one
stacked GEMM, ``StackedBatches`` stacks the members' batches (K, batch, window, inputs), ``MemberLoss`` gives each
member the gradient of its own loss (the Trainer logs their mean), and ``optim.member_clip.MemberClip`` clips
each member's gradient by its own global norm (the Trainer's clipping is one norm over all parameters, which
would tie the members together; so the Trainer gets ``clip=None`` and the wrapped optimizer clips). Adam is
elementwise and the schedule the same for all, so member k ends with the weights of its sequential run to
floating-point round-off (tests/forecast/test_forecast_members.py). The trained weights are unstacked into K ordinary
``SequenceRegressor``s: predict, save, load, stream and the exports see no difference. Each member's history
record is the one ``train_network`` writes (seed, its own mean training loss, steps).

Batched when the members are LSTMs (the default cell, any number of layers), many-to-one (no covariates) and
there are at least two; otherwise (other cells, covariates, one member) the members are trained one after
another by ``train_network``, as before. ``batched=False`` forces the sequential loop, ``True`` the batched
network when it applies (``benchmarks/ensemble_speed.py`` times both). With ``GATEDRNN_NUM_THREADS=N`` (or
``threads=N``) the batched network runs its members in N groups on N threads (``MemberRegressor``); the default is
one thread, the project's policy for its own threads (``backend.default_threads``). With
``GATEDRNN_NUM_PROCESSES=P`` (or ``processes=P``) above 1 the members are trained instead in P child processes
(``member_processes.py``), each member bit for bit its sequential run; ``batched=True`` keeps the batched network.
The settings search (``selection.py``) is not batched: it trains its candidates one after another before this runs.
"""

from __future__ import annotations

import numpy

from gatedrnn.forecast.features import Panel, Pinball
from gatedrnn.forecast.member_processes import can_fork, default_processes, train_in_processes
from gatedrnn.forecast.training import train_network, windows
from gatedrnn.models import SequenceRegressor
from gatedrnn.models.member_regressor import MemberRegressor
from gatedrnn.optim import Adam
from gatedrnn.optim.member_clip import MemberClip
from gatedrnn.optim.schedules import CosineDecay
from gatedrnn.train.callbacks import Callback
from gatedrnn.train.console import EpochLines
from gatedrnn.train.trainer import Trainer


class StackedBatches:
    """The members' window batches side by side: ``epoch(k)`` starts every member's epoch k; each batch is
    ``(x (K, batch, window, inputs), t (K, batch, targets))``, member k's rows being its own batch."""

    def __init__(self, members: list):
        self.members = members

    def __len__(self) -> int:
        return len(self.members[0])

    def epoch(self, k: int) -> "StackedBatches":
        for m in self.members:
            m.epoch(k)
        return self

    def __iter__(self):
        for batches in zip(*self.members):
            yield numpy.stack([b[0] for b in batches]), numpy.stack([b[1] for b in batches])


class MemberLoss:
    """A loss over K members' outputs (K, batch, ...): member k's loss is ``loss`` on its own rows, and its gradient
    that loss's gradient, as in its own run. ``forward`` returns the members' mean (what the Trainer logs and checks
    for divergence); ``values`` holds each member's loss of the last step."""

    def __init__(self, loss):
        self.loss = loss
        self.values: list = []
        self._grad = None

    def forward(self, y, target) -> float:
        self.values, grads = [], []
        for yk, tk in zip(y, target):
            self.values.append(self.loss.forward(yk, tk))
            grads.append(self.loss.backward())
        self._grad = numpy.stack(grads)
        return float(numpy.mean(self.values))

    def backward(self):
        return self._grad


class MemberLosses(Callback):
    """Each member's mean training loss over the epoch, weighted by targets as the Trainer weights its own."""

    def __init__(self, loss: MemberLoss):
        self.loss = loss
        self.sums: list = []
        self.count = 0

    def on_step_end(self, trainer, logs: dict) -> None:
        n = logs["targets"] // max(len(self.loss.values), 1)     # one member's targets
        if not self.sums:
            self.sums = [0.0] * len(self.loss.values)
        for k, v in enumerate(self.loss.values):
            self.sums[k] += v * n
        self.count += n

    def means(self) -> list:
        return [s / max(self.count, 1) for s in self.sums] if self.count else []


def batched_applies(f) -> bool:
    """Whether the forecaster ``f``'s members can be trained as one batched network (module docstring)."""
    return f.cell == "lstm" and not f.covariates and f.n_models > 1


def train_members(f, panel: Panel, echo=None, *, batched: bool | None = None, threads: int | None = None,
                  processes: int | None = None) -> tuple[list, list]:
    """(models, history) of the forecaster ``f``'s ``n_models`` members, seeds ``f.seed .. f.seed + K - 1``
    (module docstring; ``batched``: None chooses; ``threads``: the batched network's, None its default;
    ``processes``: child processes training the members, None ``GATEDRNN_NUM_PROCESSES``, default 1)."""
    processes = default_processes() if processes is None else processes
    if processes > 1 and f.n_models > 1 and can_fork() and not batched:
        return train_in_processes(f, panel, min(processes, f.n_models), echo)
    use = batched_applies(f) if batched is None else (batched and f.cell == "lstm" and not f.covariates)
    if not use:
        runs = [train_network(f, panel, f.seed + k, echo) for k in range(f.n_models)]
        return [m for m, _ in runs], [r for _, r in runs]
    seeds = [f.seed + k for k in range(f.n_models)]
    models = [SequenceRegressor(f.input_size, f.hidden_size, f.output_horizon * len(f.quantiles), f.num_layers,
                                cell=f.cell, many_to_one=True, seed=s) for s in seeds]
    net = MemberRegressor(models, threads=threads)
    dtype = net.params[0].dtype
    data = StackedBatches([windows(f, panel, s, f.max_steps, dtype) for s in seeds])
    opt = MemberClip(Adam(net.params, net.grads, lr=f.lr), f.clip)
    loss = MemberLoss(Pinball(f.quantiles))
    losses = MemberLosses(loss)
    trainer = Trainer(net, loss, opt, train_data=data.epoch, clip=None,
                      schedule=CosineDecay(opt, total_steps=f.max_steps), carry_state=False, epochs=1,
                      max_steps=f.max_steps, plot=False, callbacks=[losses, *([EpochLines(echo)] if echo else [])],
                      echo=echo)
    summary = trainer.fit()
    means = losses.means()
    history = [{"seed": s, "train_loss": means[k] if trainer.history else None, "steps": summary.get("step")}
               for k, s in enumerate(seeds)]
    return [m.eval() for m in net.unstack()], history
