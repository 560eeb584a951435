"""Ablations: change one thing, keep the rest, measure.

* ``forget_bias``: the LSTM's forget-gate bias 0.0 vs 1.0 on the adding problem, steps to a test-MSE target
  (Gers, Schmidhuber & Cummins 2000; Jozefowicz, Zaremba & Sutskever 2015).
* ``clipping``: global-norm gradient clipping off vs on at a high learning rate (Pascanu, Mikolov & Bengio
  2013), with ``gatedrnn.train.trainer.Trainer``: without clipping the run ends in the trainer's
  ``TrainingDiverged`` message (loss / gradient norm not finite), which is reported, not raised.
* ``tbptt``: Truncated BPTT window 10 / 35 / 70 on Penn Treebank, the same number of training tokens for
  each, against the peak memory of a training step and the validation perplexity.
"""

from __future__ import annotations

import math
import time
import tracemalloc
from dataclasses import dataclass, field, replace

import numpy

from gatedrnn.lab.tasks import TaskConfig, adding_problem, train
from gatedrnn.train.trainer import Trainer, TrainingDiverged


class RecordingTrainer(Trainer):
    """A ``Trainer`` that keeps ``(step, loss, gradient norm before clipping)`` of every step in ``trace``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.trace = []

    def train_step(self, x, t):
        loss, norm = super().train_step(x, t)
        self.trace.append((self.step, loss, norm))
        return loss, norm


# -- forget-gate bias ------------------------------------------------------------------------------------
def forget_bias(base: TaskConfig, biases=(0.0, 1.0), seeds=(0,), echo=print):
    """Train ``base`` (an adding- or copy-task config, LSTM) once per forget bias and seed, stopping at
    ``base.target``. Returns ``[(label, bias, seed, TaskResult)]``."""
    if base.target is None:
        raise ValueError("forget_bias ablation: expected a target test error to count steps to, got None")
    out = []
    for seed in seeds:
        for b in biases:
            cfg = replace(base, cell="lstm", forget_bias=float(b), seed=int(seed))
            echo(f"-- forget bias {b:g}, seed {seed}")
            r = train(cfg, echo=echo)
            hit = f"reached {r.steps_to_target}" if r.steps_to_target else f"not reached in {cfg.steps} steps"
            echo(f"   forget bias {b:g}, seed {seed}: target {cfg.target:g} {hit} ({r.seconds:.0f}s)")
            out.append((f"forget bias {b:g}" + (f", seed {seed}" if len(seeds) > 1 else ""), float(b), int(seed), r))
    return out


def forget_bias_table(runs) -> str:
    seeds = sorted({s for _, _, s, _ in runs})
    biases = sorted({b for _, b, _, _ in runs})
    cell = {(b, s): r for _, b, s, r in runs}
    lines = ["seed  " + "  ".join(f"{'bias ' + format(b, 'g') + ': steps to target':>26}" for b in biases)]
    for s in seeds:
        row = []
        for b in biases:
            r = cell.get((b, s))
            row.append(f"{(str(r.steps_to_target) if r.steps_to_target else f'> {r.config.steps}'):>26}")
        lines.append(f"{s:4d}  " + "  ".join(row))
    if len(seeds) > 1:
        means = []
        for b in biases:
            hits = [cell[(b, s)].steps_to_target for s in seeds if (b, s) in cell]
            capped = [h or cell[(b, s)].config.steps for h, s in zip(hits, seeds)]
            note = f" ({hits.count(None)} at the cap)" if None in hits else ""
            means.append(f"{f'{numpy.mean(capped):.0f}{note}':>26}")
        lines.append("mean  " + "  ".join(means))
        if len(biases) == 2:
            (b0, b1) = biases
            both = [s for s in seeds if (b0, s) in cell and (b1, s) in cell]
            key = {s: [(cell[(b, s)].steps_to_target or cell[(b, s)].config.steps + 1) for b in biases] for s in both}
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
    cap = cfg.steps
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


def clipping(*, cell: str = "lstm", length: int = 50, hidden: int = 64, batch: int = 32, lr: float = 0.5,
             clip: float = 1.0, steps: int = 300, seed: int = 0, test_size: int = 500, echo=print) -> list[ClipRun]:
    """The adding problem trained by the ``Trainer`` with plain SGD at ``lr``, clipping off and then at
    ``clip``; every step's loss and gradient norm (before clipping) is recorded."""
    from gatedrnn.layers import MSE
    from gatedrnn.models import SequenceRegressor
    from gatedrnn.optim import SGD

    if not (clip and clip > 0):
        raise ValueError(f"clipping ablation clip: expected a positive threshold, got {clip!r}")
    per_epoch = 50

    def batches(epoch):
        rng = numpy.random.default_rng([seed, epoch])
        return [adding_problem(batch, length, rng) for _ in range(per_epoch)]

    valid = [adding_problem(test_size, length, numpy.random.default_rng([seed, 10**6]))]
    runs = []
    for c in (None, clip):
        run = ClipRun(c)
        model = SequenceRegressor(2, hidden, 1, cell=cell, many_to_one=True, seed=seed)
        trainer = RecordingTrainer(model, MSE(), SGD(model.params, model.grads, lr=lr), clip=c, train_data=batches,
                            valid_data=valid, carry_state=False, epochs=math.ceil(steps / per_epoch),
                            max_steps=steps, progress=False, echo=lambda *a: None)
        echo(f"-- {run.label}: {cell.upper()} {hidden} units, adding problem T={length}, SGD lr {lr:g}, "
             f"up to {steps} steps")
        t0 = time.perf_counter()
        try:
            summary = trainer.fit()
            run.steps, run.losses, run.norms = (list(v) for v in zip(*trainer.trace))
            run.val_loss = summary.get("val_loss")
            echo(f"   finished {trainer.step} steps: validation MSE {run.val_loss:.4f}, largest gradient norm "
                 f"{max(run.norms):.3g}")
        except TrainingDiverged as exc:
            run.diverged = str(exc)
            run.steps, run.losses, run.norms = (list(v) for v in zip(*trainer.trace)) if trainer.trace else ([], [], [])
            run.steps.append(exc.step)
            run.losses.append(exc.loss)
            run.norms.append(exc.grad_norm)
            echo(f"   stopped by the trainer: {exc}")
        run.seconds = time.perf_counter() - t0
        runs.append(run)
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


# -- Truncated BPTT length -------------------------------------------------------------------------------
@dataclass
class TBPTTRun:
    time_size: int
    steps: int
    tokens: int
    peak_bytes: int
    val_ppl: float
    seconds: float
    curve: list = field(default_factory=list)   # (tokens seen, training perplexity) per log window


def step_peak_memory(model, loss, optimizer, x, t, clip) -> int:
    """Peak bytes allocated (NumPy arrays included, via tracemalloc) by one training step over what was
    allocated before it: activations kept for backward, gradients in flight, temporaries."""
    from gatedrnn.optim import clip_grad_norm

    was = tracemalloc.is_tracing()
    if not was:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        model.zero_grad()
        y, _ = model.forward(x)
        loss.forward(y, t)
        model.backward(loss.backward())
        clip_grad_norm(model.grads, clip)
        optimizer.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not was:
            tracemalloc.stop()
    return peak - base


def tbptt(corpus, lengths=(10, 35, 70), *, tokens: int = 280_000, batch: int = 20, embed: int = 100,
          hidden: int = 100, cell: str = "lstm", lr: float = 20.0, clip: float = 0.25, seed: int = 0,
          valid_tokens: int | None = None, steps: int | None = None, echo=print) -> list[TBPTTRun]:
    """Train the same language model (the book's ``Rnnlm``: SGD lr 20, clip 0.25) on ``tokens`` training tokens
    of ``corpus`` (a ``gatedrnn.data.corpus.Corpus``) once per TBPTT window length, or for ``steps`` optimizer
    steps each when given (then longer windows see more tokens); measure one training step's peak memory and
    the validation perplexity (windows of 35, batch 10, state carried)."""
    if steps is not None and (not isinstance(steps, (int, numpy.integer)) or steps < 1):
        raise ValueError(f"tbptt steps: expected a positive integer or None, got {steps!r}")
    fixed_steps = steps
    from gatedrnn.data.batching import TBPTTBatches
    from gatedrnn.layers import SoftmaxCrossEntropy
    from gatedrnn.models import LanguageModel
    from gatedrnn.optim import SGD

    valid_ids = corpus.valid if valid_tokens is None else corpus.valid[:valid_tokens]
    valid = TBPTTBatches(valid_ids, 10, 35)
    out = []
    for T in lengths:
        if not isinstance(T, (int, numpy.integer)) or T < 1:
            raise ValueError(f"tbptt lengths: expected positive integers, got {T!r}")
        steps = fixed_steps or max(1, tokens // (batch * T))
        data = TBPTTBatches(corpus.train, batch, T, drop_last=True)
        model = LanguageModel(len(corpus.vocab), embed, hidden, cell=cell, seed=seed)
        ce = SoftmaxCrossEntropy()
        opt = SGD(model.params, model.grads, lr=lr)
        x0, t0_ = data[0]
        peak = step_peak_memory(model, ce, opt, x0, t0_, clip)
        # the probe step changed the weights: start the timed run from the same fresh model
        model = LanguageModel(len(corpus.vocab), embed, hidden, cell=cell, seed=seed)
        opt = SGD(model.params, model.grads, lr=lr)
        trainer = RecordingTrainer(model, ce, opt, clip=clip, train_data=data, valid_data=valid, max_steps=steps,
                          epochs=max(1, math.ceil(steps / len(data))), progress=False, echo=lambda *a: None)
        echo(f"-- TBPTT {T}: {steps} steps of batch {batch} x {T} ({steps * batch * T:,} tokens), "
             f"peak step memory {peak / 2**20:.1f} MiB")
        t0 = time.perf_counter()
        summary = trainer.fit()
        secs = time.perf_counter() - t0
        w = max(1, steps // 20)        # training perplexity averaged over windows of w steps
        losses = [lo for _, lo, _ in trainer.trace]
        curve = [((k + w) * batch * T, math.exp(sum(losses[k:k + w]) / w)) for k in range(0, len(losses) - w + 1, w)]
        val = summary.get("val_loss")
        if val is None:
            val = trainer.evaluate()
        ppl = math.exp(min(val, 700.0))
        echo(f"   validation perplexity {ppl:.1f} ({secs:.0f}s)")
        out.append(TBPTTRun(int(T), steps, steps * batch * T, peak, ppl, secs, curve))
    return out


def tbptt_table(runs) -> str:
    lines = [f"{'TBPTT':>5}  {'steps':>6}  {'tokens':>9}  {'peak step memory':>16}  {'valid ppl':>9}  {'time':>6}"]
    for r in runs:
        lines.append(f"{r.time_size:5d}  {r.steps:6d}  {r.tokens:9,d}  {r.peak_bytes / 2**20:12.1f} MiB  "
                     f"{r.val_ppl:9.1f}  {r.seconds:5.0f}s")
    return "\n".join(lines)


def tbptt_csv(runs) -> str:
    lines = ["time_size,steps,tokens,peak_bytes,val_ppl,seconds"]
    lines += [f"{r.time_size},{r.steps},{r.tokens},{r.peak_bytes},{r.val_ppl:.4f},{r.seconds:.2f}" for r in runs]
    return "\n".join(lines) + "\n"


def plot_tbptt(runs, path, title: str, echo=print):
    from gatedrnn.lab.plots import new_figure, save_figure

    fig = new_figure((8.4, 3.4), echo)
    if fig is None:
        return None
    ax1, ax2 = fig.subplots(1, 2)
    for r in runs:
        if r.curve:
            tk, pp = zip(*r.curve)
            ax1.plot(tk, pp, lw=1.2, label=f"TBPTT {r.time_size}")
    ax1.set_yscale("log")
    ax1.set_xlabel("training tokens", fontsize=8)
    ax1.set_ylabel("training perplexity", fontsize=8)
    ax1.legend(fontsize=7)
    xs = [r.peak_bytes / 2**20 for r in runs]
    ax2.plot(xs, [r.val_ppl for r in runs], "o-")
    for r, xv in zip(runs, xs):
        ax2.annotate(f"{r.time_size}", (xv, r.val_ppl), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax2.set_xlabel("peak memory of one training step (MiB)", fontsize=8)
    ax2.set_ylabel("validation perplexity", fontsize=8)
    for ax in (ax1, ax2):
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)
