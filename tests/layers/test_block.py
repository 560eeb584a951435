"""The min-cell block model (issue 22): gradient checks of the whole model (float64), causality, a sequence in pieces
with the state carried equal to the whole, one token at a time (``Stream`` -> ``BlockStream``) equal to the
parallel forward over 4,096 steps in float32, the checkpoint round trip, sampling, and ``--arch block`` runs."""

import numpy as np
import pytest

import gatedrnn as g
from gatedrnn.errors import UserError
from gatedrnn.layers import SoftmaxCrossEntropy
from gatedrnn.models import BlockLM, BlockRegressor, MinBlockStack
from gatedrnn.models.block_stream import BlockStream
from gatedrnn.models.generate import sample
from gatedrnn.models.stream import Stream

TOL = 1e-6
SMALL = dict(expansion=1.5, conv_kernel=3, ff_mult=2)


def _ce(targets):
    loss = SoftmaxCrossEntropy()

    def f(out):
        value = loss.forward(out[0], targets)
        return value, loss.backward()
    return f


@pytest.mark.parametrize("cell, norm", [("mingru", "layer"), ("minlstm", "rms")])
def test_block_lm_gradcheck(cell, norm, rng):
    model = BlockLM(7, 4, 2, cell=cell, norm=norm, dtype=np.float64, seed=1, **SMALL)
    ids, t = rng.integers(0, 7, (2, 5)), rng.integers(0, 7, (2, 5))
    report = g.gradcheck(model, ids, loss=_ce(t))
    assert len(report) == len(model.params) and max(report.values()) < TOL, report


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_block_stack_gradcheck_with_state(cell, rng):
    """Inputs and the initial state (h and the conv buffers, negative values included) too."""
    stack = MinBlockStack(4, 2, cell=cell, dtype=np.float64, seed=2, **SMALL)
    x = rng.standard_normal((2, 5, 4))
    state = (rng.standard_normal((2, 2, 6)), rng.standard_normal((2, 2, 2, 4)))
    report = g.gradcheck(stack, x, state=state)
    assert {"input0", "state0", "state1"} <= set(report) and max(report.values()) < TOL, report


def test_block_regressor_gradcheck(rng):
    model = BlockRegressor(3, 4, 2, 1, dtype=np.float64, seed=0, **SMALL)
    assert max(g.gradcheck(model, rng.standard_normal((2, 4, 3))).values()) < TOL


def test_block_lm_is_causal_and_pieces_equal_the_whole(rng):
    model = BlockLM(9, 8, 3, dtype=np.float64, seed=0)
    ids = rng.integers(0, 9, (2, 20))
    y, (h, buf) = model.forward(ids)
    for t in (0, 7, 19):
        other = ids.copy()
        other[:, t] = (other[:, t] + 1) % 9
        y2, _ = model.forward(other)
        assert np.array_equal(y2[:, :t], y[:, :t]) and not np.allclose(y2[:, t], y[:, t])
    state, parts = None, []
    for lo, hi in ((0, 2), (2, 11), (11, 20)):          # a first piece shorter than the conv's k - 1
        part, state = model.forward(ids[:, lo:hi], state)
        parts.append(part)
    assert np.abs(np.concatenate(parts, 1) - y).max() < 1e-12
    assert np.abs(state[0] - h).max() < 1e-12 and np.abs(state[1] - buf).max() == 0


@pytest.mark.parametrize("cell, norm", [("mingru", "layer"), ("minlstm", "rms")])
def test_stream_equals_the_parallel_forward_over_4096_steps(cell, norm, rng):
    model = BlockLM(13, 16, 3, cell=cell, norm=norm, seed=0)
    ids = rng.integers(0, 13, 4096)
    y, state = model.forward(ids[None])
    s = Stream(model)
    assert isinstance(s, BlockStream)
    before = s.state_bytes
    out = s.run(ids)
    assert out.dtype == np.float32 and np.abs(out - y[0]).max() < 1e-5
    assert s.state_bytes == before == model.blocks.state_bytes(1) == 3 * 4 * (32 + 3 * 16)
    assert np.abs(s.state[0] - state[0]).max() < 1e-5 and np.abs(s.state[1] - state[1]).max() < 1e-5
    s.reset()
    assert np.abs(s.step(ids[0]) - y[0, 0]).max() < 1e-6


def test_stream_batch_reset_and_checks(rng):
    model = BlockLM(5, 8, 2, seed=1)
    ids = rng.integers(0, 5, (2, 30))
    y, state = model.forward(ids[:, :20])
    s = BlockStream(model, batch=2)
    s.reset(state)
    out = s.run(ids[:, 20:].T)
    ref, _ = model.forward(ids[:, 20:], state)
    assert np.abs(out.transpose(1, 0, 2) - ref).max() < 1e-5
    with pytest.raises(UserError, match="token ids in"):
        s.step(np.array([0, 5]))
    with pytest.raises(UserError, match="state"):
        s.reset((state[0][:1], state[1]))
    one = Stream(model)
    with pytest.raises(UserError, match="line 2: expected integer token ids"):
        one.check_input([2.5], "line 2")
    one.check_input([4.0])
    assert np.abs(one.step([4.0]) - model.forward(np.array([[4]]))[0][0, 0]).max() < 1e-6


def test_save_load_and_sample(tmp_path, rng):
    model = BlockLM(6, 8, 2, cell="minlstm", norm="rms", tie_weights=True, seed=3)
    ids = rng.integers(0, 6, (1, 12))
    model.save(tmp_path / "ck", meta={"note": "block"})
    back = g.load(tmp_path / "ck")
    assert isinstance(back, BlockLM) and back.config == model.config
    assert np.array_equal(back.forward(ids)[0], model.forward(ids)[0])
    a = sample(model, [1, 2], 40, np.random.default_rng(0))
    assert a == sample(back, [1, 2], 40, np.random.default_rng(0)) and len(a) == 40


def test_block_input_checks():
    with pytest.raises(UserError, match="block cell"):
        MinBlockStack(4, 2, cell="lstm")
    with pytest.raises(UserError, match="norm"):
        MinBlockStack(4, 2, norm="batch")
    stack = MinBlockStack(4, 2)
    with pytest.raises(UserError, match="pair"):
        stack.forward(np.zeros((1, 3, 4), np.float32), np.zeros((2, 1, 8), np.float32))


def test_arch_block_language_model_run(tmp_path):
    """``gatedrnn train --arch block``: config checks, a short run (AdamW, carried state), its checkpoint evaluated."""
    from gatedrnn.lm.config import LMConfig
    from gatedrnn.lm.run import train_command

    with pytest.raises(UserError, match="arch block"):
        LMConfig(arch="block", cell="gru").validate()
    text = tmp_path / "tiny.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 60)
    flags = dict(corpus=str(text), level="char", arch="block", cell="mingru", hidden_size=8, num_layers=2,
                 batch_size=4, time_size=16, eval_batch_size=4, optimizer="adamw", lr=0.01, weight_decay=0.1,
                 clip=1.0, epochs=1, log_every=1000, checkpoint_every=0)
    summary = train_command(flags=flags, out=tmp_path / "run", progress=False, echo=lambda *a: None)
    assert summary["stopped"] == "done" and summary["test_ppl"] < 30
    assert isinstance(g.load(tmp_path / "run"), BlockLM)
