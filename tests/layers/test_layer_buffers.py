"""The recurrent layers' work arrays kept between calls (RecurrentLayer._scratch) never reach the caller: what a
forward returns stays as it was through later calls; and the narrow-input weight gradient (input size 2 over
many steps, summed by einsum instead of a GEMM) matches PyTorch."""

import numpy as np
import pytest

import gatedrnn as g
from gatedrnn.layers import lstm_fast

torch = pytest.importorskip("torch", reason="PyTorch is not installed: pip install torch (CI installs it)")


@pytest.mark.parametrize("cls", [g.LSTM, g.GRU, g.RNN])
@pytest.mark.parametrize("fast", [False, True])
def test_what_forward_and_backward_return_is_not_reused(cls, fast, rng, monkeypatch):
    monkeypatch.setattr(lstm_fast, "enabled", fast)
    m = cls(3, 130, 2, seed=0)                      # batch 9, hidden 130: the transposed loops (both paths)
    x1, x2 = (rng.standard_normal((9, 5, 3)).astype(np.float32) for _ in range(2))
    y1, s1 = m.forward(x1)
    dx1 = m.backward(np.ones_like(y1))
    kept = [a.copy() for a in (y1, *(s1 if isinstance(s1, tuple) else (s1,)), dx1)]
    y2, _ = m.forward(x2)
    dx2 = m.backward(np.ones_like(y2))
    for before, now in zip(kept, (y1, *(s1 if isinstance(s1, tuple) else (s1,)), dx1)):
        assert np.array_equal(before, now)
    assert not np.array_equal(y1, y2) and not np.array_equal(dx1, dx2)


@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
def test_narrow_input_weight_gradient_matches_torch(cell, rng):
    B, T, D, H = 64, 64, 2, 5                       # T * B = 4096 steps of an input of 2 values: the einsum path
    ours = getattr(g, cell)(D, H, 1, dtype=np.float64, seed=2)
    theirs = getattr(torch.nn, cell)(D, H, 1, batch_first=True).double()
    theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in ours.state_dict().items()})
    x, dy = rng.standard_normal((B, T, D)), rng.standard_normal((B, T, H))
    y, _ = ours.forward(x)
    ours.backward(dy)
    yt, _ = theirs(torch.from_numpy(x))
    yt.backward(torch.from_numpy(dy))
    assert np.abs(y - yt.detach().numpy()).max() < 1e-9
    grads = ours.grad_dict()
    for name, p in theirs.named_parameters():
        assert np.abs(grads[name] - p.grad.numpy()).max() < 1e-9 * max(1.0, float(p.grad.abs().max())), name
