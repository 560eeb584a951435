import numpy as np
import pytest

from gatedrnn.data.batching import TBPTTBatches
from gatedrnn.layers import LSTM


def test_streams_are_contiguous_rows_and_targets_shift_by_one():
    ids = np.arange(23)
    b = TBPTTBatches(ids, batch_size=3, time_size=3)
    assert b.stream_len == 7 and len(b) == 3  # windows of 3, 3, 1
    xs = np.concatenate([x for x, _ in b], axis=1)
    ts = np.concatenate([t for _, t in b], axis=1)
    np.testing.assert_array_equal(xs, np.arange(21).reshape(3, 7))
    np.testing.assert_array_equal(ts, xs + 1)
    assert b[2][0].shape == (3, 1) and b[-1][0].shape == (3, 1)
    assert b.num_tokens == 21


def test_drop_last_and_views():
    ids = np.arange(101, dtype=np.int32)
    b = TBPTTBatches(ids, 4, 10, drop_last=True)
    assert len(b) == 2 and all(x.shape == (4, 10) for x, _ in b)
    x, _ = b[1]
    assert np.shares_memory(x, ids)  # a view: no copy per window
    assert x[0, 0] == 10 and x[1, 0] == 35  # row 1 starts at 25, window 1 at +10
    with pytest.raises(IndexError):
        b[2]


def test_errors():
    with pytest.raises(ValueError, match="1-d integer array"):
        TBPTTBatches(np.zeros((3, 3), dtype=int), 2, 2)
    with pytest.raises(ValueError, match="1-d integer array"):
        TBPTTBatches(np.zeros(10), 2, 2)
    with pytest.raises(ValueError, match="batch_size: expected a positive integer"):
        TBPTTBatches(np.arange(10), 0, 2)
    with pytest.raises(ValueError, match="expected at least 21 tokens"):
        TBPTTBatches(np.arange(10), 4, 5, drop_last=True)


def test_carried_state_equals_one_long_sequence(rng):
    """Windows with the state carried across compute exactly what the whole stream computes at once."""
    lstm = LSTM(5, 7, 2, dtype=np.float64, seed=0)
    feats = rng.standard_normal((50, 5))
    b = TBPTTBatches(np.arange(50), batch_size=2, time_size=6)
    full, _ = lstm.forward(feats[b.x])
    state, outs = None, []
    for x, _ in b:
        y, state = lstm.forward(feats[x], state)
        outs.append(y)
    np.testing.assert_allclose(np.concatenate(outs, axis=1), full, rtol=1e-12, atol=1e-12)
    # and resetting the state at each window does not
    y0, _ = lstm.forward(feats[b[1][0]])
    assert not np.allclose(y0, full[:, 6:12])
