"""The forward loop's product computed as its transpose, ``W_hh^T h^T`` from a transposed copy (RecurrentLayer.
_transposed_loop: batch >= 8, hidden >= 128, or 64 in the compiled LSTM), against the plain ``h W_hh`` loop and
against PyTorch, for the LSTM (both paths) and the GRU, and in float32 against float64."""

import numpy as np
import pytest

import gatedrnn as g
from gatedrnn.layers import lstm_fast

torch = pytest.importorskip("torch", reason="PyTorch is not installed: pip install torch (CI installs it)")

PAIRS = {"lstm": (g.LSTM, torch.nn.LSTM), "gru": (g.GRU, torch.nn.GRU)}
SHAPES = [(8, 5, 7, 128, 2), (9, 4, 3, 160, 1), (8, 3, 5, 256, 1)]  # B, T, D, H, layers; H=256: 4 KiB rows (float32)


def _run(cls, dtype, x, dy, transposed, monkeypatch):
    B, T, D = x.shape
    H, L = dy.shape[-1], 2 if D == 7 else 1
    m = cls(D, H, L, dtype=dtype, seed=4)
    for layer in m.layers:
        monkeypatch.setattr(layer, "_transposed_loop", lambda B, compiled=False, on=transposed: on)
    y, state = m.forward(x)
    dx = m.backward(dy)
    return [y, *(state if isinstance(state, tuple) else (state,)), dx, *m.grad_dict().values()]


@pytest.mark.parametrize("cell", sorted(PAIRS))
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "B{}T{}D{}H{}L{}".format(*s))
def test_transposed_product_equals_the_plain_one(cell, shape, rng, monkeypatch):
    B, T, D, H, _ = shape
    x, dy = rng.standard_normal((B, T, D)), rng.standard_normal((B, T, H))
    a = _run(PAIRS[cell][0], np.float64, x, dy, True, monkeypatch)
    b = _run(PAIRS[cell][0], np.float64, x, dy, False, monkeypatch)
    for u, v in zip(a, b):
        assert np.abs(u - v).max() < 1e-12
    m = PAIRS[cell][0](D, H, 1, seed=0)
    assert m.layers[0]._transposed_loop(B)            # these shapes take the transposed loop by default
    assert m.layers[0]._transposed_loop(B, compiled=True) and not m.layers[0]._transposed_loop(4, compiled=True)


@pytest.mark.parametrize("cell", sorted(PAIRS))
def test_transposed_loop_matches_torch(cell, rng):
    ours_cls, theirs_cls = PAIRS[cell]
    B, T, D, H = 8, 6, 5, 128
    ours = ours_cls(D, H, 2, dtype=np.float64, seed=1)
    theirs = theirs_cls(D, H, 2, batch_first=True).double()
    theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in ours.state_dict().items()})
    x, dy = rng.standard_normal((B, T, D)), rng.standard_normal((B, T, H))
    y, _ = ours.forward(x)
    dx = ours.backward(dy)
    xt = torch.tensor(x, requires_grad=True)
    yt, _ = theirs(xt)
    yt.backward(torch.from_numpy(dy))
    assert np.abs(y - yt.detach().numpy()).max() < 1e-9
    assert np.abs(dx - xt.grad.numpy()).max() < 1e-9
    grads = ours.grad_dict()
    for name, p in theirs.named_parameters():
        assert np.abs(grads[name] - p.grad.numpy()).max() < 1e-9, name


@pytest.mark.parametrize("cell,fast", [("gru", False), ("lstm", False), ("lstm", True)])   # compiled: the LSTM's
def test_float32_transposed_agrees_with_float64(cell, fast, rng, monkeypatch):
    if fast and lstm_fast.library() is None:
        pytest.skip(f"compiled LSTM path: {lstm_fast.describe()}")
    monkeypatch.setattr(lstm_fast, "enabled", fast)
    B, T, D, H = 16, 6, 20, 128
    x, dy = rng.standard_normal((B, T, D)), rng.standard_normal((B, T, H))
    a = _run(PAIRS[cell][0], np.float32, x.astype(np.float32), dy.astype(np.float32), True, monkeypatch)
    b = _run(PAIRS[cell][0], np.float64, x, dy, False, monkeypatch)
    for u, v in zip(a, b):
        assert u.dtype == np.float32
        assert np.abs(u - v).max() <= 2e-5 * max(1.0, float(np.abs(v).max()))
