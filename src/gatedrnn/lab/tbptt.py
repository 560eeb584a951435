"""Truncated BPTT length against memory and perplexity: the same language model trained with windows of
10 / 35 / 70 steps on Penn Treebank, the same number of training tokens (or optimizer steps) for each, measuring
the peak memory of a training step (the ``PeakStepMemory`` callback) and the validation perplexity.
``run_tbptt`` is ``gatedrnn ablate tbptt``.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field

from gatedrnn.atomic import write_text_atomic
from gatedrnn.config import Config, option
from gatedrnn.data.batching import TBPTTBatches
from gatedrnn.errors import check_count, check_int, check_nonnegative, check_optional_int, check_positive
from gatedrnn.lab.options import cells, check_file_stem, positive_ints
from gatedrnn.layers import SoftmaxCrossEntropy
from gatedrnn.models import LanguageModel
from gatedrnn.optim import SGD
from gatedrnn.train.callbacks import PeakStepMemory, StepRecorder
from gatedrnn.train.trainer import Trainer


@dataclass
class TBPTTConfig(Config):
    """The book's small language model (``Rnnlm``: SGD lr 20, clip 0.25), once per TBPTT window length."""

    lengths: list[int] = option([10, 35, 70], "TBPTT window lengths", check=positive_ints)
    tokens: int = option(280_000, "training tokens per run", check=check_int)
    max_steps: int | None = option(None, "instead of --tokens: the same number of optimizer steps for every length",
                                   check=check_optional_int)
    batch_size: int = option(20, "parallel streams of the training split", check=check_int)
    embed_size: int = option(100, "embedding size", check=check_int)
    hidden_size: int = option(100, "hidden units", check=check_int)
    cell: str = option("lstm", "recurrent cell", choices=cells)
    lr: float = option(20.0, "SGD learning rate", check=check_positive)
    clip: float = option(0.25, "global gradient-norm clip, 0 = off", check=check_nonnegative)
    seed: int = option(0, "seed of the weights", check=check_count)
    valid_tokens: int | None = option(None, "use only the first N validation tokens (none: all)",
                                      check=check_optional_int)
    corpus: str = option("ptb", "ptb, tinyshakespeare or a text file")


@dataclass
class TBPTTRun:
    time_size: int
    steps: int
    tokens: int
    peak_bytes: int
    val_ppl: float
    seconds: float
    curve: list = field(default_factory=list)   # (tokens seen, training perplexity) per log window


def _one_length(corpus, cfg: TBPTTConfig, T: int, valid, echo) -> TBPTTRun:
    steps = cfg.max_steps or max(1, cfg.tokens // (cfg.batch_size * T))
    data = TBPTTBatches(corpus.train, cfg.batch_size, T, drop_last=True)
    model = LanguageModel(len(corpus.vocab), cfg.embed_size, cfg.hidden_size, cell=cfg.cell, seed=cfg.seed)
    memory, recorder = PeakStepMemory(steps=1), StepRecorder()
    trainer = Trainer(model, SoftmaxCrossEntropy(), SGD(model.params, model.grads, lr=cfg.lr), clip=cfg.clip,
                      train_data=data, valid_data=valid, max_steps=steps, epochs=max(1, math.ceil(steps / len(data))),
                      callbacks=[memory, recorder])
    echo(f"-- TBPTT {T}: {steps} steps of batch {cfg.batch_size} x {T} ({steps * cfg.batch_size * T:,} tokens)")
    t0 = time.perf_counter()
    summary = trainer.fit()
    secs = time.perf_counter() - t0
    w = max(1, steps // 20)        # training perplexity averaged over windows of w steps
    losses = [lo for _, lo, _ in recorder.trace]
    curve = [((k + w) * cfg.batch_size * T, math.exp(sum(losses[k:k + w]) / w))
             for k in range(0, len(losses) - w + 1, w)]
    val = summary.get("val_loss")
    if val is None:
        val = trainer.evaluate()
    ppl = math.exp(min(val, 700.0))
    peak = memory.peaks[0]
    echo(f"   peak step memory {peak / 2**20:.1f} MiB, validation perplexity {ppl:.1f} ({secs:.0f}s)")
    return TBPTTRun(int(T), steps, steps * cfg.batch_size * T, peak, ppl, secs, curve)


def tbptt(corpus, cfg: TBPTTConfig, echo=print) -> list[TBPTTRun]:
    """Train the same language model on ``cfg.tokens`` training tokens of ``corpus`` (a
    ``gatedrnn.data.corpus.Corpus``) once per TBPTT window length, or for ``cfg.max_steps`` optimizer steps each
    when given (then longer windows see more tokens); measure the first training step's peak memory and the
    validation perplexity (windows of 35, batch 10, state carried)."""
    cfg.validate()
    valid_ids = corpus.valid if cfg.valid_tokens is None else corpus.valid[:cfg.valid_tokens]
    valid = TBPTTBatches(valid_ids, 10, 35)
    return [_one_length(corpus, cfg, T, valid, echo) for T in cfg.lengths]


def run_tbptt(cfg: TBPTTConfig, out, name: str = "tbptt", data_dir=None, echo=print) -> list[TBPTTRun]:
    """``gatedrnn ablate tbptt``: load the corpus, train once per window, print the table, write
    ``out/name.{csv,png}``."""
    from gatedrnn.data.corpus import load_corpus

    cfg.validate()
    check_file_stem("--name", name)
    corpus = load_corpus(cfg.corpus, data_dir=data_dir, progress=False)
    budget = f"{cfg.max_steps} steps per run" if cfg.max_steps else f"{cfg.tokens:,} training tokens per run"
    echo(f"TBPTT ablation on {corpus}: {cfg.cell.upper()} LM (embedding {cfg.embed_size}, hidden {cfg.hidden_size}), "
         f"SGD lr {cfg.lr:g}, clip {cfg.clip:g}, {budget}")
    runs = tbptt(corpus, cfg, echo=echo)
    echo(tbptt_table(runs))
    echo(f"wrote {write_text_atomic(os.path.join(out, name + '.csv'), tbptt_csv(runs))}")
    same = f"same {cfg.max_steps} steps each" if cfg.max_steps else f"same {cfg.tokens:,} training tokens each"
    png = plot_tbptt(runs, os.path.join(out, name + ".png"), f"TBPTT length on {corpus.name}: {same}", echo=echo)
    if png:
        echo(f"wrote {png}")
    return runs


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
