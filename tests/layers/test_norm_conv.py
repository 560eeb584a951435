"""The block layers (issue 22): LayerNorm, RMSNorm, the causal depthwise conv, GELU (tanh), SiLU and the residual
feed-forward block. Each against central differences in float64 (< 1e-6) and against PyTorch (< 1e-9 in float64:
outputs, input gradients, parameter gradients); the conv is causal and streams equal to its batch form."""

import numpy as np
import pytest

import gatedrnn as g
from gatedrnn.errors import UserError
from gatedrnn.layers.conv import CausalConv1d
from gatedrnn.layers.feedforward import FeedForward
from gatedrnn.layers.gelu import GELU
from gatedrnn.layers.layernorm import LayerNorm
from gatedrnn.layers.rmsnorm import RMSNorm
from gatedrnn.layers.silu import SiLU

TOL = 1e-6
PARITY = 1e-9


def _randomise(layer, rng):
    for p in layer.params:
        p[...] = rng.standard_normal(p.shape) * 0.7 + (1.0 if p.ndim == 1 and p.shape[0] == 5 else 0.0)
    return layer


def _layers(rng):
    return {"layernorm": _randomise(LayerNorm(5, dtype=np.float64), rng),
            "rmsnorm": _randomise(RMSNorm(5, dtype=np.float64), rng),
            "gelu": GELU(), "silu": SiLU(),
            "feedforward_layer": FeedForward(5, 3, norm="layer", dtype=np.float64, seed=1),
            "feedforward_rms_silu": FeedForward(5, 2, norm="rms", activation="silu", dtype=np.float64, seed=2)}


@pytest.mark.parametrize("name", ["layernorm", "rmsnorm", "gelu", "silu", "feedforward_layer", "feedforward_rms_silu"])
def test_gradcheck(name, rng):
    layer = _layers(rng)[name]
    x = rng.standard_normal((2, 3, 5)) * 2.0
    report = g.gradcheck(layer, x)
    assert "input0" in report and max(report.values()) < TOL, report


@pytest.mark.parametrize("k", [1, 2, 4])
def test_conv_gradcheck_with_buffer(k, rng):
    conv = CausalConv1d(3, k, dtype=np.float64, seed=0)
    x = rng.standard_normal((2, 5, 3))
    report = g.gradcheck(conv, x, buffer=rng.standard_normal((2, k - 1, 3)))
    assert max(report.values()) < TOL, report
    if k > 1:   # the initial buffer's gradient too (gradcheck reads it from dstate under the name state0)
        conv.forward(x, rng.standard_normal((2, k - 1, 3)))
        assert conv.backward(np.ones((2, 5, 3))).shape == (2, 5, 3) and conv.dstate.shape == (2, k - 1, 3)


def test_conv_is_causal(rng):
    """Changing input t changes no output before t."""
    conv = CausalConv1d(4, 4, dtype=np.float64, seed=0)
    x = rng.standard_normal((1, 12, 4))
    y, _ = conv.forward(x)
    for t in range(12):
        x2 = x.copy()
        x2[0, t] += 10.0
        y2, _ = conv.forward(x2)
        assert np.array_equal(y2[0, :t], y[0, :t])
        assert not np.allclose(y2[0, t], y[0, t])


def test_conv_pieces_and_steps_equal_the_whole(rng):
    conv = CausalConv1d(3, 4, dtype=np.float64, seed=0)
    x = rng.standard_normal((2, 9, 3))
    y, buf = conv.forward(x)
    y1, b1 = conv.forward(x[:, :2])            # a piece shorter than k - 1
    y2, b2 = conv.forward(x[:, 2:], b1)
    assert np.abs(np.concatenate([y1, y2], 1) - y).max() < 1e-13 and np.abs(b2 - buf).max() == 0
    ring = conv.zeros(2)
    steps = np.stack([conv.step(x[:, t], ring).copy() for t in range(9)], 1)
    assert np.abs(steps - y).max() < 1e-13 and np.abs(ring - buf).max() == 0


def test_conv_input_checks():
    conv = CausalConv1d(3, 4)
    with pytest.raises(UserError, match="expected"):
        conv.forward(np.zeros((2, 5, 4), np.float32))
    with pytest.raises(UserError, match="buffer"):
        conv.forward(np.zeros((2, 5, 3), np.float32), np.zeros((2, 2, 3), np.float32))


# -- PyTorch parity ---------------------------------------------------------------------------------------------
def _torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed: pip install torch (CI installs it)")


def _compare(ours, ref, x, reference=None):
    """Forward and backward of both with the same upstream gradient; every difference below PARITY."""
    torch = _torch()
    rng = np.random.default_rng(3)
    y = ours.forward(x)
    dy = rng.standard_normal(y.shape)
    dx = ours.backward(dy)
    xt = torch.tensor(x, requires_grad=True)
    yt = (reference or ref)(xt)
    yt.backward(torch.tensor(dy))
    assert np.abs(yt.detach().numpy() - y).max() < PARITY
    assert np.abs(xt.grad.numpy() - dx).max() < PARITY
    refs = dict(ref.named_parameters())
    for name, grad in ours.grad_dict().items():
        assert np.abs(refs[name].grad.numpy() - grad).max() < PARITY, name


def _load(ref, ours):
    torch = _torch()
    with torch.no_grad():
        for name, p in ref.named_parameters():
            p.copy_(torch.tensor(ours.state_dict()[name]))
    return ref


def test_norms_match_torch(rng):
    torch = _torch()
    x = rng.standard_normal((3, 4, 6)) * 3 + 1
    ln = _randomise(LayerNorm(6, dtype=np.float64), rng)
    _compare(ln, _load(torch.nn.LayerNorm(6, eps=1e-5, dtype=torch.float64), ln), x)
    rms = _randomise(RMSNorm(6, dtype=np.float64), rng)
    _compare(rms, _load(torch.nn.RMSNorm(6, eps=1e-6, dtype=torch.float64), rms), x)


def test_activations_match_torch(rng):
    torch = _torch()
    x = rng.standard_normal((4, 7)) * 4
    _compare(GELU(), torch.nn.GELU(approximate="tanh"), x)
    _compare(SiLU(), torch.nn.SiLU(), x)


def test_conv_matches_torch(rng):
    torch = _torch()
    conv = CausalConv1d(5, 4, dtype=np.float64, seed=0)
    ref = _load(torch.nn.Conv1d(5, 5, 4, groups=5, padding=3, dtype=torch.float64), conv)
    T = 7
    x = rng.standard_normal((2, T, 5))
    y, _ = conv.forward(x)
    dy = rng.standard_normal(y.shape)
    dx = conv.backward(dy)
    xt = torch.tensor(x, requires_grad=True)
    yt = ref(xt.transpose(1, 2))[..., :T].transpose(1, 2)     # the last k-1 outputs of padding=k-1 dropped
    yt.backward(torch.tensor(dy))
    assert np.abs(yt.detach().numpy() - y).max() < PARITY and np.abs(xt.grad.numpy() - dx).max() < PARITY
    for name, grad in conv.grad_dict().items():
        assert np.abs(dict(ref.named_parameters())[name].grad.numpy() - grad).max() < PARITY, name


def test_feedforward_matches_torch(rng):
    torch = _torch()
    for norm, act in (("layer", "gelu"), ("rms", "silu")):
        ff = FeedForward(6, 3, norm=norm, activation=act, dtype=np.float64, seed=4)
        _randomise(ff.norm, rng)
        ref = torch.nn.Module()
        ref.norm = (torch.nn.LayerNorm(6, eps=1e-5, dtype=torch.float64) if norm == "layer" else
                    torch.nn.RMSNorm(6, eps=1e-6, dtype=torch.float64))
        ref.fc1 = torch.nn.Linear(6, 18, dtype=torch.float64)
        ref.fc2 = torch.nn.Linear(18, 6, dtype=torch.float64)
        act_fn = torch.nn.GELU(approximate="tanh") if act == "gelu" else torch.nn.SiLU()
        _load(ref, ff)
        _compare(ff, ref, rng.standard_normal((2, 5, 6)),
                 reference=lambda x, ref=ref, act_fn=act_fn: x + ref.fc2(act_fn(ref.fc1(ref.norm(x)))))
