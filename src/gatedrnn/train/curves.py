"""Training curves as a PNG: train and validation perplexity (or loss) per epoch, or per logged step for a run stopped
before its first epoch ended. Needs matplotlib."""

from __future__ import annotations

import math
import os

from gatedrnn.atomic import atomic_file


def plot_curves(history: list[dict], path: str | os.PathLike[str], *, perplexity: bool = True,
                steps: list[dict] | None = None) -> bool:
    """Draw ``history`` (the trainer's per-epoch records) into ``path``; returns False when matplotlib is
    missing. Without a finished epoch, draws ``steps`` instead: the trainer's step records (``step``, ``loss``:
    the mean over the last ``log_every`` steps) and its stop record (``train_loss``, ``val_loss``), against the
    step. Uses matplotlib's object API (no pyplot, no global state) and writes atomically."""
    by_epoch = bool(history)
    if not by_epoch:
        history = [{"epoch": r["step"], "train_loss": r.get("loss", r.get("train_loss")), "val_loss": r.get("val_loss")}
                   for r in steps or ()]
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator
    except ImportError:
        return False
    epochs = [h["epoch"] for h in history]

    def metric(v: float) -> float:
        return math.exp(min(v, 700.0)) if perplexity else v

    fig = Figure(figsize=(6, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    train = [(e, metric(h["train_loss"])) for e, h in zip(epochs, history) if h.get("train_loss") is not None]
    if train:
        ax.plot(*zip(*train), "o-", label="train")
    val = [(h["epoch"], metric(h["val_loss"])) for h in history if h.get("val_loss") is not None]
    if val:
        ax.plot(*zip(*val), "s-", label="validation")
    ax.set_xlabel("epoch" if by_epoch else "step")
    ax.set_ylabel("perplexity" if perplexity else "loss")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if perplexity:
        ax.set_yscale("log")
        values = [float(v) for _, v in train + val]
        plain = FuncFormatter(lambda v, _: f"{v:g}")
        ax.yaxis.set_major_formatter(plain)
        if values and max(values) / min(values) < 10:   # within a decade: label the minor ticks too
            ax.yaxis.set_minor_locator(LogLocator(base=10.0, subs=(1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0)))
            ax.yaxis.set_minor_formatter(plain)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_file(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
    return True
