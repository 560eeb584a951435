"""SparseAdam (optim/sparse.py): per-series parameters of series absent from a batch keep their moments and do not
move (dense Adam moved them on stale momentum); with every row present it is Adam bit for bit."""

import numpy as np

from gatedrnn.models.esrnn import ESRNN
from gatedrnn.optim import Adam, param_groups
from gatedrnn.optim.sparse import SparseAdam


def _pair(n=6, seed=0):
    rng = np.random.default_rng(seed)
    p = [rng.normal(size=(n, 3)), rng.normal(size=4)]
    return p, [np.zeros_like(a) for a in p]


def test_absent_rows_do_not_move_and_keep_their_moments():
    params, grads = _pair()
    present = {"rows": np.arange(6)}
    opt = SparseAdam(params, grads, lambda: present["rows"], 6, lr=0.1)
    rng = np.random.default_rng(1)
    for a in grads:
        a[...] = rng.normal(size=a.shape)
    opt.step()                                        # every row: momentum everywhere
    before = params[0].copy()
    m_before = opt.slots["m"][0].copy()
    grads[0][...] = 0.0
    grads[0][[1, 4]] = rng.normal(size=(2, 3))
    present["rows"] = np.array([1, 4])
    opt.step()
    still = [0, 2, 3, 5]
    assert np.array_equal(params[0][still], before[still])          # dense Adam would move them
    assert np.array_equal(opt.slots["m"][0][still], m_before[still])
    assert not np.allclose(params[0][[1, 4]], before[[1, 4]])


def test_dense_adam_moves_absent_rows_which_is_the_bug_fixed():
    params, grads = _pair()
    opt = Adam(params, grads, lr=0.1)
    grads[0][...] = 1.0
    opt.step()
    before = params[0].copy()
    grads[0][...] = 0.0
    opt.step()
    assert not np.allclose(params[0], before)


def test_every_row_present_is_adam_bit_for_bit_and_other_params_dense():
    p1, g1 = _pair(seed=3)
    p2, g2 = _pair(seed=3)
    dense, sparse = Adam(p1, g1, lr=0.05), SparseAdam(p2, g2, lambda: np.arange(6), 6, lr=0.05)
    rng = np.random.default_rng(2)
    for _ in range(5):
        for a, b in zip(g1, g2):
            a[...] = b[...] = rng.normal(size=a.shape)
        dense.step()
        sparse.step()
    for a, b in zip(p1, p2):
        assert np.array_equal(a, b)


def test_param_groups_sparse_for_the_esrnn_smoothing():
    model = ESRNN(4, 2, 3, window=3, hidden_size=4, dilations=((1,),), dtype="float64", seed=0)
    opt = param_groups("adam", model.names, model.params, model.grads, lr=1e-2, rates={"es.": 0.1},
                       sparse={"es.": (model.es.take_rows, 4)})
    assert any(isinstance(o, SparseAdam) for o in opt.groups)
    y = np.exp(np.random.default_rng(0).normal(size=(2, 12)) * 0.1)
    (pred, target, level), _ = model.forward((y, np.array([0, 2])))
    model.zero_grad()
    model.backward((np.ones_like(pred), np.zeros_like(target), np.zeros_like(level)))
    alpha = model.es.alpha_raw.copy()
    opt.step()
    assert np.array_equal(model.es.alpha_raw[[1, 3]], alpha[[1, 3]])
    assert not np.allclose(model.es.alpha_raw[[0, 2]], alpha[[0, 2]])
    assert len(model.es.take_rows()) == 0                  # taken by the step
