"""Exact agreement with PyTorch's nn.LSTM / nn.GRU / nn.RNN in float64 (max abs difference < 1e-9), and for
minGRU/minLSTM with a PyTorch autograd reference of the paper's equations written below (run step by step)."""

import numpy as np
import pytest

import gatedrnn as g

torch = pytest.importorskip("torch", reason="PyTorch is not installed: pip install torch (CI installs it)")

TOL = 1e-9


def _g(v):
    """Feng et al.'s g: v + 0.5 for v >= 0, sigmoid(v) below."""
    return torch.where(v >= 0, v + 0.5, torch.sigmoid(v))


class _MinReference(torch.nn.Module):
    """minGRU / minLSTM as the paper writes them (Feng et al. 2024, arXiv 2410.01201, sequential mode), with
    gatedrnn's parameter names: per layer ``weight_ih_l{k}`` (G*H, D) and ``bias_ih_l{k}`` (G*H,)."""

    gates = 2

    def __init__(self, input_size, hidden_size, num_layers=1, batch_first=True):
        super().__init__()
        self.H, self.L = hidden_size, num_layers
        for k in range(num_layers):
            D = input_size if k == 0 else hidden_size
            setattr(self, f"weight_ih_l{k}", torch.nn.Parameter(torch.randn(self.gates * hidden_size, D) * 0.6))
            setattr(self, f"bias_ih_l{k}", torch.nn.Parameter(torch.randn(self.gates * hidden_size) * 0.6))

    def forward(self, x, h0=None):
        finals = []
        for k in range(self.L):
            p = x @ getattr(self, f"weight_ih_l{k}").T + getattr(self, f"bias_ih_l{k}")
            h = torch.zeros(x.shape[0], self.H, dtype=x.dtype) if h0 is None else h0[k]
            outs = []
            for t in range(x.shape[1]):
                h = self.step(p[:, t], h)
                outs.append(h)
            x = torch.stack(outs, 1)
            finals.append(h)
        return x, torch.stack(finals)


class MinGRUReference(_MinReference):
    def step(self, p, h):                     # z = sigmoid(Linear_z x), h~ = g(Linear_h x)
        z, cand = torch.sigmoid(p[:, :self.H]), _g(p[:, self.H:])
        return (1 - z) * h + z * cand


class MinLSTMReference(_MinReference):
    gates = 3

    def step(self, p, h):                     # normalised gates f' = f / (f + i), i' = i / (f + i)
        f, i = torch.sigmoid(p[:, :self.H]), torch.sigmoid(p[:, self.H:2 * self.H])
        cand = _g(p[:, 2 * self.H:])
        return f / (f + i) * h + i / (f + i) * cand


PAIRS = {"lstm": (g.LSTM, torch.nn.LSTM), "gru": (g.GRU, torch.nn.GRU), "rnn": (g.RNN, torch.nn.RNN),
         "mingru": (g.MinGRU, MinGRUReference), "minlstm": (g.MinLSTM, MinLSTMReference)}


def _torch_state(cell, s):
    if cell == "lstm":
        return tuple(torch.tensor(a, requires_grad=True) for a in s)
    return torch.tensor(s, requires_grad=True)


@pytest.mark.parametrize("cell", sorted(PAIRS))
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("with_state", [False, True])
def test_forward_backward_match_torch(cell, num_layers, with_state, rng):
    ours_cls, torch_cls = PAIRS[cell]
    B, T, D, H = 3, 7, 5, 6
    torch.manual_seed(num_layers)
    ref = torch_cls(D, H, num_layers, batch_first=True).double()
    ours = ours_cls(D, H, num_layers, dtype=np.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})

    x = rng.standard_normal((B, T, D))
    shape = (num_layers, B, H)
    state = None
    if with_state:
        state = (rng.standard_normal(shape), rng.standard_normal(shape)) if cell == "lstm" else rng.standard_normal(shape)
    xt = torch.tensor(x, requires_grad=True)
    st = None if state is None else _torch_state(cell, state)
    yt, sT = ref(xt) if st is None else ref(xt, st)
    y, s = ours.forward(x, state)

    assert np.abs(y - yt.detach().numpy()).max() < TOL
    sT_list = list(sT) if cell == "lstm" else [sT]
    s_list = list(s) if cell == "lstm" else [s]
    for a, b in zip(s_list, sT_list):
        assert a.shape == tuple(b.shape) and np.abs(a - b.detach().numpy()).max() < TOL

    dy = rng.standard_normal(y.shape)
    ds = [rng.standard_normal(shape) for _ in s_list]
    loss = (yt * torch.tensor(dy)).sum() + sum((b * torch.tensor(d)).sum() for b, d in zip(sT_list, ds))
    loss.backward()
    dx = ours.backward(dy, tuple(ds) if cell == "lstm" else ds[0])

    assert np.abs(dx - xt.grad.numpy()).max() < TOL
    grads = ours.grad_dict()
    assert set(grads) == set(dict(ref.named_parameters()))
    for name, p in ref.named_parameters():
        assert grads[name].shape == tuple(p.shape)
        assert np.abs(grads[name] - p.grad.numpy()).max() < TOL, name
    if with_state:
        ours_ds = list(ours.dstate) if cell == "lstm" else [ours.dstate]
        torch_ds = [a.grad.numpy() for a in (st if cell == "lstm" else [st])]
        for a, b in zip(ours_ds, torch_ds):
            assert np.abs(a - b).max() < TOL


@pytest.mark.parametrize("cell", sorted(PAIRS))
@pytest.mark.parametrize("num_layers", [1, 2])
def test_state_dict_round_trip_into_torch(cell, num_layers, rng):
    ours_cls, torch_cls = PAIRS[cell]
    ours = ours_cls(4, 5, num_layers, dtype=np.float64, seed=3)
    ref = torch_cls(4, 5, num_layers, batch_first=True).double()
    ref.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = rng.standard_normal((2, 6, 4))
    y, _ = ours.forward(x)
    with torch.no_grad():
        yt, _ = ref(torch.tensor(x))
    assert np.abs(y - yt.numpy()).max() < TOL


def test_state_dict_rejects_wrong_shapes_and_keys():
    lstm = g.LSTM(4, 5)
    sd = lstm.state_dict()
    with pytest.raises(ValueError, match="expected shape"):
        lstm.load_state_dict({**sd, "weight_ih_l0": np.zeros((5, 4))})
    with pytest.raises(ValueError, match="missing"):
        lstm.load_state_dict({k: v for k, v in sd.items() if k != "bias_hh_l0"})
