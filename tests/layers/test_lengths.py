"""Variable-length sequences in the recurrent stacks: ``forward(x, state, lengths)`` equals PyTorch's
``pack_padded_sequence`` in float64 (outputs, final states and every gradient, the initial state's included),
passes the gradient check, gives no gradient to padding, and is bit-identical to today with ``lengths=None``."""

import numpy as np
import pytest

import gatedrnn as g
from gatedrnn.errors import UserError
from gatedrnn.layers import CELLS

CLASSIC = ("lstm", "gru", "rnn")
MIN = tuple(c for c in ("mingru", "minlstm") if c in CELLS)
TOL = 1e-9
B, T, D, H = 4, 7, 3, 5
LENGTHS = np.array([7, 3, 1, 5])


def _stack(cell, num_layers=2, seed=0):
    return g.layers.make_recurrent(cell, D, H, num_layers, dtype="float64", seed=seed)


def _state(cell, rng, num_layers=2):
    h = rng.standard_normal((num_layers, B, H))
    return (h, rng.standard_normal((num_layers, B, H))) if CELLS[cell].layer_class.has_cell else h


def _backward(stack, out, rng):
    y, state = out
    dy = rng.standard_normal(y.shape)
    ds = tuple(rng.standard_normal(s.shape) for s in state) if isinstance(state, tuple) else rng.standard_normal(state.shape)
    return dy, ds, stack.backward(dy, ds)


@pytest.mark.parametrize("cell", CLASSIC)
def test_parity_with_pack_padded_sequence(cell):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    rng = np.random.default_rng(1)
    stack = _stack(cell)
    x, s0 = rng.standard_normal((B, T, D)), _state(cell, rng)
    out = stack.forward(x, s0, lengths=LENGTHS)
    dy, ds, dx = _backward(stack, out, rng)

    ref = getattr(torch.nn, cell.upper())(D, H, 2, batch_first=True).double()
    ref.load_state_dict({k: torch.tensor(v) for k, v in stack.state_dict().items()})
    xt = torch.tensor(x, requires_grad=True)
    st = tuple(torch.tensor(s, requires_grad=True) for s in s0) if isinstance(s0, tuple) else torch.tensor(s0, requires_grad=True)
    packed = pack_padded_sequence(xt, torch.tensor(LENGTHS), batch_first=True, enforce_sorted=False)
    yp, sn = ref(packed, st)
    yt, _ = pad_packed_sequence(yp, batch_first=True, total_length=T)
    loss = (yt * torch.tensor(dy)).sum()
    if isinstance(sn, tuple):
        loss = loss + sum((a * torch.tensor(b)).sum() for a, b in zip(sn, ds))
    else:
        loss = loss + (sn * torch.tensor(ds)).sum()
    loss.backward()

    y, state = out
    assert np.abs(y - yt.detach().numpy()).max() < TOL
    for a, b in zip(state if isinstance(state, tuple) else (state,), sn if isinstance(sn, tuple) else (sn,)):
        assert np.abs(a - b.detach().numpy()).max() < TOL
    assert np.abs(dx - xt.grad.numpy()).max() < TOL
    for a, b in zip(stack.dstate if isinstance(stack.dstate, tuple) else (stack.dstate,),
                    st if isinstance(st, tuple) else (st,)):
        assert np.abs(a - b.grad.numpy()).max() < TOL
    grads = stack.grad_dict()
    for name, p in ref.named_parameters():
        assert np.abs(grads[name] - p.grad.numpy()).max() < TOL, name


@pytest.mark.parametrize("cell", CLASSIC + MIN)
def test_gradcheck_with_lengths(cell):
    rng = np.random.default_rng(2)
    stack = _stack(cell)
    x, s0 = rng.standard_normal((B, T, D)), _state(cell, rng)
    report = g.gradcheck(stack, x, state=s0, lengths=LENGTHS, max_checks=12)
    assert max(report.values()) < 1e-6, report


@pytest.mark.parametrize("cell", CLASSIC + MIN)
def test_each_sequence_is_as_if_run_alone(cell):
    """Sequence b of a padded batch: outputs, final state and gradients equal a run of its first lengths[b] steps;
    the padding gets zero gradient whatever the output gradient says there."""
    rng = np.random.default_rng(3)
    stack = _stack(cell)
    x = rng.standard_normal((B, T, D))
    y, state = stack.forward(x, lengths=LENGTHS)
    dy = rng.standard_normal(y.shape)
    dx = stack.backward(dy)
    for b, n in enumerate(LENGTHS):
        assert not y[b, n:].any() and not dx[b, n:].any()
        ya, sa = stack.forward(x[b:b + 1, :n])
        dxa = stack.backward(dy[b:b + 1, :n])
        np.testing.assert_allclose(y[b, :n], ya[0], atol=1e-12)
        np.testing.assert_allclose(dx[b, :n], dxa[0], atol=1e-12)
        for a, c in zip(state if isinstance(state, tuple) else (state,), sa if isinstance(sa, tuple) else (sa,)):
            np.testing.assert_allclose(a[:, b], c[:, 0], atol=1e-12)


@pytest.mark.parametrize("cell", CLASSIC)
def test_full_lengths_equal_no_lengths_and_none_is_unchanged(cell):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((B, T, D)).astype(np.float32)
    a, b = g.layers.make_recurrent(cell, D, H, 2, seed=5), g.layers.make_recurrent(cell, D, H, 2, seed=5)
    ya, sa = a.forward(x)
    yb, sb = b.forward(x, lengths=np.full(B, T))
    dy = rng.standard_normal(ya.shape).astype(np.float32)
    np.testing.assert_allclose(ya, yb, atol=1e-6)
    np.testing.assert_allclose(a.backward(dy), b.backward(dy), atol=1e-6)
    yn, _ = g.layers.make_recurrent(cell, D, H, 2, seed=5).forward(x, lengths=None)
    assert np.array_equal(ya, yn)


@pytest.mark.parametrize("lengths, what", [
    (np.array([7, 3, 0, 5]), "values in [1, 7]"),
    (np.array([7, 3, 8, 5]), "values in [1, 7]"),
    (np.array([7, 3, 5]), "shape (4,)"),
    (np.array([7.0, 3, 1, 5]), "integer"),
])
def test_lengths_out_of_range_are_user_errors(lengths, what):
    stack = _stack("lstm")
    with pytest.raises(UserError, match="lengths") as e:
        stack.forward(np.zeros((B, T, D)), lengths=lengths)
    assert what in str(e.value) and "\n" not in str(e.value)
