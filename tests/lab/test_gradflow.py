"""Gradient flow through time, measured with the library's own backward pass."""

import sys

import numpy as np
import pytest

from gatedrnn.errors import UserError
from gatedrnn.lab.gradflow import GradflowConfig, compare, gradient_flow, plot, state_gradients, summary, to_csv
from gatedrnn.layers import RNN


def _by_label(runs):
    return {(r.cell, r.forget_bias): r for r in runs}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gates_keep_the_gradient_alive_small_case(seed):
    """The issue's ordering on a small case: LSTM (forget bias 1) >> LSTM (forget bias 0) >> tanh RNN."""
    runs = _by_label(compare(("rnn", "lstm", "gru"), forget_biases=(1.0, 0.0), length=30, hidden_size=16, seed=seed))
    lstm1, lstm0, rnn = runs[("lstm", 1.0)].ratio, runs[("lstm", 0.0)].ratio, runs[("rnn", None)].ratio
    assert lstm1 / rnn > 1e5, (lstm1, rnn)
    assert lstm1 / lstm0 > 1e2, (lstm1, lstm0)
    assert lstm0 > rnn
    # the gradient decays towards the start in every cell at default initialisation
    for r in runs.values():
        assert r.dh[0] < r.dh[-1]
        assert r.ratio < 1


def test_weight_scale_shows_vanishing_and_exploding_in_the_rnn():
    small = gradient_flow("rnn", length=40, hidden_size=32, weight_scale=0.5)
    plain = gradient_flow("rnn", length=40, hidden_size=32)
    big = gradient_flow("rnn", length=40, hidden_size=32, weight_scale=4.0)
    assert small.ratio < plain.ratio < 1 < big.ratio
    assert big.dh[0] > big.dh[-1]


def test_state_gradients_are_the_ones_the_full_backward_carries():
    """For the tanh RNN, dL/dx_t = ((dL/dh_t) * (1 - h_t^2)) @ W_ih: the whole-sequence dx must follow from
    the per-step state gradients that the suffix passes return."""
    rng = np.random.default_rng(0)
    B, T, D, H = 2, 7, 3, 5
    model = RNN(D, H, dtype=np.float64, seed=1)
    x = rng.standard_normal((B, T, D))
    y, _ = model.forward(x)
    dy = np.zeros_like(y)
    dy[:, -1] = rng.standard_normal((B, H))
    dx = model.backward(dy)
    dh = [ds[0] for ds in state_gradients(model, x, dy)] + [dy[:, -1]]   # dL/dh_t, t = 0..T
    W_ih = model.layers[0].Wx                                            # (D, H), x @ W
    for t in range(1, T + 1):
        expect = (dh[t] * (1 - y[:, t - 1] ** 2)) @ W_ih.T
        np.testing.assert_allclose(dx[:, t - 1], expect, rtol=1e-10, atol=1e-14)


def test_state_gradient_matches_central_differences():
    """dL/dh_t of the LSTM against (L(h_t + e) - L(h_t - e)) / 2e, L = sum(h_T), for one t."""
    from gatedrnn.layers import LSTM

    rng = np.random.default_rng(3)
    B, T, D, H, t = 1, 6, 2, 3, 2
    model = LSTM(D, H, dtype=np.float64, seed=0)
    x = rng.standard_normal((B, T, D))
    dy = np.zeros((B, T, H))
    dy[:, -1] = 1.0
    dh, dc = list(state_gradients(model, x, dy))[t]
    _, state = model.forward(x[:, :t])
    h, c = state

    def loss(hh, cc):
        y, _ = model.forward(x[:, t:], (hh, cc))
        return y[:, -1].sum()

    eps = 1e-6
    for k in range(H):
        e = np.zeros_like(h)
        e[0, 0, k] = eps
        assert abs((loss(h + e, c) - loss(h - e, c)) / (2 * eps) - dh[0, 0, k]) < 1e-7
        assert abs((loss(h, c + e) - loss(h, c - e)) / (2 * eps) - dc[0, 0, k]) < 1e-7


def test_csv_and_summary():
    runs = compare(("rnn", "lstm"), length=5, hidden_size=4)
    lines = to_csv(runs).strip().splitlines()
    assert lines[0] == "run,cell,forget_bias,weight_scale,t,dh_norm,dc_norm,dx_norm"
    assert len(lines) == 1 + 2 * 6
    rnn0 = lines[1].split(",")
    assert rnn0[1] == "rnn" and rnn0[4] == "0" and rnn0[6] == "" and rnn0[7] == ""   # no c, no x_0
    lstm_last = lines[-1].split(",")
    assert lstm_last[1] == "lstm" and lstm_last[4] == "5" and lstm_last[5] == "" and float(lstm_last[7]) > 0
    text = summary(runs)
    assert "tanh RNN" in text and "LSTM, forget bias 1" in text and "|dL/dx_1|/|dL/dx_5|" in text


@pytest.mark.parametrize("kwargs, match", [
    (dict(cell="tree"), "cell"),
    (dict(length=1), "length: expected an integer >= 2, got 1"),
    (dict(hidden_size=0), "hidden_size"),
    (dict(weight_scale=-1.0), "weight_scale"),
    (dict(forget_bias=float("nan")), "forget_bias"),
])
def test_bad_arguments_are_one_line_errors(kwargs, match):
    with pytest.raises(UserError, match=match):
        gradient_flow(**kwargs)


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib", reason="plots need matplotlib")
    runs = compare(("rnn", "lstm"), length=6, hidden_size=4)
    path = plot(runs, tmp_path / "g.png", echo=lambda *a: None)
    assert path and (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["g.png"]     # no temporary file left behind


def test_plot_is_skipped_with_a_note_without_matplotlib(tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    notes = []
    runs = compare(("rnn",), length=4, hidden_size=3)
    assert plot(runs, tmp_path / "g.png", echo=notes.append) is None
    assert not (tmp_path / "g.png").exists()
    assert len(notes) == 1 and "matplotlib is not installed" in notes[0]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_norms_agree_with_torch_autograd(cell):
    """The same weights and inputs stepped by torch's cells, gradients by autograd: every ‖∂L/∂h_t‖,
    ‖∂L/∂x_t‖ and the LSTM's cell-path gradient agrees to 1e-9 (relative). The cell-path gradient is what
    reaches c_t through c_{t+1}; autograd's total c_t.grad also holds the path through h_t = o_t tanh(c_t),
    so torch's side routes the cell into the next step through an identity node and reads that node's grad."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: pip install torch")
    from gatedrnn.layers import make_recurrent

    T, H, seed = 25, 8, 4
    flow = gradient_flow(cell, length=T, hidden_size=H, forget_bias=0.0 if cell == "lstm" else 1.0, seed=seed)
    ours = make_recurrent(cell, H, H, 1, forget_bias=0.0, dtype=np.float64, seed=seed)   # as gradient_flow builds it
    x = np.random.default_rng(seed).standard_normal((1, T, H))
    Cell = {"rnn": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}[cell]
    ref = Cell(H, H).double()
    ref.load_state_dict({k[:-3]: torch.tensor(v) for k, v in ours.state_dict().items()})   # weight_ih_l0 -> weight_ih
    xt = torch.tensor(x, requires_grad=True)
    h = torch.zeros(1, H, dtype=torch.float64, requires_grad=True)
    c = torch.zeros(1, H, dtype=torch.float64, requires_grad=True)
    hs, cs = [h], [c]
    for t in range(T):
        if cell == "lstm":
            h, c_new = ref(xt[:, t], (h, c))
            c = c_new * 1.0                          # the carry into step t + 1, a node of its own
            c.retain_grad()
            cs.append(c)
        else:
            h = ref(xt[:, t], h)
        h.retain_grad()
        hs.append(h)
    h.sum().backward()
    dh = np.array([float(v.grad.norm()) for v in hs[:T]])
    dx = np.linalg.norm(xt.grad.numpy()[0], axis=1)
    np.testing.assert_allclose(flow.dh, dh, rtol=1e-9)
    np.testing.assert_allclose(flow.dx, dx, rtol=1e-9)
    if cell == "lstm":
        np.testing.assert_allclose(flow.dc, [float(v.grad.norm()) for v in cs[:T]], rtol=1e-9)


def test_config_checks_every_value():
    assert GradflowConfig().validate().weight_scale == []
    for bad, match in [(dict(cell=["tree"]), "cell"), (dict(cell=[]), "cell: expected one or more values"),
                       (dict(weight_scale=[1.0, -2.0]), "weight_scale: expected a finite positive number, got -2.0"),
                       (dict(forget_bias=[]), "forget_bias"), (dict(length=1), "length")]:
        with pytest.raises(UserError, match=f"^{match}"):
            GradflowConfig(**bad).validate()
