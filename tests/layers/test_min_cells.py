"""minGRU and minLSTM (layers/mingru.py, minlstm.py, scan.py): every way of running the recurrence gives the same
result (all steps at once by each scan, one step at a time by Stream, in pieces with the state carried over), in
float32 and float64; their gradient checks for each scan; float32 over 16,384 steps; and every place that takes a
cell name taking them (language model with the book's initialisation, forecaster, lab, ONNX, the commands).
The gradient checks of the default scan and the PyTorch reference are in test_gradcheck.py/test_torch_parity.py."""

import importlib.util
import json

import numpy as np
import pytest

import gatedrnn as g
from gatedrnn.errors import UserError
from gatedrnn.layers.scan import SCANS, reverse_linear_scan
from gatedrnn.models import LanguageModel, SequenceRegressor
from gatedrnn.models.stream import Stream

MIN = {"mingru": g.MinGRU, "minlstm": g.MinLSTM}
pytestmark = pytest.mark.toy(3000)


def _stack(cell, dtype, scan="loop", D=3, H=8, L=2, scale=2.0, seed=0):
    """A stack whose weights are large enough that the gates span (0, 1) and the candidate both branches of g."""
    stack = MIN[cell](D, H, L, dtype=dtype, seed=seed, scan=scan)
    rng = np.random.default_rng(seed + 1)
    for p in stack.params:
        p[...] = rng.uniform(-1, 1, p.shape) * scale / np.sqrt(max(p.shape[-1], 1))
    return stack


def test_registry_top_level_and_names():
    assert {"mingru", "minlstm"} <= set(g.CELLS) and g.CELLS["mingru"] is g.MinGRU and g.CELLS["minlstm"] is g.MinLSTM
    assert "MinGRU" in g.__all__ and "MinLSTM" in g.__all__
    sd = g.MinLSTM(3, 4, 2, seed=0).state_dict()
    assert {k: v.shape for k, v in sd.items()} == {"weight_ih_l0": (12, 3), "bias_ih_l0": (12,),
                                                  "weight_ih_l1": (12, 4), "bias_ih_l1": (12,)}
    assert all(v.dtype == np.float32 for v in sd.values())
    assert g.MinGRU(3, 4).state_dict()["weight_ih_l0"].shape == (8, 3)
    assert np.all(sd["bias_ih_l0"][:4] == 1.0)                      # the forget block: forget_bias 1.0


def test_input_checks(rng):
    m = g.MinGRU(3, 4, 2, seed=0)
    with pytest.raises(UserError, match="MinGRU input"):
        m.forward(rng.standard_normal((2, 5, 4)))
    with pytest.raises(UserError, match="MinGRU state"):
        m.forward(rng.standard_normal((2, 5, 3)), np.zeros((1, 2, 4)))
    with pytest.raises(UserError, match="scan: expected one of 'loop', 'chunked', 'log', got 'fast'"):
        g.MinGRU(3, 4, scan="fast")
    with pytest.raises(UserError, match="MinLSTM.backward: expected a forward call first"):
        g.MinLSTM(3, 4).backward(np.zeros((1, 2, 4)))


@pytest.mark.parametrize("cell", sorted(MIN))
@pytest.mark.parametrize("scan", SCANS)
@pytest.mark.parametrize("dtype, T, tol", [(np.float32, 4096, 1e-5), (np.float64, 4096, 1e-10)],
                         ids=["float32", "float64"])
def test_all_at_once_equals_one_step_at_a_time(cell, scan, dtype, T, tol, rng):
    stack = _stack(cell, dtype, scan)
    x = rng.standard_normal((2, T, 3)).astype(dtype)
    y, h = stack.forward(x)
    stream = Stream(stack, batch=2)
    out = stream.run(x.transpose(1, 0, 2))
    assert y.dtype == dtype and np.isfinite(y).all()
    assert np.abs(out.transpose(1, 0, 2) - y).max() < tol
    assert np.abs(stream.state - h).max() < tol
    # the initial state, given both ways (lucidrains/minGRU-pytorch#9): negative values included
    s = rng.standard_normal((2, 2, 8)).astype(dtype) * 2
    y2, h2 = stack.forward(x[:, :300], s)
    stream.reset(s)
    out2 = stream.run(x[0:, :300].transpose(1, 0, 2))
    assert np.abs(out2.transpose(1, 0, 2) - y2).max() < tol and np.abs(stream.state - h2).max() < tol


@pytest.mark.parametrize("cell", sorted(MIN))
@pytest.mark.parametrize("scan", SCANS)
def test_a_sequence_in_pieces_equals_it_whole(cell, scan, rng):
    """Carrying the state from one forward to the next gives exactly the whole-sequence result."""
    stack = _stack(cell, np.float64, scan)
    x = rng.standard_normal((3, 257, 3))
    y, h = stack.forward(x)
    ya, ha = stack.forward(x[:, :100])
    yb, hb = stack.forward(x[:, 100:], ha)
    assert np.abs(np.concatenate([ya, yb], axis=1) - y).max() < 1e-12 and np.abs(hb - h).max() < 1e-12


def _forward_backward(stack, x, s, dy, ds) -> list:
    """One forward and backward: the outputs, the last state, the gradients of the input and the state, and the
    parameters' gradients."""
    y, h = stack.forward(x, s)
    dx = stack.backward(dy, ds)
    return [y, h, dx, stack.dstate] + list(stack.grads)


@pytest.mark.parametrize("cell", sorted(MIN))
@pytest.mark.parametrize("scan", [s for s in SCANS if s != "loop"])
def test_every_scan_gives_the_loops_outputs_and_gradients(cell, scan, rng):
    x, s = rng.standard_normal((3, 61, 3)), rng.standard_normal((2, 3, 8))
    dy, ds = rng.standard_normal((3, 61, 8)), rng.standard_normal((2, 3, 8))
    got = []
    for method in ("loop", scan):
        got.append(_forward_backward(_stack(cell, np.float64, method), x, s, dy, ds))
    for a, b in zip(*got):
        assert np.abs(a - b).max() < 1e-12


@pytest.mark.parametrize("cell", sorted(MIN))
@pytest.mark.parametrize("scan", SCANS)
def test_time_ranges_of_the_elementwise_passes_change_nothing(cell, scan, rng, monkeypatch):
    """The layers run their gate math over ranges of time (scan.CHUNK_VALUES values each): ranges of 2 steps
    and a ragged last one give the one-range outputs and gradients, and pass the gradient check."""
    import gatedrnn.layers.scan as scan_module

    x, s = rng.standard_normal((3, 11, 3)), rng.standard_normal((2, 3, 8))
    dy, ds = rng.standard_normal((3, 11, 8)), rng.standard_normal((2, 3, 8))
    got = []
    for values in (scan_module.CHUNK_VALUES, 2 * 3 * 8):
        monkeypatch.setattr(scan_module, "CHUNK_VALUES", values)
        got.append(_forward_backward(_stack(cell, np.float64, scan), x, s, dy, ds))
    for a, b in zip(*got):
        assert np.abs(a - b).max() < 1e-12
    report = g.gradcheck(_stack(cell, np.float64, scan), x[:, :7].copy(), state=s)   # (a view would not be
    assert max(report.values()) < 1e-6, report                                          # perturbed)


@pytest.mark.parametrize("scan", SCANS)
def test_reverse_scan_with_nothing_flowing_in(scan):
    a = np.full((5, 1, 2), 0.5)
    E, dh0 = reverse_linear_scan(a, None, np.ones((1, 2)), scan)
    np.testing.assert_allclose(E[:, 0, 0], 0.5 ** np.arange(4, -1, -1), rtol=1e-14)
    np.testing.assert_allclose(dh0, 0.5 ** 5, rtol=1e-14)


@pytest.mark.parametrize("cell", sorted(MIN))
@pytest.mark.parametrize("scan", [s for s in SCANS if s != "loop"])
def test_gradcheck_of_every_scan(cell, scan, rng):
    stack = MIN[cell](3, 4, 2, dtype=np.float64, seed=1, scan=scan)
    report = g.gradcheck(stack, rng.standard_normal((2, 6, 3)), state=rng.standard_normal((2, 2, 4)))
    assert max(report.values()) < 1e-6, report


@pytest.mark.parametrize("cell", sorted(MIN))
def test_float32_over_16384_steps(cell, rng, capsys):
    """No NaN or Inf, and the float32 result stays near the float64 one (figure printed with -s)."""
    x = rng.standard_normal((2, 16384, 3))
    s32 = _stack(cell, np.float32)
    s64 = _stack(cell, np.float64)
    s64.load_state_dict(s32.state_dict())
    y32, h32 = s32.forward(x)
    y64, _ = s64.forward(x)
    dx = s32.backward(np.ones_like(y32))
    assert np.isfinite(y32).all() and np.isfinite(h32).all() and np.isfinite(dx).all()
    err = float(np.abs(y32 - y64).max())
    with capsys.disabled():
        print(f"\n{cell} float32 vs float64 over T = 16,384: max abs error {err:.2e} (|y| up to {np.abs(y64).max():.2f})")
    assert err < 1e-4


def test_minlstm_gates_saturated_closed_stay_finite():
    m = g.MinLSTM(1, 2, seed=0)
    m.params[0][...] = 0.0
    m.params[1][...] = -200.0                       # f = i = 0 in float32: f' held at 0, h = the candidate
    y, _ = m.forward(np.ones((1, 3, 1), np.float32))
    assert np.isfinite(y).all()


@pytest.mark.parametrize("cell", sorted(MIN))
def test_language_model_with_the_books_initialisation(cell):
    from gatedrnn.lm.build import book_init

    model = LanguageModel(20, 6, 8, 2, cell=cell, seed=0)
    book_init(model, 1.0, np.random.default_rng(0))
    forget = model.rnn.layer_class.forget_gate
    for layer in model.rnn.layers:
        assert np.all(layer.b_ih[8:] == 0) and layer.Wh.size == 0
        assert forget is None or np.all(layer.b_ih[:8] == 1.0)
    y, _ = model.forward(np.arange(12).reshape(2, 6))
    assert y.shape == (2, 6, 20) and np.isfinite(y).all()


@pytest.mark.parametrize("cell", sorted(MIN))
def test_onnx_export_matches_onnxruntime(cell, rng):
    pytest.importorskip("onnx", reason="ONNX export needs the onnx extra")
    pytest.importorskip("onnxruntime", reason="running the export needs onnxruntime")
    from gatedrnn.deploy.onnx import build_onnx, max_abs_diff

    model = SequenceRegressor(3, 16, 2, num_layers=2, cell=cell, seed=1)
    proto = build_onnx(model)
    assert [n.op_type for n in proto.graph.node].count("Scan") == 2
    for B, T in ((1, 1), (4, 37)):
        assert max_abs_diff(model, proto, rng.standard_normal((B, T, 3)).astype(np.float32)) < 1e-4
    proto = build_onnx(model, with_state=True)
    state = rng.standard_normal((2, 4, 16)).astype(np.float32)
    assert max_abs_diff(model, proto, rng.standard_normal((4, 9, 3)).astype(np.float32), state) < 1e-4
    lm = LanguageModel(30, 8, 16, 2, cell=cell, seed=0)
    assert max_abs_diff(lm, build_onnx(lm), rng.integers(0, 30, (3, 11))) < 1e-4


@pytest.mark.parametrize("cell", sorted(MIN))
def test_the_gradient_to_the_initial_state_is_the_product_of_the_keep_gates(cell, rng):
    """No matrix in the path over time: dL/dh_0 = prod_t a_t * dL/dh_T, a_t from the equations."""
    m = _stack(cell, np.float64, L=1)
    x = rng.standard_normal((2, 50, 3))
    _, h = m.forward(x)
    m.backward(None, np.ones_like(h))
    sd = m.state_dict()
    p = x @ sd["weight_ih_l0"].T + sd["bias_ih_l0"]
    sig = 1 / (1 + np.exp(-p))
    a = 1 - sig[..., :8] if cell == "mingru" else sig[..., :8] / (sig[..., :8] + sig[..., 8:16])
    np.testing.assert_allclose(m.dstate[0], np.prod(a, axis=1), rtol=1e-12)


@pytest.mark.parametrize("cell", sorted(MIN))
def test_gradflow_decays_by_the_keep_gates_alone(cell):
    from gatedrnn.lab.gradflow import gradient_flow

    flow = gradient_flow(cell, length=12, hidden_size=6, weight_scale=2.0)
    assert flow.dc is None and np.isfinite(flow.dh).all() and 0 < flow.dh[0] < flow.dh[-1]


@pytest.mark.parametrize("cell", sorted(MIN))
def test_train_eval_generate_stream_export_commands(cell, toy, tmp_path, monkeypatch, capsys):
    import io

    from gatedrnn.cli import main

    out = tmp_path / cell
    assert main(["train", "--corpus", str(toy), "--cell", cell, "--init", "book", "--level", "char", "--embed-size",
                 "8", "--hidden-size", "16", "--num-layers", "2", "--batch-size", "4", "--time-size", "10",
                 "--eval-batch-size", "2", "--optimizer", "adam", "--lr", "0.01", "--epochs", "1",
                 "--out", str(out), "--no-progress"]) == 0
    res = json.loads((out / "results.json").read_text())
    assert 1 < res["test_ppl"] < 30
    assert main(["eval", str(out), "--split", "test"]) == 0
    assert main(["generate", str(out), "--length", "20", "--seed", "1"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("1\n2\n3\n"))
    assert main(["stream", str(out)]) == 0
    capsys.readouterr()
    if importlib.util.find_spec("onnx") is not None:            # the export has its own skip in test_onnx.py
        assert main(["export", str(out), "--onnx", str(tmp_path / "m.onnx")]) == 0
        text = capsys.readouterr().out
        if "max abs difference" in text:                        # onnxruntime installed
            assert float(text.split("max abs difference ")[1].split()[0]) < 1e-4


@pytest.mark.parametrize("cell", sorted(MIN))
def test_forecast_and_task_commands(cell, tmp_path):
    from gatedrnn.cli import main

    t = np.arange(120)
    csv = tmp_path / "wave.csv"
    csv.write_text("t,level\n" + "".join(f"{i},{20 + 4 * np.sin(2 * np.pi * i / 10):.4f}\n" for i in t))
    assert main(["forecast", "--dataset", str(csv), "--column", "level", "--season", "10", "--hidden-size", "8",
                 "--window", "20", "--holdout", "20", "--max-steps", "30", "--no-arima", "--cell", cell,
                 "--out", str(tmp_path / "fc")]) == 0
    assert main(["task", "adding", "--cell", cell, "--length", "8", "--hidden-size", "8", "--max-steps", "10",
                 "--out", str(tmp_path / "task")]) == 0


@pytest.mark.parametrize("cell", sorted(MIN))
@pytest.mark.parametrize("input_size", [1, 3])
def test_forward_leaves_the_weights_alone(cell, input_size, rng):
    """Regression: with one input the (G, D, H) weight blocks were a view of Wx, and the gate blocks' pre-scaling
    (-1/2, -1) multiplied the weights in place on every forward."""
    layer = MIN[cell](input_size, 8, num_layers=2, seed=0)
    before = [np.array(p) for p in layer.params]
    x = rng.standard_normal((2, 9, input_size)).astype(np.float32)
    y1, _ = layer.forward(x)
    y2, _ = layer.forward(x)
    np.testing.assert_array_equal(y1, y2)
    for p, w in zip(layer.params, before):
        np.testing.assert_array_equal(p, w)
