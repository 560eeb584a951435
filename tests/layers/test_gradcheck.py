"""Every layer against central differences in float64: relative error < 1e-6."""

import numpy as np
import pytest

import gatedrnn as g
from gatedrnn.layers import MSE, SoftmaxCrossEntropy
from gatedrnn.models import LanguageModel, SequenceRegressor

TOL = 1e-6
CELLS = {"lstm": g.LSTM, "gru": g.GRU, "rnn": g.RNN, "mingru": g.MinGRU, "minlstm": g.MinLSTM}
# (batch, time, input, hidden, layers, initial state given)
SHAPES = [(1, 1, 3, 4, 1, False), (1, 6, 3, 4, 1, True), (3, 1, 2, 5, 2, True), (2, 5, 3, 4, 2, False),
          (2, 4, 3, 3, 3, True)]


def _state(cell, L, B, H, rng):
    if cell == "lstm":
        return rng.standard_normal((L, B, H)), rng.standard_normal((L, B, H))
    return rng.standard_normal((L, B, H))


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "B{}T{}D{}H{}L{}{}".format(*s[:5], "s" if s[5] else ""))
def test_recurrent_gradcheck(cell, shape, rng):
    B, T, D, H, L, with_state = shape
    layer = CELLS[cell](D, H, L, dtype=np.float64, seed=1)
    x = rng.standard_normal((B, T, D))
    kwargs = {"state": _state(cell, L, B, H, rng)} if with_state else {}
    report = g.gradcheck(layer, x, **kwargs)
    assert "input0" in report and (not with_state or "state0" in report)
    assert max(report.values()) < TOL, report


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_gradcheck_final_state_only(cell, rng):
    """Loss on the final state alone (dy = None), the gradient-flow set-up."""
    layer = CELLS[cell](2, 3, 2, dtype=np.float64, seed=2)
    x = rng.standard_normal((2, 4, 2))
    w = rng.standard_normal((2, 2, 3))

    def loss(out):
        h = out[1][0] if cell == "lstm" else out[1]
        dstate = (w, np.zeros_like(w)) if cell == "lstm" else w
        return float((h * w).sum()), dstate

    class FinalState:
        def __init__(self, inner):
            self.inner, self.names, self.params, self.grads = inner, inner.names, inner.params, inner.grads

        def zero_grad(self):
            self.inner.zero_grad()

        def forward(self, x):
            return self.inner.forward(x)

        def backward(self, dstate):
            return self.inner.backward(None, dstate)

    report = g.gradcheck(FinalState(layer), x, loss=loss)
    assert max(report.values()) < TOL, report


def test_linear_gradcheck(rng):
    layer = g.Linear(4, 3, dtype=np.float64, seed=0)
    assert max(g.gradcheck(layer, rng.standard_normal((2, 5, 4))).values()) < TOL


def test_embedding_gradcheck_repeated_ids(rng):
    layer = g.Embedding(7, 3, dtype=np.float64, seed=0)
    ids = np.array([[1, 1, 4], [6, 1, 0]])
    assert max(g.gradcheck(layer, ids).values()) < TOL


@pytest.mark.parametrize("masked", [False, True])
def test_language_model_gradcheck(masked, rng):
    """Embedding -> LSTM x2 -> Linear (tied) -> softmax cross-entropy, with and without a mask."""
    model = LanguageModel(11, 5, 5, 2, tie_weights=True, dtype=np.float64, seed=0)
    ids = rng.integers(0, 11, (2, 4))
    t = rng.integers(0, 11, (2, 4))
    mask = (rng.random((2, 4)) > 0.3).astype(float) if masked else None
    ce = SoftmaxCrossEntropy()

    def loss(out):
        value = ce.forward(out[0], t, mask)
        return value, ce.backward()

    report = g.gradcheck(model, ids, loss=loss)
    assert "embed.weight" in report and "out.weight" not in report  # tied: one array, listed once
    assert max(report.values()) < TOL, report


@pytest.mark.parametrize("cell", ["lstm", "gru", "mingru", "minlstm"])
@pytest.mark.parametrize("many_to_one", [False, True])
def test_regressor_mse_gradcheck(cell, many_to_one, rng):
    model = SequenceRegressor(3, 4, 2, cell=cell, many_to_one=many_to_one, dtype=np.float64, seed=0)
    x = rng.standard_normal((2, 5, 3))
    target = rng.standard_normal((2, 2) if many_to_one else (2, 5, 2))
    mse = MSE()

    def loss(out):
        value = mse.forward(out[0], target)
        return value, mse.backward()

    report = g.gradcheck(model, x, loss=loss)
    assert max(report.values()) < TOL, report


def test_dropout_backward_uses_the_forward_mask(rng):
    d = g.Dropout(0.5, seed=0)
    x = rng.standard_normal((4, 6, 8))
    y = d.forward(x)
    kept = y != 0
    assert 0.3 < kept.mean() < 0.7
    np.testing.assert_allclose(y[kept], 2 * x[kept])
    dy = rng.standard_normal(x.shape)
    np.testing.assert_allclose(d.backward(dy), np.where(kept, 2 * dy, 0))
    assert d.eval().forward(x) is x


def test_variational_dropout_shares_the_mask_over_time(rng):
    d = g.Dropout(0.5, variational=True, seed=0)
    y = d.forward(np.ones((3, 7, 5)))
    assert (y == y[:, :1]).all() and (y == 0).any()


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_float32_stays_float32(cell, rng):
    layer = CELLS[cell](3, 4, 2, seed=0)
    y, state = layer.forward(rng.standard_normal((2, 3, 3)))  # float64 input is cast to the layer's dtype
    assert y.dtype == np.float32 and all(p.dtype == np.float32 for p in layer.params)
    dx = layer.backward(np.ones_like(y))
    assert dx.dtype == np.float32 and all(gr.dtype == np.float32 for gr in layer.grads)


def test_gradients_accumulate(rng):
    layer = g.LSTM(2, 3, dtype=np.float64, seed=0)
    x = rng.standard_normal((1, 2, 2))
    y, _ = layer.forward(x)
    layer.backward(np.ones_like(y))
    once = [gr.copy() for gr in layer.grads]
    layer.forward(x)
    layer.backward(np.ones_like(y))
    for a, b in zip(once, layer.grads):
        np.testing.assert_allclose(2 * a, b)
    layer.zero_grad()
    assert all((gr == 0).all() for gr in layer.grads)


def test_forget_bias_initialisation():
    H = 5
    lstm = g.LSTM(3, H, 2, forget_bias=1.0, seed=0)
    sd = lstm.state_dict()
    for k in range(2):
        total = sd[f"bias_ih_l{k}"] + sd[f"bias_hh_l{k}"]
        np.testing.assert_array_equal(total[H:2 * H], 1.0)
    assert g.LSTM(3, H, forget_bias=0.0, seed=0).state_dict()["bias_ih_l0"][H:2 * H].max() == 0.0


def test_seed_fixes_the_weights():
    a, b = g.GRU(3, 4, seed=7).state_dict(), g.GRU(3, 4, seed=7).state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a)
