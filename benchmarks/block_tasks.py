"""Selective copying with min-cell blocks (issue 22; docs/experiments.md section 7, "the architecture they were
designed for"): ``BlockRegressor`` (Linear in, ``MinBlockStack``, Linear head) on the lab's ``selective_copy`` data,
trained by the one ``Trainer`` with the lab's ``TaskEvaluation`` (fixed test set of seed + 1, accuracy on the
symbols), AdamW; one process per run, one BLAS thread.

    export OPENBLAS_NUM_THREADS=1
    nice -n 10 python benchmarks/block_tasks.py --cell mingru --layers 1 2 3 --out runs/blocks/sel
    nice -n 10 python benchmarks/block_tasks.py --cell mingru --layers 3 --bare --out runs/blocks/sel   # no blocks
    nice -n 10 python benchmarks/block_tasks.py --table --out runs/blocks/sel       # the table from the results

Each run writes OUT/CELL-LLAYERS.json (the learning curve, final test accuracy, CPU and wall seconds).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy

from gatedrnn.lab.tasks import TaskConfig, TaskEvaluation, one_hot, selective_copy
from gatedrnn.layers import SoftmaxCrossEntropy
from gatedrnn.models import BlockRegressor, SequenceRegressor
from gatedrnn.optim import AdamW, decay_mask
from gatedrnn.train.callbacks import TimeLimit
from gatedrnn.train.trainer import Trainer


class Evaluation(TaskEvaluation):
    """The lab's evaluation, keeping the accuracy of every evaluation too: ``accuracy_curve`` [(step, accuracy)]."""

    def __init__(self, cfg, test, echo):
        super().__init__(cfg, test, echo)
        self.accuracy_curve: list = []

    def _line(self, step, train_loss) -> None:
        self.accuracy_curve.append((step, self.accuracy))
        super()._line(step, train_loss)


def batch(cfg: TaskConfig, n: int, rng):
    ids, t, m = selective_copy(n, cfg.length, cfg.symbols, cfg.alphabet, rng)
    return one_hot(ids, cfg.alphabet + 2), t, m


def run(a, cell: str, layers: int) -> dict:
    cfg = TaskConfig(task="selective", cell=cell, length=a.length, symbols=a.symbols, alphabet=a.alphabet,
                     hidden_size=a.d_model, batch_size=a.batch_size, max_steps=a.steps, lr=a.lr, seed=a.seed,
                     eval_every=a.eval_every, test_size=1000)
    rng = numpy.random.default_rng(cfg.seed)
    test = batch(cfg, cfg.test_size, numpy.random.default_rng(cfg.seed + 1))
    if a.bare:          # the bare stack of the lab's tasks: min layers of d_model units fed into each other
        model = SequenceRegressor(cfg.alphabet + 2, a.d_model, cfg.alphabet, layers, cell=cell, seed=cfg.seed)
    else:
        model = BlockRegressor(cfg.alphabet + 2, a.d_model, cfg.alphabet, layers, cell=cell, expansion=a.expansion,
                               conv_kernel=a.conv_kernel, ff_mult=a.ff_mult, norm=a.norm, seed=cfg.seed)
    opt = AdamW(model.params, model.grads, lr=cfg.lr, weight_decay=a.weight_decay,
                decay=decay_mask(model.names, model.params))
    evaluation = Evaluation(cfg, test, echo=lambda *s: print(*s, flush=True))
    callbacks = [evaluation] + ([TimeLimit(a.time_limit, "cpu")] if a.time_limit else [])
    trainer = Trainer(model, SoftmaxCrossEntropy(), opt,
                      train_data=lambda epoch: (batch(cfg, cfg.batch_size, rng) for _ in range(cfg.max_steps)),
                      clip=1.0, carry_state=False, callbacks=callbacks)
    c0, w0 = time.process_time(), time.perf_counter()
    summary = trainer.fit()
    return {"cell": cell + (" (bare)" if a.bare else ""), "layers": layers, "params": model.num_params(), "steps": trainer.step,
            "test_ce": evaluation.error, "accuracy": evaluation.accuracy, "curve": evaluation.curve,
            "accuracy_curve": evaluation.accuracy_curve,
            "cpu_seconds": time.process_time() - c0, "wall_seconds": time.perf_counter() - w0,
            "train_seconds": summary["train_seconds"], "args": {k: v for k, v in vars(a).items() if k != "out"}}


def table(out: Path) -> None:
    print("| cell | blocks (bare: layers) | parameters | steps | symbols right (test CE) | first eval >= 95 % | CPU s |")
    print("|---|---|---|---|---|---|---|")
    for p in sorted(out.glob("*.json")):
        r = json.loads(p.read_text())
        hit = next((s for s, acc in r["accuracy_curve"] if acc >= 0.95), None)
        print(f"| {r['cell']} | {r['layers']} | {r['params']:,} | {r['steps']} | {100 * r['accuracy']:.1f} % "
              f"({r['test_ce']:.3f}) | {hit if hit is not None else 'never'} | {r['cpu_seconds']:.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cell", nargs="+", default=["mingru"], choices=("mingru", "minlstm"))
    ap.add_argument("--layers", nargs="+", type=int, default=[3])
    ap.add_argument("--length", type=int, default=50)
    ap.add_argument("--symbols", type=int, default=4)
    ap.add_argument("--alphabet", type=int, default=8)
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--expansion", type=float, default=2.0)
    ap.add_argument("--conv-kernel", type=int, default=4)
    ap.add_argument("--ff-mult", type=int, default=4)
    ap.add_argument("--norm", default="layer", choices=("layer", "rms"))
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--time-limit", type=float, default=0.0, help="CPU seconds of training per run, 0 = none")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("runs/blocks/sel"))
    ap.add_argument("--bare", action="store_true", help="a bare stack of min layers (SequenceRegressor) instead")
    ap.add_argument("--table", action="store_true")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    if not a.table:
        for cell in a.cell:
            for layers in a.layers:
                print(f"== {cell}, {layers} block(s)", flush=True)
                r = run(a, cell, layers)
                path = a.out / f"{cell}{'-bare' if a.bare else ''}-L{layers}-s{a.seed}.json"
                path.write_text(json.dumps(r, indent=1, default=lambda v: None if v != v else v))
                print(f"{cell} x{layers}: {100 * r['accuracy']:.1f} % ({r['test_ce']:.3f}) in {r['steps']} steps, "
                      f"{r['cpu_seconds']:.0f} CPU s", flush=True)
    table(a.out)


if __name__ == "__main__":
    main()
