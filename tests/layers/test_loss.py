"""SoftmaxCrossEntropy's single-pass softmax against a float64 reference, threaded and not."""

import numpy as np
import pytest

from gatedrnn.layers import SoftmaxCrossEntropy


def _reference(x, t, mask):
    V = x.shape[-1]
    x = x.astype(np.float64).reshape(-1, V)
    t = t.reshape(-1)
    m = np.ones(t.size) if mask is None else mask.reshape(-1).astype(np.float64)
    n = max(m.sum(), 1.0)
    z = x - x.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = -(logp[np.arange(t.size), t] * m).sum() / n
    d = np.exp(logp)
    d[np.arange(t.size), t] -= 1
    return loss, d * m[:, None] / n


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("with_mask", [False, True])
@pytest.mark.parametrize("shape", [(3, 4, 7), (16, 5, 10_000)])   # the second is split across threads
def test_matches_reference(dtype, threads, with_mask, shape, rng):
    x = (3 * rng.standard_normal(shape)).astype(dtype)
    t = rng.integers(0, shape[-1], shape[:-1])
    mask = (rng.random(shape[:-1]) > 0.3).astype(dtype) if with_mask else None
    ce = SoftmaxCrossEntropy(threads=threads)
    for _ in range(2):  # the second call reuses the buffer
        loss = ce.forward(x, t, mask)
        d = ce.backward()
    ref_loss, ref_d = _reference(x, t, mask)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    assert d.dtype == dtype and d.shape == x.shape
    assert loss == pytest.approx(ref_loss, rel=tol, abs=tol)
    assert np.abs(d.reshape(ref_d.shape) - ref_d).max() < tol * np.abs(ref_d).max()


def test_loss_exact_where_a_probability_underflows():
    x = np.array([[0.0, -200.0]], dtype=np.float32)  # p(target) = e^-200: 0 in float32
    ce = SoftmaxCrossEntropy()
    assert ce.forward(x, np.array([1])) == pytest.approx(200.0, rel=1e-6)
    assert np.isfinite(ce.backward()).all()


def test_threads_give_identical_results(rng):
    x = rng.standard_normal((40, 10_000)).astype(np.float32)
    t = rng.integers(0, 10_000, 40)
    out = []
    for threads in (1, 2, 3):
        ce = SoftmaxCrossEntropy(threads=threads)
        out.append((ce.forward(x, t), ce.backward().copy()))
    for loss, d in out[1:]:
        assert loss == out[0][0]
        np.testing.assert_array_equal(d, out[0][1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rows_that_would_overflow_or_underflow_take_the_shifted_path(dtype, rng):
    x = rng.standard_normal((6, 30)).astype(dtype)
    x[1] += 1000.0        # exp overflows without the shift
    x[2] -= 1000.0        # every exp underflows without the shift
    x[3, 4] = 500.0       # one huge logit
    x[4] -= 80.0          # float32: small but normal sums, no recomputation needed for float64
    t = np.array([0, 1, 2, 4, 5, 6])
    ce = SoftmaxCrossEntropy()
    loss = ce.forward(x, t)
    d = ce.backward()
    ref_loss, ref_d = _reference(x, t, None)
    assert np.isfinite(loss) and loss == pytest.approx(ref_loss, rel=1e-6)
    assert np.abs(d - ref_d).max() < 1e-7


def test_nan_logits_give_a_nan_loss(rng):
    x = rng.standard_normal((2, 5)).astype(np.float32)
    x[1, 3] = np.nan
    assert np.isnan(SoftmaxCrossEntropy().forward(x, np.array([0, 1])))
