"""Tiny Shakespeare characters at an equal CPU budget (issue 22): min-cell blocks against the LSTM and the GRU of
docs/experiments.md section 7. One ``gatedrnn train`` process per run, one BLAS thread, ``--time-limit SECONDS
--time-clock cpu`` (the process's CPU time; validations every 100 steps not counted), then the checkpoint's test loss.

    export GATEDRNN_DATA=../shared/data
    nice -n 10 python benchmarks/block_lm_runs.py --seconds 300 --out runs/blocks     # runs what is missing, prints the table
    nice -n 10 python benchmarks/block_lm_runs.py --seconds 300 --out runs/blocks --table
    nice -n 10 python benchmarks/block_lm_runs.py --seconds 1800 --out runs/blocks1800 --runs ts-lstm,ts-mingru-d128

The LSTM and GRU use benchmarks/lm_runs.py's flags (embedding 64, one layer of 256, Adam lr 3e-3, clip 1, batch
32 x 64); the blocks the same batches with AdamW (lr 3e-3, weight decay 0.1 on the matrices), clip 1, 3 blocks.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from lm_runs import CHARS, records, train

BLOCK = ["--corpus", "tinyshakespeare", "--arch", "block", "--num-layers", "3", "--conv-kernel", "4", "--batch-size",
         "32", "--time-size", "64", "--eval-batch-size", "32", "--optimizer", "adamw", "--lr", "0.003",
         "--weight-decay", "0.1", "--clip", "1", "--epochs", "100", "--eval-every", "100", "--checkpoint-every", "0",
         "--time-clock", "cpu"]
RUNS = {"ts-lstm": [*CHARS, "--cell", "lstm"], "ts-gru": [*CHARS, "--cell", "gru"],
        "ts-mingru-d96": [*BLOCK, "--cell", "mingru", "--hidden-size", "96", "--expansion", "2", "--ff-mult", "4"],
        "ts-mingru-d128": [*BLOCK, "--cell", "mingru", "--hidden-size", "128", "--expansion", "2", "--ff-mult", "4"],
        "ts-minlstm-d128": [*BLOCK, "--cell", "minlstm", "--hidden-size", "128", "--expansion", "2", "--ff-mult", "4"]}
RUNS.update({f"{name}-s{seed}": [*RUNS[name], "--seed", str(seed)] for name in ("ts-lstm", "ts-mingru-d128")
             for seed in (1, 2)})     # seeds 1 and 2 of the two leading models (seed 0: the runs above)


def table(root: Path, names=tuple(RUNS)) -> None:
    print("| run | parameters | steps in the budget | steps per CPU second | valid loss: best / at the end (nats/char) "
          "| test loss (checkpoint) | wall |")
    print("|---|---|---|---|---|---|---|")
    curves = {}
    for name in names:
        out = root / name
        if not (out / "results.json").is_file():
            print(f"| {name} | not finished | | | | | |")
            continue
        v, res = records(out), json.loads((out / "results.json").read_text())
        curves[name.removeprefix("ts-")] = [(r["seconds"], r["val_loss"]) for r in v]
        print(f"| {name.removeprefix('ts-')} | {records(out, 'start')[0]['params']:,} | {res['steps']} | "
              f"{v[-1]['step'] / v[-1]['seconds']:.1f} | {min(r['val_loss'] for r in v):.3f} / {v[-1]['val_loss']:.3f} "
              f"| {math.log(res['test_ppl']):.3f} | {res['wall_seconds_this_process'] / 60:.1f} min |")
    plot(curves, root / "shakespeare_blocks.png")


def plot(curves: dict, path: Path) -> None:
    try:
        import matplotlib
    except ImportError:
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, pts in curves.items():
        ax.plot([p[0] for p in pts], [p[1] for p in pts], label=name if name in ("lstm", "gru") else f"block {name}")
    ax.set_xlabel("training seconds (process CPU time, one BLAS thread)")
    ax.set_ylabel("validation loss (nats per character)")
    ax.set_ylim(1.4, 2.2)
    ax.set_title("Tiny Shakespeare: min-cell blocks, LSTM, GRU")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=300.0)
    ap.add_argument("--out", type=Path, default=Path("runs/blocks"))
    ap.add_argument("--table", action="store_true")
    ap.add_argument("--runs", default=",".join(RUNS), help="comma-separated names among the runs (default: all)")
    a = ap.parse_args()
    names = [n for n in a.runs.split(",") if n]
    unknown = [n for n in names if n not in RUNS]
    if unknown:
        raise SystemExit(f"--runs: expected names among {', '.join(RUNS)}, got {unknown}")
    if not a.table:
        a.out.mkdir(parents=True, exist_ok=True)
        for name in names:
            train(a.out / name, [*RUNS[name], "--time-limit", str(a.seconds)])
    table(a.out, names)


if __name__ == "__main__":
    main()
