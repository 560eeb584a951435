"""Issue 27's goal: on each dataset, a compressed FastGRNN within 1 point of MiniRocket with at most 4 KB of
weights, chosen on validation cases only; and the smallest model within 2 points, in bytes.

    OPENBLAS_NUM_THREADS=1 GATEDRNN_DATA=../shared/data nice python benchmarks/kilobyte.py --json runs/kb.json
    ... benchmarks/kilobyte.py --dataset gunpoint --seeds 5 --candidate 32:0:8:0.6:1000

Every candidate (``--candidate HIDDEN:RANK_IH:RANK_HH:DENSITY:MAX_STEPS``, rank 0 = full; a rank that would not
make its matrix smaller is dropped: W of one input dimension stays full) is a FastGRNN ``Classifier`` trained for
its MAX_STEPS (``select=False``: iterative hard thresholding then runs its dense, thresholding and fine-tuning
phases over all of them), with ``--seeds`` seeds. Its validation accuracy, per seed: the splits of
``classify.selection.plan`` (a stratified holdout of 20 %, or ``--folds``-fold cross-validation below 100
training cases), a network trained on each split's training part and scored on its validation part; then the
seed's model is fitted on the whole training set. Its weights are the classify table's count (float32, each
matrix dense or in compressed sparse rows, whichever is smaller; ``train.sparsity.compressed_bytes``), the
largest over the seeds.

The choice: among the candidates whose weights fit ``--budget`` bytes, the highest mean validation accuracy
(averaged over splits and seeds), ties to the
smaller model. The test set is read after every candidate is fitted and is used for nothing but the report: the
chosen candidate's test accuracy (mean ± sample std over seeds) against MiniRocket's in the same run (aeon, one
run per seed) and 1-NN DTW, and, as a reading of the grid rather than a choice, the smallest candidate whose test
mean is within 2 points of MiniRocket's. ``--fixed`` also runs the chosen candidate's compiled Q15 C step
(``benchmarks/fixed_point.py``) on the test set, each seed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from gatedrnn.classify.baselines import available, run_baselines
from gatedrnn.classify.model import Classifier
from gatedrnn.classify.selection import plan
from gatedrnn.data.uea import load_uea

DATASETS = ("japanesevowels", "basicmotions", "gunpoint", "italypowerdemand")
CANDIDATES = ("32:0:0:0.3:500", "32:0:0:0.3:1000", "20:0:0:1:500", "32:6:6:1:500", "32:0:4:1:1000",
              "32:0:8:0.5:1000")
BUDGET = 4096


def ranks_that_shrink(D: int, H: int, rih: int, rhh: int) -> dict:
    """The ranks that make their matrix smaller (r (rows + cols) < rows cols), as Classifier arguments."""
    out = {}
    if rih and rih < min(D, H) and rih * (D + H) < D * H:
        out["rank_ih"] = rih
    if rhh and rhh < H and rhh * 2 * H < H * H:
        out["rank_hh"] = rhh
    return out


def parse(spec: str, D: int) -> dict:
    h, rih, rhh, density, steps = spec.split(":")
    kw = dict(hidden_size=int(h), max_steps=int(steps), **ranks_that_shrink(D, int(h), int(rih), int(rhh)))
    if float(density) < 1:
        kw["density"] = float(density)
    return kw


def validation_accuracy(kw: dict, train, seed: int, folds: int) -> float:
    """Mean accuracy on the validation cases of ``classify.selection.plan``'s splits of the training set (a
    stratified holdout, or ``folds``-fold below 100 cases), each split trained for the candidate's max_steps."""
    targets = np.unique(np.asarray(train.y), return_inverse=True)[1].reshape(-1)
    y = np.asarray(train.y)
    accs = []
    for tr, va in plan(targets, seed, folds)[0]:
        clf = Classifier(cell="fastgrnn", seed=seed, select=False, **kw).fit([train.X[i] for i in tr], y[tr])
        accs.append(clf.score([train.X[i] for i in va], y[va]))
    return float(np.mean(accs))


def fit_candidate(spec: str, train, seeds: int, folds: int) -> dict:
    """Every seed of one candidate: its validation accuracy, then fitted on the whole training set; its bytes."""
    t0 = time.perf_counter()
    kw = parse(spec, train.dimensions)
    fitted, vals = [], []
    for seed in range(seeds):
        vals.append(validation_accuracy(kw, train, seed, folds))
        fitted.append(Classifier(cell="fastgrnn", seed=seed, select=False, **kw).fit(train.X, train.y))
    return {"spec": spec, "options": kw, "fitted": fitted, "val": 100 * float(np.mean(vals)),
            "bytes": max(c.weight_bytes for c in fitted), "seconds": time.perf_counter() - t0}


def choose(rows: list, budget: int) -> dict | None:
    """The candidate within ``budget`` bytes of highest validation accuracy, ties to the smaller (no test here)."""
    fit = [r for r in rows if r["bytes"] <= budget]
    return max(fit, key=lambda r: (r["val"], -r["bytes"])) if fit else None


def ms(v) -> str:
    return f"{statistics.mean(v):.2f} ± {statistics.stdev(v) if len(v) > 1 else 0:.2f}"


def fixed_accuracies(row: dict, test) -> list:
    sys.path.insert(0, str(Path(__file__).parent))
    from fixed_point import fixed_accuracy

    out = []
    for clf in row["fitted"]:
        with tempfile.TemporaryDirectory() as tmp:
            out.append(100 * fixed_accuracy(clf, test, Path(tmp))["acc"])
    return out


def run_dataset(name: str, args) -> dict:
    train, test = load_uea(name)
    print(f"{train.name}: {len(train.X)} training, {len(test.X)} test cases, {train.dimensions} dimensions; "
          f"{args.seeds} seeds", flush=True)
    rows = []
    for spec in args.candidate or CANDIDATES:
        rows.append(fit_candidate(spec, train, args.seeds, args.folds))
        r = rows[-1]
        print(f"   {spec:<18} {r['options']}: validation {r['val']:.2f} %, {r['bytes']:,} B ({r['seconds']:.0f} s)",
              flush=True)
    chosen = choose(rows, args.budget)
    for r in rows:                                     # the test set: read once every candidate is fitted
        r["test"] = [100 * c.score(test.X, test.y) for c in r["fitted"]]
    base = {b["method"]: [100 * a for a in b["accs"]] for b in run_baselines(train, test, list(range(args.seeds)),
                                                                              lambda s: None)} if available() else {}
    rocket = statistics.mean(base["MiniRocket (aeon)"]) if base else None
    out = {"dataset": train.name, "source": name, "baselines": base, "budget": args.budget,
           "candidates": [{k: v for k, v in r.items() if k != "fitted"} for r in rows],
           "chosen": chosen["spec"] if chosen else None}
    if chosen is not None and args.fixed:
        out["chosen_q15"] = fixed_accuracies(chosen, test)
    report(out, rows, chosen, rocket)
    return out


def report(out: dict, rows: list, chosen, rocket) -> None:
    print(f"{'candidate':<18} {'val %':>6} {'test %':>14} {'weights B':>10}")
    for r in rows:
        mark = " <- chosen on validation" if r is chosen else ""
        print(f"{r['spec']:<18} {r['val']:>6.2f} {ms(r['test']):>14} {r['bytes']:>10,}{mark}")
    for method, accs in out["baselines"].items():
        print(f"{method:<18} {'':>6} {ms(accs):>14}")
    if "chosen_q15" in out:
        print(f"chosen, Q15 C step: {ms(out['chosen_q15'])}")
    if rocket is None or chosen is None:
        print("goal: not measured (no aeon)" if rocket is None else f"goal: no candidate within {out['budget']:,} B")
        return
    gap = rocket - statistics.mean(chosen["test"])
    out["gap"] = gap
    print(f"goal (within 1 point of MiniRocket {rocket:.2f} at <= {out['budget']:,} B): chosen {chosen['spec']} "
          f"{gap:+.2f} points below, {chosen['bytes']:,} B: {'met' if gap <= 1 else 'missed'}")
    within = [r for r in rows if rocket - statistics.mean(r["test"]) <= 2]
    small = min(within, key=lambda r: r["bytes"]) if within else None
    out["smallest_within_2"] = small["spec"] if small else None
    what = f"{small['spec']} at {small['bytes']:,} B" if small else "none"
    print(f"smallest candidate within 2 points (a reading of the test results): {what}", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", action="append", default=[], help=f"repeatable; default {', '.join(DATASETS)}")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--candidate", action="append", default=[], help="HIDDEN:RANK_IH:RANK_HH:DENSITY:MAX_STEPS")
    ap.add_argument("--budget", type=int, default=BUDGET, help="bytes of float32 weights (CSR where smaller)")
    ap.add_argument("--folds", type=int, default=5, help="validation folds below 100 training cases")
    ap.add_argument("--fixed", action="store_true", help="also the chosen candidate's Q15 C accuracy")
    ap.add_argument("--json", help="write every figure here")
    args = ap.parse_args(argv)
    results = []
    for name in args.dataset or DATASETS:
        results.append(run_dataset(name, args))
        if args.json:                            # after each dataset: a long run cut short keeps what it did
            Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
