"""Choose a classifier's front end on the TRAINING file only (issue 24): for each configuration, the classifier's
own selection (a stratified holdout, or k-fold below 100 cases) with one seed, its mean validation accuracy, the
best steps and the wall time, one JSON line each. The test file is never opened.

    python benchmarks/front_select.py $GATEDRNN_DATA/ucr/OSULeaf 150 \\
        '{"A": {"cell": "gru", "frame": 4, "conv": 32, "conv_kernel": 16, "pooling": "mean", "max_steps": 1000},
          "B": {"cell": "gru", "frame": 4, "conv": 32, "conv_kernel": 8, "conv_layers": 3, "conv_norm": "layer",
                "pooling": "mean", "max_steps": 1000}}'

Arguments: the dataset (a name under GATEDRNN_DATA's uea/ or ucr/, or a path prefix), the seconds each
configuration's selection may take, and the configurations as JSON (name -> Classifier settings).
"""

from __future__ import annotations

import json
import sys
import time

import numpy

from gatedrnn.classify import Classifier
from gatedrnn.classify.inputs import as_sequences, scaling, standardized
from gatedrnn.classify.selection import choose_steps
from gatedrnn.data.uea import locate_uea, read_ts


def main(dataset: str, budget: float, configs: dict) -> None:
    train = read_ts(locate_uea(dataset)[0])
    for name, opts in configs.items():
        t0 = time.perf_counter()
        clf = Classifier(select=True, seed=0, **opts)
        seqs = as_sequences(train.X)
        classes, targets = numpy.unique(numpy.asarray(train.y), return_inverse=True)
        clf.classes_ = classes
        clf.mean_, clf.std_ = scaling(seqs, True)
        seqs = standardized(seqs, clf.mean_, clf.std_, clf.dtype)
        sel = choose_steps(clf, seqs, targets.reshape(-1).astype(numpy.int64), budget)
        print(json.dumps({"name": name, "val_acc": float(numpy.mean(sel["val_accs"])), "val_accs": sel["val_accs"],
                          "steps": sel["steps"], "best_steps": sel["best_steps"], "note": sel["note"],
                          "seconds": round(time.perf_counter() - t0, 1)}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3]))
