import tracemalloc

import numpy as np
import pytest

from gatedrnn.optim import OPTIMIZERS, clip_grad_norm, make_optimizer

# a badly conditioned quadratic f(p) = 0.5 * sum(a * (p - c)^2), minimum at c
SETTINGS = {"sgd": dict(lr=0.1), "momentum": dict(lr=0.05, momentum=0.9), "adagrad": dict(lr=0.5),
            "rmsprop": dict(lr=0.01), "adam": dict(lr=0.05), "adamw": dict(lr=0.05, weight_decay=1e-4)}


def _quadratic(dtype=np.float64):
    a = np.array([[1.0, 3.0], [0.5, 8.0]], dtype=dtype)
    c = np.array([[1.0, -2.0], [0.5, 3.0]], dtype=dtype)
    return a, c, np.zeros((2, 2), dtype=dtype), np.zeros((2, 2), dtype=dtype)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_minimises_a_quadratic(name):
    a, c, p, g = _quadratic()
    opt = make_optimizer(name, [p], [g], **SETTINGS[name])
    f0 = 0.5 * float((a * (p - c) ** 2).sum())
    for _ in range(500):
        np.multiply(a, p - c, out=g)
        opt.step()
    f = 0.5 * float((a * (p - c) ** 2).sum())
    assert f < 1e-3 * f0, f"{name}: f {f0:.3g} -> {f:.3g}"


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_updates_in_place_without_allocating(name):
    rng = np.random.default_rng(0)
    params = [rng.standard_normal((256, 256)).astype(np.float32), rng.standard_normal(256).astype(np.float32)]
    grads = [rng.standard_normal(p.shape).astype(np.float32) for p in params]
    ids = [id(p) for p in params]
    opt = make_optimizer(name, params, grads, **SETTINGS[name])
    opt.step()  # first step may make scratch buffers
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for _ in range(5):
            opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [id(p) for p in opt.params] == ids and params[0].dtype == np.float32
    assert peak < params[0].nbytes // 4, f"{name} allocated {peak} bytes in 5 steps"
    del before


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_dict_round_trip_continues_identically(name):
    a, c, p, g = _quadratic()
    opt = make_optimizer(name, [p], [g], **SETTINGS[name])
    for _ in range(3):
        np.multiply(a, p - c, out=g)
        opt.step()
    scalars, arrays = opt.state_dict()
    p2, g2 = p.copy(), g.copy()
    opt2 = make_optimizer(name, [p2], [g2], lr=1.0)
    opt2.load_state_dict(scalars, arrays)
    assert opt2.lr == opt.lr
    for _ in range(3):
        np.multiply(a, p - c, out=g)
        opt.step()
        np.multiply(a, p2 - c, out=g2)
        opt2.step()
    np.testing.assert_array_equal(p, p2)


def test_optimizer_errors():
    p = np.zeros(3)
    with pytest.raises(ValueError, match="optimizer: expected one of"):
        make_optimizer("lbfgs", [p], [p], lr=1.0)
    with pytest.raises(ValueError, match="lr: expected a positive number"):
        make_optimizer("sgd", [p], [p], lr=0.0)
    with pytest.raises(ValueError, match="momentum"):
        make_optimizer("momentum", [p], [p], lr=1.0, momentum=1.5)
    opt = make_optimizer("adam", [p], [p.copy()], lr=1.0)
    scalars, arrays = opt.state_dict()
    with pytest.raises(ValueError, match="expected type RMSprop, got 'Adam'"):
        make_optimizer("rmsprop", [p], [p.copy()], lr=1.0).load_state_dict(scalars, arrays)


def test_clip_returns_norm_and_keeps_direction():
    g1, g2 = np.array([3.0, 0.0]), np.array([[0.0], [4.0]])
    norm = clip_grad_norm([g1, g2], 1.0)
    assert norm == pytest.approx(5.0)
    np.testing.assert_allclose(np.concatenate([g1, g2.ravel()]), [0.6, 0, 0, 0.8], rtol=1e-5)
    assert clip_grad_norm([g1, g2], 10.0) == pytest.approx(1.0, rel=1e-5)  # below the threshold: untouched
    np.testing.assert_allclose(g1, [0.6, 0.0], rtol=1e-5)
    bad = np.array([np.inf, 1.0])
    assert not np.isfinite(clip_grad_norm([bad], 1.0)) and bad[1] == 1.0  # nothing scaled
