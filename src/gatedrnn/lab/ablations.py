"""Ablations: change one thing, keep the rest, measure.

* ``forget_bias``: the LSTM's forget-gate bias 0.0 vs 1.0 on the adding problem, steps to a test-MSE target
  (Gers, Schmidhuber & Cummins 2000; Jozefowicz, Zaremba & Sutskever 2015).
* ``clipping``: global-norm gradient clipping off vs on at a high learning rate (Pascanu, Mikolov & Bengio
  2013), with ``gatedrnn.train.trainer.Trainer``: without clipping the run ends in the trainer's
  ``TrainingDiverged`` message (loss / gradient norm not finite), which is reported, not raised.
* ``tbptt`` (``gatedrnn.lab.tbptt``): Truncated BPTT window 10 / 35 / 70 on Penn Treebank.

``run_forget_bias`` and ``run_clipping`` are ``gatedrnn ablate forget-bias|clip``: the runs, the table, and the
CSV, JSON and PNG files.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field, fields

import numpy

from gatedrnn.atomic import write_text_atomic
from gatedrnn.config import Config, option
from gatedrnn.errors import check_count, check_int, check_positive
from gatedrnn.lab.options import cells, check_file_stem, check_length, finite_numbers, seed_list
from gatedrnn.lab.tasks import TaskConfig, adding_problem, curve_csv, train
from gatedrnn.layers import MSE
from gatedrnn.models import SequenceRegressor
from gatedrnn.optim import SGD
from gatedrnn.train.callbacks import StepRecorder
from gatedrnn.train.trainer import Trainer, TrainingDiverged


# -- forget-gate bias ------------------------------------------------------------------------------------
@dataclass
class ForgetBiasConfig(TaskConfig):
    """The forget-gate bias ablation: a task config (its ``cell`` and ``forget_bias`` are set per run) plus the
    biases to compare and the seeds to repeat them with."""

    max_steps: int = option(6000, "training steps at most", check=check_int)
    eval_every: int = option(50, "steps between test evaluations", check=check_int)
    target: float = option(0.01, "test error to reach", check=check_positive)
    bias: list[float] = option([0.0, 1.0], "LSTM forget-gate biases to compare", check=finite_numbers)
    seeds: list[int] = option([], "several seeds, each run once per bias (default: the seed)", check=seed_list)

    def runs(self) -> list:
        """``[(bias, seed, TaskConfig)]``: one LSTM run per seed and bias, seeds outermost."""
        base = {f.name: getattr(self, f.name) for f in fields(TaskConfig)}
        return [(float(b), int(s), TaskConfig(**{**base, "cell": "lstm", "forget_bias": float(b), "seed": int(s)}).validate())
                for s in (self.seeds or [self.seed]) for b in self.bias]


def forget_bias(cfg: ForgetBiasConfig, echo=print):
    """Train an LSTM once per forget bias and seed of ``cfg``, each stopping at ``cfg.target``.
    Returns ``[(label, bias, seed, TaskResult)]``."""
    cfg.validate()
    out, several = [], len(cfg.seeds) > 1
    for b, seed, c in cfg.runs():
        echo(f"-- forget bias {b:g}, seed {seed}")
        r = train(c, echo=echo)
        hit = f"reached {r.steps_to_target}" if r.steps_to_target else f"not reached in {c.max_steps} steps"
        echo(f"   forget bias {b:g}, seed {seed}: target {c.target:g} {hit} ({r.seconds:.0f}s)")
        out.append((f"forget bias {b:g}" + (f", seed {seed}" if several else ""), b, seed, r))
    return out


def run_forget_bias(cfg: ForgetBiasConfig, out, name: str | None = None, echo=print):
    """``gatedrnn ablate forget-bias``: the runs, their table, and ``out/name.{csv,json,png}``."""
    cfg.validate()
    name = check_file_stem("--name", name or f"forget_bias_T{cfg.length}")
    echo(f"forget-gate bias ablation: adding problem T={cfg.length}, LSTM {cfg.hidden_size} units, batch "
         f"{cfg.batch_size}, {cfg.optimizer} lr {cfg.lr:g}, clip {cfg.clip or 'off'}, target test MSE {cfg.target:g}, "
         f"at most {cfg.max_steps} steps")
    runs = forget_bias(cfg, echo=echo)
    echo(forget_bias_table(runs))
    pairs = [(label, r) for label, _, _, r in runs]
    echo(f"wrote {write_text_atomic(os.path.join(out, name + '.csv'), curve_csv(pairs))}")
    js = json.dumps({label: r.to_dict() for label, r in pairs}, indent=1) + "\n"
    echo(f"wrote {write_text_atomic(os.path.join(out, name + '.json'), js)}")
    png = plot_forget_bias(runs, os.path.join(out, name + ".png"),
                           f"Forget-gate bias, adding problem T={cfg.length}: LSTM {cfg.hidden_size}, batch "
                           f"{cfg.batch_size}, {cfg.optimizer} lr {cfg.lr:g}, {len(cfg.seeds) or 1} seed(s)", echo=echo)
    if png:
        echo(f"wrote {png}")
    return runs


def forget_bias_table(runs) -> str:
    seeds = sorted({s for _, _, s, _ in runs})
    biases = sorted({b for _, b, _, _ in runs})
    cell = {(b, s): r for _, b, s, r in runs}
    lines = ["seed  " + "  ".join(f"{'bias ' + format(b, 'g') + ': steps to target':>26}" for b in biases)]
    for s in seeds:
        row = []
        for b in biases:
            r = cell[(b, s)]
            row.append(f"{(str(r.steps_to_target) if r.steps_to_target else f'> {r.config.max_steps}'):>26}")
        lines.append(f"{s:4d}  " + "  ".join(row))
    if len(seeds) > 1:
        means = []
        for b in biases:
            hits = [cell[(b, s)].steps_to_target for s in seeds if (b, s) in cell]
            capped = [h or cell[(b, s)].config.max_steps for h, s in zip(hits, seeds)]
            note = f" ({hits.count(None)} at the cap)" if None in hits else ""
            means.append(f"{f'{numpy.mean(capped):.0f}{note}':>26}")
        lines.append("mean  " + "  ".join(means))
        if len(biases) == 2:
            (b0, b1) = biases
            both = [s for s in seeds if (b0, s) in cell and (b1, s) in cell]
            key = {s: [(cell[(b, s)].steps_to_target or cell[(b, s)].config.max_steps + 1) for b in biases] for s in both}
            wins = sum(key[s][1] < key[s][0] for s in both)
            ties = sum(key[s][1] == key[s][0] for s in both)
            lines.append(f"bias {b1:g} reached the target first in {wins} of {len(both)} seeds ({ties} ties)")
    return "\n".join(lines)


def plot_forget_bias(runs, path, title: str, echo=print):
    """Left: test error against step, one colour per bias, one line per seed. Right: steps to the target
    for every seed, the biases side by side and the seeds joined, with the mean. ``None`` without matplotlib."""
    from gatedrnn.lab.plots import new_figure, save_figure

    fig = new_figure((9.0, 3.6), echo)
    if fig is None:
        return None
    ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
    biases = sorted({b for _, b, _, _ in runs})
    seeds = sorted({s for _, _, s, _ in runs})
    cfg = runs[0][3].config
    for _, b, s, r in runs:
        k = biases.index(b)
        ax1.semilogy([c[0] for c in r.curve], [c[2] for c in r.curve], color=f"C{k}", lw=1.0, alpha=0.7,
                     label=f"forget bias {b:g}" if s == seeds[0] else None)
    ax1.axhline(runs[0][3].baseline, color="gray", ls=":", lw=1, label=f"trivial baseline {runs[0][3].baseline:.3g}")
    ax1.axhline(cfg.target, color="k", ls="--", lw=0.8, label=f"target {cfg.target:g}")
    ax1.set_xlabel("training step", fontsize=8)
    ax1.set_ylabel("test MSE (log scale)", fontsize=8)
    ax1.legend(fontsize=7)
    cell = {(b, s): r for _, b, s, r in runs}
    cap = cfg.max_steps
    for s in seeds:
        ys = [(cell[(b, s)].steps_to_target or cap) if (b, s) in cell else numpy.nan for b in biases]
        ax2.plot(range(len(biases)), ys, color="gray", lw=0.6, alpha=0.6, marker="o", ms=3)
    for k, b in enumerate(biases):
        hits = [(cell[(b, s)].steps_to_target or cap) for s in seeds if (b, s) in cell]
        ax2.plot([k], [numpy.mean(hits)], marker="D", ms=8, color=f"C{k}", ls="none",
                 label=f"bias {b:g}: mean {numpy.mean(hits):.0f}")
    ax2.set_xticks(range(len(biases)), [f"bias {b:g}" for b in biases], fontsize=8)
    ax2.set_xlim(-0.5, len(biases) - 0.5)
    ax2.set_ylabel(f"steps to test MSE < {cfg.target:g} (one line per seed)", fontsize=8)
    ax2.legend(fontsize=7)
    for ax in (ax1, ax2):
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


# -- gradient clipping -----------------------------------------------------------------------------------
@dataclass
class ClipConfig(Config):
    """The clipping ablation: the adding problem with plain SGD at a high learning rate, clipping off, then on."""

    cell: str = option("lstm", "recurrent cell", choices=cells)
    length: int = option(50, "adding-problem length T", check=check_length)
    hidden_size: int = option(64, "hidden units", check=check_int)
    batch_size: int = option(32, "sequences per step", check=check_int)
    lr: float = option(0.5, "SGD learning rate (high for this task)", check=check_positive)
    clip: float = option(1.0, "clipping threshold of the clipped run", check=check_positive)
    max_steps: int = option(300, "training steps", check=check_int)
    seed: int = option(0, "seed of the weights and the data", check=check_count)
    test_size: int = option(500, "sequences in the validation set", check=check_int)


@dataclass
class ClipRun:
    clip: float | None
    steps: list = field(default_factory=list)      # optimizer step numbers
    losses: list = field(default_factory=list)     # training loss of each step
    norms: list = field(default_factory=list)      # gradient norm before clipping
    diverged: str | None = None                    # the trainer's message, when it stopped the run
    val_loss: float | None = None
    seconds: float = 0.0

    @property
    def label(self) -> str:
        return f"clip {self.clip:g}" if self.clip else "no clipping"


def _clip_run(cfg: ClipConfig, clip: float | None, batches, valid, echo) -> ClipRun:
    run = ClipRun(clip)
    per_epoch = len(batches(0))
    model = SequenceRegressor(2, cfg.hidden_size, 1, cell=cfg.cell, many_to_one=True, seed=cfg.seed)
    recorder = StepRecorder()
    trainer = Trainer(model, MSE(), SGD(model.params, model.grads, lr=cfg.lr), clip=clip, train_data=batches,
                      valid_data=valid, carry_state=False, epochs=math.ceil(cfg.max_steps / per_epoch),
                      max_steps=cfg.max_steps, callbacks=[recorder])
    echo(f"-- {run.label}: {cfg.cell.upper()} {cfg.hidden_size} units, adding problem T={cfg.length}, SGD lr {cfg.lr:g}, "
         f"up to {cfg.max_steps} steps")
    t0 = time.perf_counter()
    try:
        summary = trainer.fit()
        run.steps, run.losses, run.norms = (list(v) for v in zip(*recorder.trace))
        run.val_loss = summary.get("val_loss")
        echo(f"   finished {trainer.step} steps: validation MSE {run.val_loss:.4f}, largest gradient norm "
             f"{max(run.norms):.3g}")
    except TrainingDiverged as exc:
        run.diverged = str(exc)
        run.steps, run.losses, run.norms = (list(v) for v in zip(*recorder.trace)) if recorder.trace else ([], [], [])
        run.steps.append(exc.step)
        run.losses.append(exc.loss)
        run.norms.append(exc.grad_norm)
        echo(f"   stopped by the trainer: {exc}")
    run.seconds = time.perf_counter() - t0
    return run


def clipping(cfg: ClipConfig, echo=print) -> list[ClipRun]:
    """The adding problem trained by the ``Trainer`` with plain SGD at ``cfg.lr``, clipping off and then at
    ``cfg.clip``; every step's loss and gradient norm (before clipping) is recorded (``StepRecorder``)."""
    cfg.validate()

    def batches(epoch):
        rng = numpy.random.default_rng([cfg.seed, epoch])
        return [adding_problem(cfg.batch_size, cfg.length, rng) for _ in range(50)]

    valid = [adding_problem(cfg.test_size, cfg.length, numpy.random.default_rng([cfg.seed, 10**6]))]
    return [_clip_run(cfg, c, batches, valid, echo) for c in (None, cfg.clip)]


def run_clipping(cfg: ClipConfig, out, name: str = "clipping", echo=print) -> list[ClipRun]:
    """``gatedrnn ablate clip``: both runs, one line each, and ``out/name.{csv,png}``."""
    check_file_stem("--name", name)
    runs = clipping(cfg, echo=echo)
    for r in runs:
        end = f"stopped at step {r.steps[-1]} by the trainer (NaN/Inf)" if r.diverged else \
            f"ran {len(r.steps)} steps, validation MSE {r.val_loss:.4f}"
        echo(f"{r.label:12s}: {end}")
    echo(f"wrote {write_text_atomic(os.path.join(out, name + '.csv'), clipping_csv(runs))}")
    png = plot_clipping(runs, os.path.join(out, name + ".png"),
                        f"SGD lr {cfg.lr:g}, adding problem T={cfg.length}, {cfg.cell.upper()} {cfg.hidden_size}: "
                        f"clipping off vs {cfg.clip:g}", echo=echo)
    if png:
        echo(f"wrote {png}")
    return runs


def clipping_csv(runs) -> str:
    lines = ["run,step,loss,grad_norm"]
    for r in runs:
        lines += [f"{r.label},{s},{lo:.6g},{n:.6g}" for s, lo, n in zip(r.steps, r.losses, r.norms)]
    return "\n".join(lines) + "\n"


def plot_clipping(runs, path, title: str, echo=print):
    from gatedrnn.lab.plots import new_figure, save_figure

    fig = new_figure((8.4, 3.4), echo)
    if fig is None:
        return None
    ax1, ax2 = fig.subplots(1, 2)
    big = numpy.finfo(numpy.float32).max
    for r in runs:
        s = numpy.asarray(r.steps)
        for ax, v in ((ax1, r.losses), (ax2, r.norms)):
            v = numpy.asarray(v, dtype=numpy.float64)
            shown = numpy.where(numpy.isfinite(v), v, numpy.nan)
            line, = ax.semilogy(s, shown, lw=1.2, label=r.label)
            if r.diverged:
                ax.semilogy([s[-1]], [min(numpy.nanmax(shown) if numpy.isfinite(shown).any() else big, big)], "x",
                            color=line.get_color(), ms=9, mew=2, label=f"NaN/Inf stop at step {s[-1]}")
    ax1.set_ylabel("training loss (MSE)", fontsize=8)
    ax2.set_ylabel("gradient norm before clipping", fontsize=8)
    for ax in (ax1, ax2):
        ax.set_xlabel("step", fontsize=8)
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)
