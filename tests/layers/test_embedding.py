"""Embedding lookup and its scatter-add backward, against numpy.add.at."""

import numpy as np
import pytest

from gatedrnn.layers import Embedding
from gatedrnn.layers.embedding import scatter_add_rows


@pytest.mark.parametrize("width", [3, 100, 128, 650])      # narrow rows are sorted and reduced, wide ones looped
@pytest.mark.parametrize("n", [0, 1, 9, 700])
def test_scatter_add_rows_matches_add_at(width, n, rng):
    G = rng.standard_normal((50, width))
    ids = rng.integers(0, 50, n)
    ids[: n // 2] = 7                                         # many repeats of one id
    rows = rng.standard_normal((n, width))
    ref = G.copy()
    np.add.at(ref, ids, rows)
    scatter_add_rows(G, ids, rows)
    np.testing.assert_allclose(G, ref, rtol=1e-12, atol=1e-12)


def test_backward_accumulates_and_keeps_float32(rng):
    emb = Embedding(20, 130, seed=0)
    ids = rng.integers(0, 20, (4, 6))
    y = emb.forward(ids)
    assert y.dtype == np.float32 and y.shape == (4, 6, 130)
    np.testing.assert_array_equal(y, emb.W[ids])
    dy = rng.standard_normal(y.shape).astype(np.float32)
    emb.backward(dy)
    emb.backward(dy)
    ref = np.zeros_like(emb.W, dtype=np.float64)
    np.add.at(ref, ids.reshape(-1), 2 * dy.reshape(-1, 130).astype(np.float64))
    assert emb.grads[0].dtype == np.float32
    np.testing.assert_allclose(emb.grads[0], ref, rtol=1e-5, atol=1e-5)
