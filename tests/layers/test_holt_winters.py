"""The Holt-Winters layer (layers/holt_winters.py): gradient check in float64 through the whole recursion, exact
parity with a PyTorch autograd reference of the same equations, and the one-line errors of bad values."""

import numpy as np
import pytest

from gatedrnn.errors import UserError
from gatedrnn.gradcheck import gradcheck
from gatedrnn.layers.holt_winters import HoltWinters

FORMS = [("multiplicative", None), ("multiplicative", 6), ("additive", None), ("additive", 6)]


def _series(rng, B, T, form):
    t = np.arange(T)
    y = 10 + 3 * np.sin(2 * np.pi * t / 4)[None] + np.sin(2 * np.pi * t / 6)[None] + rng.uniform(0, 1, (B, T))
    return y if form == "multiplicative" else y - 10.5


def _layer(rng, form, season2, n=5):
    hw = HoltWinters(n, 4, season2, seasonality=form, alpha=0.3, gamma=0.2)
    for p in hw.params:                           # away from the starting values, so every path matters
        p += rng.normal(0, 0.3, p.shape)
    return hw


@pytest.mark.parametrize("form,season2", FORMS)
def test_gradcheck_through_the_recursion(form, season2, rng):
    hw = _layer(rng, form, season2)
    y = _series(rng, 3, 17, form)
    rows = np.array([4, 0, 2])
    errors = gradcheck(hw, y, rows=rows)
    assert max(errors.values()) < 1e-6, errors


def test_rows_share_a_series_and_accumulate(rng):
    hw = _layer(rng, "multiplicative", None)
    y = _series(rng, 2, 9, "multiplicative")
    errors = gradcheck(hw, y, rows=np.array([1, 1]))
    assert max(errors.values()) < 1e-6, errors


def _reference(torch, hw, y, rows, form):
    """The module docstring's equations, step by step, with autograd."""
    T = y.shape[1]
    M = hw.season2
    raw = {n: torch.tensor(p, requires_grad=True) for n, p in zip(hw.names, hw.params)}
    r = torch.tensor(rows)
    a, g = torch.sigmoid(raw["alpha"][r]), torch.sigmoid(raw["gamma"][r])
    mult = form == "multiplicative"
    init = (lambda v: torch.exp(v)) if mult else (lambda v: v)
    strip = (lambda v, p, q: v / (p * q)) if mult else (lambda v, p, q: v - p - q)
    s = list(init(raw["season_init"][r]).T)
    one = torch.full((len(rows),), 1.0 if mult else 0.0, dtype=torch.float64)
    S = list(init(raw["season2_init"][r]).T) if M else None
    g2 = torch.sigmoid(raw["gamma2"][r]) if M else None
    yt = torch.tensor(y)
    lev = []
    for t in range(T):
        St = S[t] if M else one
        w = strip(yt[:, t], s[t], St)
        lev.append(w if t == 0 else a * w + (1 - a) * lev[-1])
        s.append(g * strip(yt[:, t], lev[-1], St) + (1 - g) * s[t])
        if M:
            S.append(g2 * strip(yt[:, t], lev[-1], s[t]) + (1 - g2) * St)
    outs = [torch.stack(lev, 1), torch.stack(s, 1)] + ([torch.stack(S, 1)] if M else [])
    return raw, outs


@pytest.mark.parametrize("form,season2", FORMS)
def test_parity_with_a_pytorch_autograd_reference(form, season2, rng):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: pip install torch (CI installs it)")
    hw = _layer(rng, form, season2)
    y = _series(rng, 4, 30, form)
    rows = np.array([3, 1, 0, 4])
    raw, ref = _reference(torch, hw, y, rows, form)
    outs = [o for o in hw.forward(y, rows) if o is not None]
    weights = [rng.standard_normal(o.shape) for o in outs]
    hw.zero_grad()
    hw.backward(*weights)
    sum((o * torch.tensor(w)).sum() for o, w in zip(ref, weights)).backward()
    for mine, theirs in zip(outs, ref):
        assert np.abs(mine - theirs.detach().numpy()).max() < 1e-9
    for n, gr in zip(hw.names, hw.grads):
        assert np.abs(gr - raw[n].grad.numpy()).max() < 1e-9, n


def test_a_flat_series_is_followed_exactly(rng):
    hw = HoltWinters(1, 4, alpha=0.4, gamma=0.3)
    level, season, _ = hw.forward(np.full((1, 12), 7.0))
    assert np.allclose(level, 7.0) and np.allclose(season, 1.0)


def test_initialise_reads_the_seasonal_pattern():
    y = np.tile([1.0, 2.0, 3.0, 2.0], 6)[None] * 5
    hw = HoltWinters(1, 4)
    hw.initialise(y)
    level, season, _ = hw.forward(y)
    assert np.allclose(season[0, :4], [0.5, 1.0, 1.5, 1.0]) and np.allclose(level, 10.0)


@pytest.mark.parametrize("form", ["multiplicative", "additive"])
def test_initialise_reads_both_seasons(form):
    t = np.arange(48)
    day, week = np.array([0.5, 1.0, 1.5, 1.0])[t % 4], np.array([0.8, 1.2])[(t // 4) % 2]
    y = (10 * day * week if form == "multiplicative" else 10 + 3 * (day - 1) + 2 * (week - 1))[None]
    hw = HoltWinters(1, 4, 8, seasonality=form)
    hw.initialise(y)
    level, _, _ = hw.forward(y)
    assert np.allclose(level, 10.0)


def test_multiplicative_refuses_zeros_naming_the_series():
    hw = HoltWinters(2, 4, series_names=["H1", "H7"])
    y = np.ones((2, 8))
    y[1, 5] = 0.0
    with pytest.raises(UserError, match=r"^series 'H7': expected positive values .*additive.*got 0 at step 5$"):
        hw.forward(y)
    HoltWinters(2, 4, seasonality="additive").forward(y - 3)       # the additive form takes them


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_is_one_line(bad):
    y = np.ones((1, 8))
    y[0, 3] = bad
    with pytest.raises(UserError, match=rf"^series 0: expected finite values, got {bad} at step 3$"):
        HoltWinters(1, 4, seasonality="additive").forward(y)


def test_bad_arguments_are_one_line():
    with pytest.raises(UserError, match="seasonality: expected one of"):
        HoltWinters(1, 4, seasonality="mult")
    with pytest.raises(UserError, match=r"smoothing: expected a number in \(0, 1\), got 1.0"):
        HoltWinters(1, 4, alpha=1.0)
    with pytest.raises(UserError, match=r"rows: expected indices in \[0, 2\)"):
        HoltWinters(2, 4).forward(np.ones((1, 8)), np.array([2]))
    with pytest.raises(UserError, match="expected 2 rows"):
        HoltWinters(2, 4).forward(np.ones((1, 8)))
