"""Quantisation-aware fine-tuning on a UEA/UCR problem (issue 27, item 2): for each ``quantize`` choice of the
``Classifier`` (none, int8, int8-q15), a FastGRNN's test accuracy as float32 (``Classifier.score``), with int8
weights (``QuantizedStream``: what ``gatedrnn export --c DIR --int8`` computes) and as the compiled Q15 C step
(``gatedrnn export --c DIR --fixed q15``'s code on raw int16 inputs, checked equal to its Python reference), over
seeds, trained as ``benchmarks/fixed_point.py`` trains (500 steps of 32 sequences, ``--no-select``).

    OPENBLAS_NUM_THREADS=1 GATEDRNN_DATA=../shared/data nice python benchmarks/quantize_aware.py \
        --dataset japanesevowels --hidden 16 --density 0.3 --seeds 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixed_point import fixed_accuracy  # noqa: E402

from gatedrnn.classify.model import Classifier  # noqa: E402
from gatedrnn.data.uea import load_uea  # noqa: E402
from gatedrnn.models.quantize import QuantizedStream  # noqa: E402
from gatedrnn.train.quantize_aware import QUANTIZE  # noqa: E402


def int8_accuracy(clf, test) -> float:
    """Test accuracy of the int8-weight model, one sequence at a time."""
    s, hits = QuantizedStream(clf.model), 0
    for x, want in zip(test.X, test.y):
        s.reset()
        hits += clf.classes_[int(np.argmax(s.run(((x - clf.mean_) / clf.std_).astype(np.float32))[-1]))] == want
    return hits / len(test.X)


def measure(train, test, quantize: str, seeds: int, max_steps: int = 500, **settings) -> dict:
    """``{"float32", "int8", "q15"}``: per seed, the test accuracies (%) of one ``quantize`` choice."""
    out: dict = {"float32": [], "int8": [], "q15": []}
    for seed in range(seeds):
        clf = Classifier(cell="fastgrnn", seed=seed, select=False, max_steps=max_steps, quantize=quantize,
                         **settings).fit(train.X, train.y)
        out["float32"].append(100 * clf.score(test.X, test.y))
        out["int8"].append(100 * int8_accuracy(clf, test))
        with tempfile.TemporaryDirectory() as tmp:
            out["q15"].append(100 * fixed_accuracy(clf, test, Path(tmp))["acc"])
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="japanesevowels")
    ap.add_argument("--data-dir")
    ap.add_argument("--hidden", type=int, default=16)
    ap.add_argument("--density", type=float, default=1.0)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--max-steps", type=int, default=500)
    args = ap.parse_args(argv)
    train, test = load_uea(args.dataset, args.data_dir)
    print(f"{test.name}: FastGRNN {args.hidden} units, density {args.density}, {args.max_steps} steps, seeds "
          f"0-{args.seeds - 1}; test accuracy % (mean ± sd)")
    print(f"{'quantize':<10} {'float32':>14} {'int8 weights':>14} {'Q15 C':>14}")

    def ms(v):
        return f"{statistics.mean(v):.2f} ± {statistics.stdev(v) if len(v) > 1 else 0:.2f}"

    for q in QUANTIZE:
        r = measure(train, test, q, args.seeds, args.max_steps, hidden_size=args.hidden, density=args.density)
        print(f"{q:<10} {ms(r['float32']):>14} {ms(r['int8']):>14} {ms(r['q15']):>14}", flush=True)


if __name__ == "__main__":
    main()
