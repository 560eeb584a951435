"""SGD's chunked in-place update: exact, threaded or not, no parameter-sized scratch, float32 kept."""

import tracemalloc

import numpy as np
import pytest

from gatedrnn.optim import SGD
from gatedrnn.optim.sgd import CHUNK


@pytest.mark.parametrize("threads", [1, 2])
def test_update_is_exact_and_allocation_free(threads, rng):
    shapes = [(3 * CHUNK + 17,), (700, 650), (5,)]
    params = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    expect = [p - np.float32(20.0) * g for p, g in zip(params, grads)]
    opt = SGD(params, grads, lr=20.0, threads=threads)
    opt.step()
    for p, e in zip(params, expect):
        assert p.dtype == np.float32
        np.testing.assert_array_equal(p, e)
    tracemalloc.start()
    try:
        opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024, f"SGD.step allocated {peak} bytes"
    assert opt._scratch is None   # the per-parameter scratch of the base class is never made
