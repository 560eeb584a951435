"""The language-model experiments of docs/experiments.md section 7 ("From LSTM gates to parallel scans"): each a set
of `gatedrnn train` runs (one process each, one BLAS thread), then a table read from their log.jsonl/results.json.

    export GATEDRNN_DATA=../shared/data
    nice python benchmarks/lm_runs.py small-data   # LSTM, GRU, minGRU, minLSTM on 10 %, 30 %, 100 % of PTB's training text
    nice python benchmarks/lm_runs.py shakespeare  # the four cells, Tiny Shakespeare characters, equal wall-clock budget
    nice python benchmarks/lm_runs.py matched      # minGRU x 4 layers, minLSTM x 3 layers: the LSTM's parameter count

A run whose folder already holds results.json is not run again (``--table`` only prints). Folders go under ``--out``
(default runs/lm-experiments).

small-data: the small preset (SGD lr 20, clip 0.25, hidden 100) with the same budget of training tokens for every
fraction: 1,327 steps of 20 x 35 tokens (one pass over the whole training split; ten over 10 % of it), validation
every 133 steps (``--eval-every``). Steps to target: the first validation record below the perplexity; gap: the
validation perplexity over the training perplexity (the mean training loss of the last 133 steps) at the end.

shakespeare: characters, embedding 64, hidden 256, batch 32 x 64, Adam lr 3e-3, clip 1, ``--time-limit`` seconds
of training each (evaluations not counted; ``--time-clock cpu``: the process's CPU time, which with one BLAS thread
is the wall time of a quiet machine and does not shrink when other work shares the cores), validation every 100
steps; the figure is validation loss against training seconds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path

CELLS = ("lstm", "gru", "mingru", "minlstm")
FRACTIONS = (0.1, 0.3, 1.0)
PTB_STEPS, PTB_EVERY, TARGETS = 1327, 133, (400, 300, 250)
SMALL = ["--corpus", "ptb", "--preset", "small", "--epochs", "10", "--max-steps", str(PTB_STEPS),
         "--eval-every", str(PTB_EVERY), "--checkpoint-every", "0"]
CHARS = ["--corpus", "tinyshakespeare", "--preset", "small", "--embed-size", "64", "--hidden-size", "256",
         "--batch-size", "32", "--time-size", "64", "--eval-batch-size", "32", "--optimizer", "adam", "--lr", "0.003",
         "--clip", "1", "--epochs", "100", "--eval-every", "100", "--checkpoint-every", "0", "--time-clock", "cpu"]
MATCHED = {"mingru-4x100": ["--cell", "mingru", "--num-layers", "4"],
           "minlstm-3x100": ["--cell", "minlstm", "--num-layers", "3"]}


def train(out: Path, flags: list) -> None:
    if (out / "results.json").is_file():
        return
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    cmd = [str(Path(sys.executable).parent / "gatedrnn"), "train", *flags, "--out", str(out), "--no-progress", "--overwrite"]
    print("$ gatedrnn", " ".join(cmd[1:]), flush=True)
    with open(out.parent / f"{out.name}.txt", "w") as log:
        subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)


def records(out: Path, event: str = "valid") -> list:
    return [r for r in map(json.loads, open(out / "log.jsonl")) if r.get("event") == event]


def small_data(root: Path, table_only: bool) -> None:
    for frac in FRACTIONS:
        for cell in CELLS:
            if not table_only:
                root.mkdir(parents=True, exist_ok=True)
                train(root / f"{cell}-{frac}", [*SMALL, "--cell", cell, "--train-fraction", str(frac)])
    head = ("| training text | cell | " + " | ".join(f"steps to valid ppl {t}" for t in TARGETS)
            + " | best valid ppl (step) | final valid / train ppl | gap (valid / train) | wall |")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for frac in FRACTIONS:
        for cell in CELLS:
            out = root / f"{cell}-{frac}"
            if not (out / "results.json").is_file():
                continue
            v = records(out)
            reach = [next((r["step"] for r in v if r["val_ppl"] < t), None) for t in TARGETS]
            best = min(v, key=lambda r: r["val_ppl"])
            res = json.loads((out / "results.json").read_text())
            cells = " | ".join("never" if s is None else str(s) for s in reach)
            print(f"| {round(frac * 100)} % | {cell} | {cells} | {best['val_ppl']:.1f} ({best['step']}) | "
                  f"{v[-1]['val_ppl']:.1f} / {v[-1]['train_ppl']:.1f} | {v[-1]['val_ppl'] / v[-1]['train_ppl']:.2f} | "
                  f"{res['wall_seconds_this_process']:.0f} s |")


def shakespeare(root: Path, seconds: float, table_only: bool) -> None:
    for cell in CELLS:
        if not table_only:
            root.mkdir(parents=True, exist_ok=True)
            train(root / f"chars-{cell}", [*CHARS, "--cell", cell, "--time-limit", str(seconds)])
    curves = {}
    print("| cell | parameters | steps in the budget | steps per CPU second | valid loss: best / at the end "
          "(nats/char) | test loss (checkpoint) | wall |")
    print("|---|---|---|---|---|---|---|")
    for cell in CELLS:
        out = root / f"chars-{cell}"
        if not (out / "results.json").is_file():
            continue
        v = records(out)
        res = json.loads((out / "results.json").read_text())
        params = records(out, "start")[0]["params"]
        curves[cell] = [(r["seconds"], r["val_loss"]) for r in v]
        print(f"| {cell} | {params:,} | {res['steps']} | {v[-1]['step'] / v[-1]['seconds']:.1f} | "
              f"{min(r['val_loss'] for r in v):.3f} / {v[-1]['val_loss']:.3f} | {math.log(res['test_ppl']):.3f} | "
              f"{res['wall_seconds_this_process'] / 60:.1f} min |")
    plot(curves, root / "shakespeare_curves.png")


def plot(curves: dict, path: Path) -> None:
    try:
        import matplotlib
    except ImportError:
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for cell, pts in curves.items():
        ax.plot([p[0] for p in pts], [p[1] for p in pts], label=cell)
    ax.set_xlabel("training seconds (CPU time, one BLAS thread)")
    ax.set_ylabel("validation loss (nats per character)")
    ax.set_title("Tiny Shakespeare, equal wall-clock budget")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def matched(root: Path, table_only: bool) -> None:
    for name, flags in MATCHED.items():
        if not table_only:
            root.mkdir(parents=True, exist_ok=True)
            train(root / f"ptb-{name}", ["--corpus", "ptb", "--preset", "small", *flags])
    print("| model | parameters | test ppl | best valid ppl | wall |")
    print("|---|---|---|---|---|")
    for name in MATCHED:
        out = root / f"ptb-{name}"
        if (out / "results.json").is_file():
            res = json.loads((out / "results.json").read_text())
            params = records(out, "start")[0]["params"]
            print(f"| {name} | {params:,} | {res['test_ppl']:.2f} | {res['best_val_ppl']:.2f} | "
                  f"{res['wall_seconds_this_process'] / 60:.1f} min |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("experiment", choices=("small-data", "shakespeare", "matched"))
    ap.add_argument("--out", default="runs/lm-experiments", type=Path)
    ap.add_argument("--seconds", type=float, default=300.0, help="shakespeare: training seconds per cell")
    ap.add_argument("--table", action="store_true", help="only print the table of the runs already there")
    a = ap.parse_args()
    if a.experiment == "small-data":
        small_data(a.out, a.table)
    elif a.experiment == "shakespeare":
        shakespeare(a.out, a.seconds, a.table)
    else:
        matched(a.out, a.table)


if __name__ == "__main__":
    main()
