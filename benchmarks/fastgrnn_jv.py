"""FastGRNN dense, sparse (iterative hard thresholding) and sparse + quantisation-aware, against the GRU, on a UEA
problem (issue 27): test accuracy with float32 weights and with int8 weights (``QuantizedStream``, the Python
reference of the int8 C export), and the compressed weight bytes (``train/sparsity.py``: each matrix dense or in
compressed sparse rows, whichever is smaller; float32 values, and int8 values + float32 per-unit scales).

    OPENBLAS_NUM_THREADS=1 GATEDRNN_DATA=../shared/data nice python benchmarks/fastgrnn_jv.py --seeds 5
    ... benchmarks/fastgrnn_jv.py --model fastgrnn:48:0.2 --model fastgrnn:48:0.2:qat    # other models

``--model CELL:HIDDEN:DENSITY[:qat]`` (repeatable) replaces the default four (hidden ``--hidden-size``).

Every model: hidden 32, 500 steps of 32 sequences, no model selection (``--no-select``: the thresholding schedule
runs over the whole of max_steps), the Classifier's other defaults.
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np

from gatedrnn.classify.model import Classifier
from gatedrnn.data.uea import load_uea
from gatedrnn.models.quantize import QuantizedStream
from gatedrnn.train.quantize_aware import QuantizationAware
from gatedrnn.train.sparsity import compressed_bytes


class QATClassifier(Classifier):
    """A Classifier whose training ends with quantisation-aware fine-tuning (the last third of the steps)."""

    def _train(self, seqs, targets, steps, valid=None, callbacks=()):
        return super()._train(seqs, targets, steps, valid=valid, callbacks=[QuantizationAware(steps), *callbacks])


def int8_accuracy(clf, test) -> float:
    s = QuantizedStream(clf.model)
    hits = 0
    for x, want in zip(test.X, test.y):
        s.reset()
        hits += clf.classes_[int(np.argmax(s.run(((x - clf.mean_) / clf.std_).astype(np.float32))[-1]))] == want
    return hits / len(test.X)


def int8_bytes(model) -> int:
    """int8 values (CSR where smaller, 16-bit indices) + a float32 scale per output unit of every matrix + the
    rest float32."""
    total = 0
    for name, p, _ in model.named_params():
        a = np.asarray(p)
        if a.ndim == 2:
            units = a.shape[0] if name.startswith("head.") else a.shape[1]
            total += min(a.size, np.count_nonzero(a) * 3 + (a.shape[0] + 1) * 2) + 4 * units
        else:
            total += 4 * a.size
    return total


VARIANTS = {
    "GRU dense": (Classifier, dict(cell="gru")),
    "FastGRNN dense": (Classifier, dict(cell="fastgrnn")),
    "FastGRNN density 0.3": (Classifier, dict(cell="fastgrnn", density=0.3)),
    "FastGRNN density 0.3 + QAT": (QATClassifier, dict(cell="fastgrnn", density=0.3)),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="japanesevowels")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--hidden-size", type=int, default=32)
    ap.add_argument("--model", action="append", default=[], help="CELL:HIDDEN:DENSITY[:qat]")
    args = ap.parse_args()
    variants = {label: (cls, {"hidden_size": args.hidden_size, **kw}) for label, (cls, kw) in VARIANTS.items()}
    if args.model:
        variants = {}
        for spec in args.model:
            cell, hidden, density, *qat = spec.split(":")
            variants[spec] = (QATClassifier if qat else Classifier,
                              dict(cell=cell, hidden_size=int(hidden), density=float(density)))
    train, test = load_uea(args.dataset)
    print(f"{args.dataset}: {len(train.X)} training, {len(test.X)} test cases; {args.seeds} seeds")
    print(f"{'model':<28} {'float32 acc %':>16} {'int8 acc %':>16} {'f32 bytes':>10} {'int8 bytes':>10}")
    for label, (cls, kw) in variants.items():
        f32, i8, sizes = [], [], []
        for seed in range(args.seeds):
            clf = cls(seed=seed, select=False, **kw).fit(train.X, train.y)   # no model selection (docstring)
            f32.append(100 * clf.score(test.X, test.y))
            i8.append(100 * int8_accuracy(clf, test))
            sizes.append((compressed_bytes(clf.model), int8_bytes(clf.model)))

        def ms(v):
            return f"{statistics.mean(v):.2f} ± {statistics.stdev(v) if len(v) > 1 else 0:.2f}"

        print(f"{label:<28} {ms(f32):>16} {ms(i8):>16} {max(s[0] for s in sizes):>10,} {max(s[1] for s in sizes):>10,}",
              flush=True)


if __name__ == "__main__":
    main()
