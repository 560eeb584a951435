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


# -- int16 activations: the states on the fixed-point step's Q2.13 grid ---------------------------------------------
@pytest.mark.parametrize("cell", ["fastgrnn", "fastrnn"])
def test_state_grid_rounds_every_state_and_saturates(cell, rng):
    from gatedrnn.deploy.fixed_point import H_FRAC
    from gatedrnn.layers import CELLS
    from gatedrnn.layers.fast_base import STATE_FRAC

    assert STATE_FRAC == H_FRAC == 13
    stack = CELLS[cell](3, 5, dtype=np.float64, seed=0)
    x = rng.standard_normal((4, 7, 3))
    free, _ = stack.forward(x)
    stack.layers[0].state_grid = True
    on, _ = stack.forward(x)
    assert np.array_equal(on * 8192, np.rint(on * 8192)) and not np.array_equal(on, free)
    assert np.abs(on - free).max() < 5e-3
    stack.backward(np.ones_like(on))                    # straight-through: the backward runs on the rounded states
    h = np.array([[5.0, -5.0, 0.3]])
    stack.layers[0].on_grid_(h)
    assert h.tolist() == [[32767 / 8192, -4.0, np.rint(0.3 * 8192) / 8192]]


class Spy(QuantizationAware):
    def on_step_end(self, trainer, logs) -> None:
        self.seen = [*getattr(self, "seen", []), trainer.model.rnn.layers[0].state_grid]
        super().on_step_end(trainer, logs)


class Q15Classifier(Classifier):
    def _train(self, seqs, targets, steps, valid=None, callbacks=()):
        self.qat = Spy(steps, activations="q15")
        return super()._train(seqs, targets, steps, valid=valid, callbacks=[self.qat, *callbacks])


def test_q15_activations_over_the_last_steps_then_off(rng):
    X = [rng.standard_normal((10, 2)) + (0.8 if i % 2 else -0.8) for i in range(30)]
    y = [i % 2 for i in range(30)]
    clf = Q15Classifier("fastgrnn", 8, max_steps=12, seed=0, select=False).fit(X, y)
    assert clf.qat.seen == [False] * 8 + [True] * 4
    assert clf.model.rnn.layers[0].state_grid is False            # the float model afterwards
    for name, p in zip(clf.model.names, clf.model.params):
        if name in clf.qat.targets:
            W = p if clf.qat.targets[name] == 0 else p.T
            assert np.array_equal(dequantize(*quantize_columns(W)), W), name
    assert clf.score(X, y) > 0.8


def test_q15_activations_need_an_integer_kernel_and_a_known_choice(rng):
    X = [rng.standard_normal((6, 2)) for _ in range(8)]
    y = [i % 2 for i in range(8)]

    class LSTMQ15(Classifier):
        def _train(self, seqs, targets, steps, valid=None, callbacks=()):
            return super()._train(seqs, targets, steps, valid=valid, callbacks=[QuantizationAware(steps, activations="q15")])

    with pytest.raises(UserError, match=r"^quantisation-aware training activations='q15': expected a cell with an "
                                        r"integer kernel \(fastgrnn, fastrnn\), got lstm$"):
        LSTMQ15("lstm", 4, max_steps=3, seed=0, select=False).fit(X, y)
    with pytest.raises(UserError, match=r"^activations: expected one of 'float', 'q15', got 'q7'$"):
        QuantizationAware(10, activations="q7")
