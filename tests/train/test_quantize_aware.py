"""Quantisation-aware fine-tuning (train/quantize_aware.py): the weights end on the int8 grid of
models/quantize.py, the forward of the last steps runs on rounded weights, low-rank factors are refused."""

import numpy as np
import pytest

from gatedrnn.classify import Classifier
from gatedrnn.errors import UserError
from gatedrnn.models import SequenceClassifier
from gatedrnn.models.quantize import dequantize, quantize_columns
from gatedrnn.train.quantize_aware import QuantizationAware, fake_quantize_, quantized_matrices


class QATClassifier(Classifier):
    def _train(self, seqs, targets, steps, valid=None, callbacks=()):
        self.qat = QuantizationAware(steps)
        return super()._train(seqs, targets, steps, valid=valid, callbacks=[self.qat, *callbacks])


def test_fake_quantize_matches_the_post_training_quantiser(rng):
    W = rng.standard_normal((6, 5)).astype(np.float32)
    q, s = quantize_columns(W)
    assert np.array_equal(fake_quantize_(W.copy(), 0), dequantize(q, s))
    assert np.array_equal(fake_quantize_(W.T.copy(), 1), dequantize(q, s).T)


@pytest.mark.parametrize("density", [1.0, 0.4])
def test_weights_end_on_the_int8_grid(rng, density):
    X = [rng.standard_normal((10, 2)) + (0.8 if i % 2 else -0.8) for i in range(30)]
    y = [i % 2 for i in range(30)]
    clf = QATClassifier("fastgrnn", 8, max_steps=12, seed=0, density=density).fit(X, y)
    assert clf.qat.targets == {"rnn.weight_ih_l0": 0, "rnn.weight_hh_l0": 0, "head.weight": 1}
    for name, p in zip(clf.model.names, clf.model.params):
        if name in clf.qat.targets:
            W = p if clf.qat.targets[name] == 0 else p.T
            assert np.array_equal(dequantize(*quantize_columns(W)), W), name
    if density < 1:
        W = dict(zip(clf.model.names, clf.model.params))["rnn.weight_hh_l0"]
        assert np.count_nonzero(W) <= np.ceil(0.4 * W.size)


def test_low_rank_factors_are_refused():
    model = SequenceClassifier(3, num_classes=2, cell="fastgrnn", hidden_size=4, seed=0)
    assert set(quantized_matrices(model)) == {"rnn.weight_ih_l0", "rnn.weight_hh_l0", "head.weight"}
    from gatedrnn.layers import CELLS

    model.rnn = CELLS["fastgrnn"](3, 4, rank_hh=2)
    model.names = [f"rnn.{n}" for n in model.rnn.names]
    model.params = list(model.rnn.params)
    model.grads = list(model.rnn.grads)
    with pytest.raises(UserError, match="expected full weight matrices, got the low-rank factor rnn.weight_hh_1_l0"):
        quantized_matrices(model)
