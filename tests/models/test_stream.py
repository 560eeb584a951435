"""models/stream.py: one step at a time equals the batch forward pass, in constant memory."""

import gc
import sys
import tracemalloc

import numpy as np
import pytest

import gatedrnn.models.stream as stream_module
from gatedrnn import CELLS, GRU, LSTM, RNN
from gatedrnn.deploy import Stream
from gatedrnn.errors import UserError
from gatedrnn.models import LanguageModel, SequenceRegressor


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_stream_equals_batch_forward_over_10000_steps_float32(cell, rng):
    model = SequenceRegressor(3, 32, 2, cell=cell, seed=1).eval()
    x = rng.standard_normal((1, 10_000, 3)).astype(np.float32)
    y, _ = model.forward(x)
    s = Stream(model)
    out = s.run(x[0])
    assert out.dtype == np.float32 and out.shape == (10_000, 2)
    assert np.abs(out - y[0]).max() < 1e-5


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_stream_two_layers_batch_and_final_state(cell, rng):
    model = SequenceRegressor(4, 16, 3, num_layers=2, cell=cell, dropout=0.5, seed=2).eval()
    x = rng.standard_normal((3, 200, 4)).astype(np.float32)
    y, state = model.forward(x)
    s = Stream(model, batch=3)
    out = np.stack([s.step(x[:, t]).copy() for t in range(200)], axis=1)
    assert np.abs(out - y).max() < 1e-5
    ours = s.state
    for a, b in zip(ours if cell == "lstm" else (ours,), state if cell == "lstm" else (state,)):
        assert np.abs(a - b).max() < 1e-5
    # continuing from a state equals forward(x, state)
    x2 = rng.standard_normal((3, 20, 4)).astype(np.float32)
    y2, _ = model.forward(x2, state)
    s.reset(state)
    out2 = np.stack([s.step(x2[:, t]).copy() for t in range(20)], axis=1)
    assert np.abs(out2 - y2).max() < 1e-5
    s.reset()
    y3, _ = model.forward(x2)
    assert np.abs(s.step(x2[:, 0]) - y3[:, 0]).max() < 1e-5


def test_many_to_one_stream_gives_the_last_step_output(rng):
    model = SequenceRegressor(2, 8, 1, cell="lstm", many_to_one=True, seed=0).eval()
    x = rng.standard_normal((1, 50, 2)).astype(np.float32)
    y, _ = model.forward(x)
    out = Stream(model).run(x[0])
    assert abs(out[-1, 0] - y[0, 0]) < 1e-5


@pytest.mark.parametrize("cls", [LSTM, GRU, RNN])
def test_bare_stack_streams_its_top_hidden_state(cls, rng):
    stack = cls(5, 12, 2, seed=3)
    x = rng.standard_normal((1, 300, 5)).astype(np.float32)
    y, _ = stack.forward(x)
    assert np.abs(Stream(stack).run(x[0]) - y[0]).max() < 1e-5


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_language_model_stream_with_tied_weights(cell, rng):
    lm = LanguageModel(40, 16, 16, 2, cell=cell, tie_weights=True, dropout=0.3, seed=0).eval()
    ids = rng.integers(0, 40, size=(1, 300))
    logits, _ = lm.forward(ids)
    s = Stream(lm)
    out = np.stack([s.step(int(i)).copy() for i in ids[0]])
    assert np.abs(out - logits[0]).max() < 1e-5
    with pytest.raises(ValueError, match=r"expected a token id in \[0, 40\), got 40"):
        s.step(40)
    with pytest.raises(ValueError, match="integer token id"):
        s.step(1.5)


def test_float64_model_streams_in_float64(rng):
    model = SequenceRegressor(1, 8, 1, cell="gru", dtype=np.float64, seed=0)
    x = rng.standard_normal((1, 500, 1))
    y, _ = model.eval().forward(x)
    out = Stream(model).run(x[0])
    assert out.dtype == np.float64 and np.abs(out - y[0]).max() < 1e-12


def _traced_bytes(s, x, steps):
    """-> (bytes still held after the loop that were allocated in models/stream.py or a cell's file (its
    one-step update), peak growth of the process).

    Only those modules' own allocations count as kept, so that other threads of the test process
    (thread pools, progress bars) cannot make the test flaky.
    """
    files = {stream_module.__file__} | {sys.modules[cls.layer_class.__module__].__file__ for cls in CELLS.values()}
    s.reset()
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        for t in range(steps):
            s.step(x[t])
        peak = tracemalloc.get_traced_memory()[1]
        snap = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(True, f) for f in sorted(files)])
    finally:
        tracemalloc.stop()
    return sum(st.size for st in snap.statistics("filename")), peak - base


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_stream_memory_does_not_grow_with_the_number_of_steps(cell, rng):
    s = Stream(SequenceRegressor(4, 32, 2, num_layers=2, cell=cell, seed=0))
    x = rng.standard_normal((10_000, 4)).astype(np.float32)
    _traced_bytes(s, x, 10)                       # warm up (first-call caches in NumPy)
    kept_1k, peak_1k = _traced_bytes(s, x, 1_000)
    kept_10k, peak_10k = _traced_bytes(s, x, 10_000)
    # nothing is kept per step (a leak of even one byte per step would show as 9 000 more bytes), and the
    # peak (temporaries of one step) does not grow with 10x the steps
    assert kept_10k <= kept_1k + 1024 and kept_10k < 4096
    assert peak_10k <= peak_1k + 4096


def test_stream_snapshots_weights_until_refresh(rng):
    model = SequenceRegressor(1, 4, 1, cell="lstm", seed=0).eval()
    s = Stream(model)
    x = np.ones(1, dtype=np.float32)
    before = float(s.step(x)[0])
    model.head.b[...] += 1.0
    s.reset()
    assert float(s.step(x)[0]) == pytest.approx(before)
    s.refresh()
    s.reset()
    assert float(s.step(x)[0]) == pytest.approx(before + 1.0, abs=1e-6)


def test_stream_errors_are_one_line():
    s = Stream(SequenceRegressor(3, 4, 1, seed=0))
    with pytest.raises(UserError, match=r"expected an observation of shape \(3,\), got \(2,\)"):
        s.step([1.0, 2.0])
    with pytest.raises(UserError, match=r"state h: expected shape \(1, 1, 4\)"):
        s.reset((np.zeros((2, 1, 4)), np.zeros((1, 1, 4))))
    with pytest.raises(UserError, match=r"state h: expected shape \(1, 1, 4\)"):
        Stream(SequenceRegressor(3, 4, 1, cell="gru", seed=0)).reset(np.zeros((2, 1, 4)))
    with pytest.raises(ValueError, match="expected a SequenceRegressor, LanguageModel or LSTM/GRU/RNN stack"):
        Stream(object())
    with pytest.raises(UserError, match="batch: expected a positive integer"):
        Stream(SequenceRegressor(3, 4, 1, seed=0), batch=0)
    with pytest.raises(UserError, match=r"expected a pair \(h, c\)"):
        Stream(SequenceRegressor(3, 4, 1, cell="lstm", seed=0)).reset(np.zeros((1, 1, 4)))


