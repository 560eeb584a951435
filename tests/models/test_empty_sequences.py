"""An input of zero time steps, the NumPy forward and backward of every stack and model: what gives per-step outputs
(a bare stack of every cell in ``CELLS``, the min cells with each scan; a many-to-many regressor, a language model, a
``BlockLM``, a ``BlockRegressor``) gives them with zero steps, ``(batch, 0, ...)``, and the start state, and its
backward gives zero weight gradients, an empty ``dx`` and the final state's gradient as the start state's; what
has no per-step output to give (a many-to-one regressor, a classifier with any pooling, a padded batch in which some
sequence has length 0; the batched many-to-one ensemble, ``MemberRegressor``) refuses with one ``UserError`` line
instead of an IndexError or a NaN. Streaming a sequence of no step gives no output, a block model's as a plain one's."""

import numpy as np
import pytest

from gatedrnn.errors import UserError
from gatedrnn.layers import CELLS
from gatedrnn.layers.scan import SCANS
from gatedrnn.models import BlockLM, BlockRegressor, LanguageModel, Padded, SequenceClassifier, SequenceRegressor
from gatedrnn.models.block import BLOCK_CELLS
from gatedrnn.models.classifier import POOLINGS
from gatedrnn.models.member_regressor import MemberRegressor
from gatedrnn.models.stream import Stream

B, D, H, L, OUT, VOCAB = 2, 3, 4, 2, 2, 7
# every cell; the min cells (the cells of the blocks) with each of their scans
STACKS = [(c, s) for c in CELLS for s in (SCANS if c in BLOCK_CELLS else (None,))]


def _start(cell, rng, layers=L, hidden=H):
    h = rng.standard_normal((layers, B, hidden))
    return (h, rng.standard_normal((layers, B, hidden))) if CELLS[cell].layer_class.has_cell else h


def _same(a, b):
    if isinstance(b, tuple):
        assert isinstance(a, tuple) and len(a) == len(b)
        for u, v in zip(a, b):
            _same(u, v)
        return
    assert a.shape == b.shape
    np.testing.assert_array_equal(a, b)


def _zero_grads(model):
    assert all(not np.any(gr) for gr in model.grads), "a zero-step backward left a non-zero gradient"


def _refuses(call, *words):
    with pytest.raises(UserError) as info:
        call()
    text = str(info.value)
    assert "\n" not in text and all(w in text for w in words), text


@pytest.mark.parametrize("cell,scan", STACKS)
def test_a_stack_gives_no_steps_and_its_start_state(cell, scan):
    rng = np.random.default_rng(0)
    stack = CELLS[cell](D, H, L, dtype=np.float64, seed=0, **({} if scan is None else {"scan": scan}))
    x = np.zeros((B, 0, D))
    y, state = stack.forward(x)
    assert y.shape == (B, 0, H)
    zeros = np.zeros((L, B, H))
    _same(state, (zeros, zeros) if CELLS[cell].layer_class.has_cell else zeros)
    dx = stack.backward(np.zeros_like(y))                  # the loss on the outputs alone: all of it zero
    assert dx.shape == (B, 0, D)
    _same(stack.dstate, (zeros, zeros) if CELLS[cell].layer_class.has_cell else zeros)
    h0 = _start(cell, rng)
    y, state = stack.forward(x, h0)
    _same(state, h0)
    dstate = _start(cell, rng)
    assert stack.backward(None, dstate).shape == (B, 0, D)  # the final state is the start state: its gradient too
    _same(stack.dstate, dstate)
    _zero_grads(stack)


@pytest.mark.parametrize("cell", list(CELLS))
def test_many_to_many_models_give_no_steps(cell):
    rng = np.random.default_rng(1)
    reg = SequenceRegressor(D, H, OUT, L, cell=cell, dtype=np.float64, seed=0)
    h0 = _start(cell, rng)
    y, state = reg.forward(np.zeros((B, 0, D)), h0)
    assert y.shape == (B, 0, OUT)
    _same(state, h0)
    assert reg.backward(y, h0).shape == (B, 0, D)
    _same(reg.dstate, h0)
    _zero_grads(reg)
    for tie in (False, True):
        lm = LanguageModel(VOCAB, H, H, L, cell=cell, tie_weights=tie, dtype=np.float64, seed=0)
        logits, state = lm.forward(np.zeros((B, 0), dtype=np.int64), h0)
        assert logits.shape == (B, 0, VOCAB)
        _same(state, h0)
        lm.backward(np.zeros_like(logits), h0)
        _same(lm.dstate, h0)
        _zero_grads(lm)


@pytest.mark.parametrize("cell", BLOCK_CELLS)
@pytest.mark.parametrize("kernel", [1, 3])
def test_block_models_give_no_steps(cell, kernel):
    rng = np.random.default_rng(2)
    lm = BlockLM(VOCAB, 4, L, cell=cell, conv_kernel=kernel, ff_mult=2, dtype=np.float64, seed=0)
    reg = BlockRegressor(D, 4, OUT, L, cell=cell, conv_kernel=kernel, ff_mult=2, dtype=np.float64, seed=0)
    for model, x, width in ((lm, np.zeros((B, 0), dtype=np.int64), VOCAB), (reg, np.zeros((B, 0, D)), OUT)):
        y, state = model.forward(x)
        assert y.shape == (B, 0, width)
        _same(state, tuple(model.blocks.zero_state(B)))
        start = tuple(rng.standard_normal(s.shape) for s in state)
        y, state = model.forward(x, start)
        _same(state, start)
        model.backward(np.zeros_like(y), start)
        _same(model.dstate, start)
        _zero_grads(model)


@pytest.mark.parametrize("cell", list(CELLS))
def test_a_many_to_one_regressor_refuses_zero_steps(cell):
    reg = SequenceRegressor(D, H, OUT, L, cell=cell, many_to_one=True, dtype=np.float64, seed=0)
    _refuses(lambda: reg.forward(np.zeros((B, 0, D))), "at least one time step", "got 0")
    y, _ = reg.forward(np.ones((B, 1, D)))                  # one step still runs
    assert y.shape == (B, OUT) and np.isfinite(y).all()


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("pooling", POOLINGS)
def test_a_classifier_refuses_zero_steps_and_empty_sequences(cell, pooling):
    clf = SequenceClassifier(D, H, 3, L, cell=cell, pooling=pooling, dtype=np.float64, seed=0)
    _refuses(lambda: clf.forward(np.zeros((B, 0, D))), "at least one time step", "got 0")
    _refuses(lambda: clf.forward(Padded(np.zeros((B, 0, D)), np.zeros(B, dtype=np.int64))), "at least one time step")
    _refuses(lambda: clf.forward(Padded(np.ones((B, 3, D)), np.array([3, 0]))), "at least one time step",
             "sequence 1", "length 0")
    logits, _ = clf.forward(Padded(np.ones((B, 3, D)), np.array([3, 1])))   # a sequence of one step still runs
    assert logits.shape == (B, 3) and np.isfinite(logits).all()


def test_the_many_to_one_ensemble_refuses_zero_steps():
    ensemble = MemberRegressor([SequenceRegressor(D, H, OUT, cell="lstm", many_to_one=True, seed=k) for k in range(2)])
    _refuses(lambda: ensemble.forward(np.zeros((2, B, 0, D))), "at least one time step", "got 0")


@pytest.mark.parametrize("batch", [1, B])
def test_streaming_no_step_gives_no_output(batch):
    block = BlockLM(VOCAB, 4, L, ff_mult=2, seed=0).make_stream(batch)
    plain = Stream(LanguageModel(VOCAB, H, H, cell="gru", seed=0), batch)
    ids = np.zeros((0,) if batch == 1 else (0, batch), dtype=np.int64)
    want = (0, VOCAB) if batch == 1 else (0, batch, VOCAB)
    for stream in (block, plain):
        assert stream.run(ids).shape == want
