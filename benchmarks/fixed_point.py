"""The fixed-point (Q15) C step against the float32 model on a UEA/UCR problem (issue 27): test accuracy of the
float32 model (``Stream``) and of the compiled integer C step (``gatedrnn export --fixed q15``'s code, run through
ctypes on raw int16 inputs; checked equal to its Python reference on every sequence), and the export's sizes.

    OPENBLAS_NUM_THREADS=1 GATEDRNN_DATA=../shared/data nice python benchmarks/fixed_point.py --seeds 5
    ... benchmarks/fixed_point.py --dataset basicmotions --model fastgrnn:32:1 --model fastrnn:32:1

``--model CELL:HIDDEN:DENSITY`` (repeatable; default FastGRNN 32 dense and at density 0.3, FastRNN 32): trained as
in ``benchmarks/fastgrnn_jv.py`` (500 steps of 32 sequences, ``--no-select``, the Classifier's other defaults).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from gatedrnn.classify.model import Classifier
from gatedrnn.data.uea import load_uea
from gatedrnn.deploy.c99 import export_c
from gatedrnn.deploy.c99_fixed import fixed_sources
from gatedrnn.deploy.c99_fixed_run import CFixed, build_fixed, flash_bytes, random_float_inputs
from gatedrnn.deploy.c99_run import CModel, build
from gatedrnn.deploy.fixed_stream import FixedStream, fixed_model


def fixed_accuracy(clf, test, folder: Path) -> dict:
    """Accuracy of the compiled fixed-point step on ``test`` (raw inputs, int16), its sizes and saturations."""
    fm = fixed_model(clf.model, (clf.mean_, clf.std_))
    header, source, info = fixed_sources(fm, prefix="m")
    (folder / "m.h").write_text(header)
    (folder / "m.c").write_text(source)
    c, ref = CFixed(build_fixed(folder, ["m"]), "m", fm), FixedStream(fm)
    hits, saturated = 0, 0
    for x, want in zip(test.X, test.y):
        xq = fm.encode(x)
        c.reset()
        ref.reset()
        ys = c.run(xq)
        assert np.array_equal(ys, ref.run(xq)), "the C step differs from its Python reference"
        saturated += c.saturated
        hits += clf.classes_[int(np.argmax(ys[-1]))] == want
    flash = flash_bytes(folder, "m")
    return {"acc": hits / len(test.X), "saturated": saturated, "flash": flash["bytes"] if flash else None,
            "ram": c.state_bytes, "macs": info["macs"], "us": _us_per_step(clf, fm, c, folder)}


def _us_per_step(clf, fm, c, folder: Path, steps: int = 20_000) -> tuple[float, float]:
    """(µs per step of the fixed-point C step, of the float32 C step), best of 3 runs of ``steps`` steps each."""
    raw = random_float_inputs(fm, steps, (clf.mean_, clf.std_))
    export_c(clf.model, folder, prefix="f", standardize=(clf.mean_, clf.std_))
    f = CModel(build(folder, ["f"], name="libfloat.so"), folder, "f")
    out = []
    for run, xs in ((c.run, fm.encode(raw)), (f.run, raw.astype(np.float32))):
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            run(xs)
            best = min(best, time.perf_counter() - t0)
        out.append(1e6 * best / steps)
    return out[0], out[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="japanesevowels")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--model", action="append", default=[], help="CELL:HIDDEN:DENSITY")
    args = ap.parse_args()
    specs = args.model or ["fastgrnn:32:1", "fastgrnn:32:0.3", "fastrnn:32:1"]
    train, test = load_uea(args.dataset)
    print(f"{args.dataset}: {len(train.X)} training, {len(test.X)} test cases; {args.seeds} seeds")
    print(f"{'model':<18} {'float32 acc %':>15} {'Q15 C acc %':>15} {'change':>7} {'flash B':>8} {'RAM B':>6} "
          f"{'MACs':>6} {'clamped':>7} {'us/step Q15 / float C':>22}")
    for spec in specs:
        cell, hidden, density = spec.split(":")
        f32, q15, rows = [], [], []
        for seed in range(args.seeds):
            kw = dict(density=float(density)) if float(density) < 1 else {}
            clf = Classifier(cell=cell, hidden_size=int(hidden), seed=seed, select=False, **kw).fit(train.X, train.y)
            f32.append(100 * clf.score(test.X, test.y))
            with tempfile.TemporaryDirectory() as tmp:
                r = fixed_accuracy(clf, test, Path(tmp))
            q15.append(100 * r["acc"])
            rows.append(r)

        def ms(v):
            return f"{statistics.mean(v):.2f} ± {statistics.stdev(v) if len(v) > 1 else 0:.2f}"

        change = statistics.mean(q - f for q, f in zip(q15, f32))
        print(f"{spec:<18} {ms(f32):>15} {ms(q15):>15} {change:>+7.2f} {max(r['flash'] or 0 for r in rows):>8,} "
              f"{rows[0]['ram']:>6,} {max(r['macs'] for r in rows):>6,} {sum(r['saturated'] for r in rows):>7} "
              f"{statistics.median(r['us'][0] for r in rows):>10.2f} / {statistics.median(r['us'][1] for r in rows):.2f}",
              flush=True)


if __name__ == "__main__":
    main()
