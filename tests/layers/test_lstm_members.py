"""The batched ensemble's layers (layers/lstm_members.py, layers/linear_members.py, models/member_regressor.py,
optim/member_clip.py): float64 gradient checks, and member k equal to its own LSTM / SequenceRegressor."""

import numpy as np
import pytest

import gatedrnn as g
from gatedrnn.errors import UserError
from gatedrnn.layers.linear_members import LinearMembers
from gatedrnn.layers.lstm_members import LSTMMembersLayer
from gatedrnn.models import SequenceRegressor
from gatedrnn.models.member_regressor import MemberRegressor, batchable
from gatedrnn.optim import SGD
from gatedrnn.optim.clip import clip_grad_norm
from gatedrnn.optim.member_clip import MemberClip

TOL = 1e-6


def _members_layer(K, D, H, rng):
    return LSTMMembersLayer(rng.uniform(-.5, .5, (K, D, 4 * H)), rng.uniform(-.5, .5, (K, H, 4 * H)),
                            rng.uniform(-.5, .5, (K, 4 * H)), rng.uniform(-.5, .5, (K, 4 * H)))


class _WithState:
    """The layer with its initial state as ``state`` (h0, c0), whose gradient gradcheck reads from ``dstate``."""

    def __init__(self, inner):
        self.inner, self.names, self.params, self.grads = inner, inner.names, inner.params, inner.grads

    def zero_grad(self):
        self.inner.zero_grad()

    def forward(self, x, state):
        return self.inner.forward(x, *state)

    def backward(self, dY, dh, dc):
        dx, dh0, dc0 = self.inner.backward(dY, dh, dc)
        self.dstate = (dh0, dc0)
        return dx


@pytest.mark.parametrize("K,T,B,D,H", [(1, 3, 2, 2, 3), (3, 4, 2, 3, 2), (2, 1, 1, 2, 4)])
def test_stacked_lstm_layer_gradcheck(K, T, B, D, H, rng):
    layer = _members_layer(K, D, H, rng)
    x = rng.standard_normal((K, T, B, D))
    state = (rng.standard_normal((K, B, H)), rng.standard_normal((K, B, H)))
    report = g.gradcheck(_WithState(layer), x, state=state)
    assert {"input0", "state0", "state1", "weight_ih", "weight_hh", "bias_ih", "bias_hh"} <= set(report)
    assert max(report.values()) < TOL, report


def test_linear_members_gradcheck(rng):
    layer = LinearMembers(rng.standard_normal((3, 4, 5)), rng.standard_normal((3, 4)))
    report = g.gradcheck(layer, rng.standard_normal((3, 2, 5)))
    assert max(report.values()) < TOL, report


def _models(K, layers, rng, D=3, H=4, out=5):
    return [SequenceRegressor(D, H, out, layers, many_to_one=True, dtype=np.float64, seed=int(s))
            for s in rng.integers(1000, size=K)]


@pytest.mark.parametrize("layers", [1, 2])
def test_member_regressor_gradcheck(layers, rng):
    net = MemberRegressor(_models(2, layers, rng))
    x = rng.standard_normal((2, 3, 4, 3))
    report = g.gradcheck(net, x, max_checks=12)
    assert max(report.values()) < TOL, report


@pytest.mark.parametrize("layers,threads", [(1, 1), (3, 1), (2, 2), (1, 3)])
def test_member_k_is_its_own_sequence_regressor(layers, threads, rng, monkeypatch):
    """Forward outputs, every weight gradient and the input gradient of member k equal those of models[k] run
    alone on its own batch (float64 round-off), on one thread or with the members split over threads;
    unstack writes the stacked weights back."""
    monkeypatch.setattr(MemberRegressor, "MIN_ITEMS", 1)       # split even this small problem
    models = _models(3, layers, rng)
    net = MemberRegressor(models, threads=threads)
    x = rng.standard_normal((3, 5, 7, 3))
    dy = rng.standard_normal((3, 5, 5))
    net.zero_grad()
    y, _ = net.forward(x)
    dx = net.backward(dy)
    for k, m in enumerate(models):
        m.zero_grad()
        yk, _ = m.forward(x[k])
        dxk = m.backward(dy[k])
        np.testing.assert_allclose(y[k], yk, rtol=0, atol=1e-13)
        np.testing.assert_allclose(dx[k], dxk, rtol=0, atol=1e-13)
        for name, gs, gm in zip(net.names, net.grads, m.grads):
            np.testing.assert_allclose(gs[k], gm, rtol=0, atol=1e-12, err_msg=name)
    assert len(net._groups) == threads
    for p in net.params:
        p += 1.0
    net.unstack()
    for k, m in enumerate(models):
        for ps, pm in zip(net.params, m.params):
            assert np.array_equal(ps[k], pm)


def test_member_regressor_refuses_what_it_cannot_batch(rng):
    gru = [SequenceRegressor(2, 3, 1, cell="gru", many_to_one=True, seed=s) for s in (0, 1)]
    mixed = [SequenceRegressor(2, 3, 1, many_to_one=True, seed=0), SequenceRegressor(2, 4, 1, many_to_one=True, seed=1)]
    seq = [SequenceRegressor(2, 3, 1, seed=s) for s in (0, 1)]
    for models in (gru, mixed, seq, []):
        assert not batchable(models)
        with pytest.raises(UserError, match="MemberRegressor: expected many-to-one LSTM"):
            MemberRegressor(models)
    net = MemberRegressor(_models(2, 1, rng))
    with pytest.raises(UserError, match=r"MemberRegressor input: expected shape \(2, batch, time, input_size\)"):
        net.forward(np.zeros((3, 1, 2, 3)))
    layer = _members_layer(2, 3, 4, rng)
    with pytest.raises(UserError, match="LSTMMembersLayer.backward: expected a forward call first"):
        layer.backward(None, np.zeros((2, 1, 4)))
    with pytest.raises(UserError, match=r"LSTMMembersLayer grads: expected arrays shaped"):
        LSTMMembersLayer(*layer.params, grads=layer.grads[:3])


def test_member_clip_clips_each_member_by_its_own_norm(rng):
    """Each member's gradient is clipped as clip_grad_norm clips it in its own run; a small one is untouched."""
    params = [np.zeros((3, 4, 2)), np.zeros((3, 5))]
    grads = [rng.standard_normal((3, 4, 2)), rng.standard_normal((3, 5))]
    grads[0][1] *= 1e-3
    grads[1][1] *= 1e-3
    want = [[gr[k].copy() for gr in grads] for k in range(3)]
    norms = [clip_grad_norm(w, 1.0) for w in want]
    opt = MemberClip(SGD(params, grads, lr=0.5), 1.0)
    opt.lr = 1.0                                   # a schedule sets the wrapped optimizer's rate
    assert opt.optimizer.lr == 1.0 and opt.t == 0
    opt.step()
    assert opt.norms == pytest.approx(norms, rel=1e-12) and norms[1] < 1.0 < min(norms[0], norms[2])
    for k in range(3):
        for p, w in zip(params, want[k]):
            np.testing.assert_allclose(p[k], -w, rtol=1e-13, atol=0)
    with pytest.raises(UserError, match="MemberClip max_norm: expected a finite number >= 0 or None, got -1"):
        MemberClip(SGD(params, grads, lr=0.5), -1)


@pytest.mark.parametrize("chunk", [8192, 30])
def test_stacked_layer_is_lstm_layer_member_by_member(chunk, rng, monkeypatch):
    """Against LSTMLayer itself (not through the models): outputs, final states and every gradient; backward's
    steps in one range or in ranges of 1 step (CHUNK 30 < K B H)."""
    monkeypatch.setattr(LSTMMembersLayer, "CHUNK", chunk)
    K, T, B, D, H = 2, 6, 3, 2, 4
    stacks = [g.LSTM(D, H, dtype=np.float64, seed=s) for s in range(K)]
    layer = LSTMMembersLayer(*[np.stack([s.params[i] for s in stacks]) for i in range(4)])
    x = rng.standard_normal((K, T, B, D))
    dY = rng.standard_normal((K, T, B, H))
    hs, hT, cT = layer.forward(x)
    dx, dh0, dc0 = layer.backward(dY)
    for k, s in enumerate(stacks):
        one = s.layers[0]
        hk, hTk, cTk = one.forward(np.ascontiguousarray(x[k]), np.zeros((B, H)), np.zeros((B, H)))
        dxk, dhk, dck = one.backward(np.ascontiguousarray(dY[k]), None, None)
        for a, b in ((hs[k], hk), (hT[k], hTk), (cT[k], cTk), (dx[k], dxk), (dh0[k], dhk), (dc0[k], dck)):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-13)
        for gs, gk in zip(layer.grads, one.grads):
            np.testing.assert_allclose(gs[k], gk, rtol=0, atol=1e-12)
