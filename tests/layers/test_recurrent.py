"""The forward loop's padded copy of W_hh (row lengths a multiple of 4 KiB) changes nothing but speed."""

import numpy as np
import pytest

import gatedrnn as g

# (cell, hidden) whose W_hh row is a multiple of 4 KiB in float64: 4*128, 3*512, 512 values of 8 bytes
PADDED = [(g.LSTM, 128), (g.GRU, 512), (g.RNN, 512)]


@pytest.mark.parametrize("cls,H", PADDED)
def test_padded_loop_weight_matches_the_plain_one(cls, H, rng, monkeypatch):
    x = rng.standard_normal((2, 3, 5))
    ours = cls(5, H, 2, dtype=np.float64, seed=0)
    y, _ = ours.forward(x)
    dy = rng.standard_normal(y.shape)
    dx = ours.backward(dy)
    assert all(layer._Wh_pad is not None for layer in ours.layers)   # the padded path ran
    grads = ours.grad_dict()

    plain = cls(5, H, 2, dtype=np.float64, seed=0)
    for layer in plain.layers:
        monkeypatch.setattr(layer, "_hh_for_loop", lambda layer=layer: layer.Wh)
    y2, _ = plain.forward(x)
    dx2 = plain.backward(dy)
    assert np.abs(y - y2).max() < 1e-12 and np.abs(dx - dx2).max() < 1e-12
    for name, v in plain.grad_dict().items():
        assert np.abs(grads[name] - v).max() < 1e-12, name


def test_the_copy_follows_weight_updates(rng):
    lstm = g.LSTM(3, 128, dtype=np.float64, seed=0)
    x = rng.standard_normal((1, 4, 3))
    y1, _ = lstm.forward(x)
    lstm.layers[0].Wh *= 0.5                       # an optimizer step in place
    y2, _ = lstm.forward(x)
    ref = g.LSTM(3, 128, dtype=np.float64, seed=0)
    ref.layers[0].Wh *= 0.5
    np.testing.assert_allclose(y2, ref.forward(x)[0], atol=1e-12)
    assert np.abs(y1 - y2).max() > 1e-6
