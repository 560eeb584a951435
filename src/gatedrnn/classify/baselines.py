"""The baselines a recurrent classifier is measured against, from aeon (a well-kept time-series library; the
``classify`` extra): 1-nearest-neighbour with dynamic time warping (multivariate DTW, full window) and MiniRocket
(Dempster, Schmidt & Webb 2021: random convolutional features and a ridge classifier).

aeon takes a case as (dimensions, length). 1-NN DTW reads sequences of different lengths as they are; MiniRocket
needs one length, so each sequence is padded to the longest of the train and test sets by repeating its last
value (the time axis only: no label is seen). MiniRocket is random: it runs once per seed, like the models.
"""

from __future__ import annotations

import importlib.util
import time

import numpy

from gatedrnn.errors import require

EXTRA_NOTE = 'baselines skipped: aeon is not installed (pip install -e ".[classify]")'


def available() -> bool:
    return importlib.util.find_spec("aeon") is not None


def _channels_first(seqs):
    return [numpy.ascontiguousarray(s.T) for s in seqs]


def _edge_padded(seqs, length):
    return numpy.stack([numpy.pad(s, ((0, 0), (0, length - s.shape[1])), mode="edge") for s in seqs])


def one_nn_dtw(train_X, train_y, test_X, test_y) -> float:
    """Test accuracy of 1-NN under DTW (aeon's ``KNeighborsTimeSeriesClassifier``)."""
    knn = require("aeon.classification.distance_based", "the 1-NN DTW baseline", "classify")
    tr, te = _channels_first(train_X), _channels_first(test_X)
    if len({s.shape[1] for s in tr + te}) == 1:
        tr, te = numpy.stack(tr), numpy.stack(te)
    clf = knn.KNeighborsTimeSeriesClassifier(n_neighbors=1, distance="dtw", n_jobs=1)
    clf.fit(tr, numpy.asarray(train_y))
    return float(numpy.mean(clf.predict(te) == numpy.asarray(test_y)))


def minirocket(train_X, train_y, test_X, test_y, seed: int) -> float:
    """Test accuracy of aeon's ``MiniRocketClassifier`` (10,000 kernels, ridge regression with CV)."""
    conv = require("aeon.classification.convolution_based", "the MiniRocket baseline", "classify")
    tr, te = _channels_first(train_X), _channels_first(test_X)
    length = max(s.shape[1] for s in tr + te)
    clf = conv.MiniRocketClassifier(random_state=seed, n_jobs=1)
    clf.fit(_edge_padded(tr, length), numpy.asarray(train_y))
    return float(numpy.mean(clf.predict(_edge_padded(te, length)) == numpy.asarray(test_y)))


def run_baselines(train, test, seeds, echo=print) -> list[dict]:
    """Rows ``{"method", "accs", "seconds", "note"}`` of the two baselines on ``train``/``test`` (``TSData``)."""
    rows = []
    t0 = time.perf_counter()
    acc = one_nn_dtw(train.X, train.y, test.X, test.y)
    rows.append({"method": "1-NN DTW (aeon)", "accs": [acc], "seconds": time.perf_counter() - t0,
                 "note": "deterministic"})
    echo(f"   1-NN DTW: {100 * acc:.2f}% ({rows[-1]['seconds']:.1f}s)")
    t0 = time.perf_counter()
    accs = [minirocket(train.X, train.y, test.X, test.y, seed) for seed in seeds]
    rows.append({"method": "MiniRocket (aeon)", "accs": accs, "seconds": time.perf_counter() - t0,
                 "note": "10,000 kernels"})
    echo(f"   MiniRocket: {100 * numpy.mean(accs):.2f}% ({rows[-1]['seconds']:.1f}s)")
    return rows
