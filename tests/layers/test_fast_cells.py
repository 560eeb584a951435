"""FastRNN and FastGRNN (layers/fastrnn.py, layers/fastgrnn.py): gradient checks in float64, parity (< 1e-9) with a
PyTorch autograd reference of the paper's equations written below, ranks refused in one line, and every command
(train, classify, forecast, stream, export) taking the cells by name."""

import importlib
import io
import json

import numpy as np
import pytest

import gatedrnn as g
from gatedrnn.cli import main
from gatedrnn.errors import UserError
from gatedrnn.layers import CELLS

FAST = ["fastgrnn", "fastrnn"]
RANKS = [{}, {"rank_ih": 2, "rank_hh": 3}]


@pytest.mark.parametrize("cell", FAST)
@pytest.mark.parametrize("ranks", RANKS, ids=["dense", "lowrank"])
@pytest.mark.parametrize("with_state", [False, True])
def test_gradcheck(cell, ranks, with_state, rng):
    stack = CELLS[cell](3, 4, 2, dtype=np.float64, seed=1, **ranks)
    x = rng.standard_normal((2, 5, 3))
    kwargs = {"state": rng.standard_normal((2, 2, 4))} if with_state else {}
    report = g.gradcheck(stack, x, **kwargs)
    assert max(report.values()) < 1e-6, report
    names = {n for n, _, _ in stack.named_params()}
    assert ("weight_hh_1_l0" in names) == bool(ranks) and ("weight_hh_l0" in names) == (not ranks)


@pytest.mark.parametrize("cell", FAST)
def test_gradcheck_with_lengths(cell, rng):
    stack = CELLS[cell](2, 3, 1, dtype=np.float64, seed=2, rank_hh=2)
    report = g.gradcheck(stack, rng.standard_normal((3, 6, 2)), lengths=np.array([6, 2, 4]))
    assert max(report.values()) < 1e-6, report


def _torch_reference(cell, sd, x, h0, ranks):
    """The paper's equations in PyTorch, step by step; sd holds our parameters (logits for the scalars)."""
    torch = pytest.importorskip("torch")
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in sd.items()}
    W = p["weight_ih_1_l0"] @ p["weight_ih_2_l0"] if ranks else p["weight_ih_l0"]
    U = p["weight_hh_1_l0"] @ p["weight_hh_2_l0"] if ranks else p["weight_hh_l0"]
    p["x"] = xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    p["h0"] = h = torch.tensor(h0, dtype=torch.float64, requires_grad=True)
    ys = []
    for t in range(x.shape[1]):
        pre = xt[:, t] @ W + h @ U
        if cell == "fastrnn":
            alpha, beta = torch.sigmoid(p["alpha_logit_l0"]), torch.sigmoid(p["beta_logit_l0"])
            h = alpha * torch.tanh(pre + p["bias_l0"]) + beta * h
        else:
            zeta, nu = torch.sigmoid(p["zeta_logit_l0"]), torch.sigmoid(p["nu_logit_l0"])
            z = torch.sigmoid(pre + p["bias_z_l0"])
            h = (zeta * (1 - z) + nu) * torch.tanh(pre + p["bias_h_l0"]) + z * h
        ys.append(h)
    return torch.stack(ys, 1), p


@pytest.mark.parametrize("cell", FAST)
@pytest.mark.parametrize("ranks", RANKS, ids=["dense", "lowrank"])
def test_forward_backward_match_a_torch_reference(cell, ranks, rng):
    stack = CELLS[cell](3, 5, 1, dtype=np.float64, seed=3, **ranks)
    for p in stack.params:                             # weights large enough that every part of the cell matters
        p[...] = rng.standard_normal(p.shape) * 0.5
    x, h0, dy = rng.standard_normal((2, 7, 3)), rng.standard_normal((2, 5)), rng.standard_normal((2, 7, 5))
    dhT = rng.standard_normal((2, 5))
    y, hT = stack.forward(x, h0[None])
    stack.zero_grad()
    dx, dh0 = stack.backward(dy, dhT[None]), stack.dstate
    ty, tp = _torch_reference(cell, stack.state_dict(), x, h0, ranks)
    torch = __import__("torch")
    ((ty * torch.tensor(dy)).sum() + (ty[:, -1] * torch.tensor(dhT)).sum()).backward()
    assert np.abs(ty.detach().numpy() - y).max() < 1e-9 and np.abs(hT[0] - y[:, -1]).max() == 0
    grads = {**stack.grad_dict(), "x": dx, "h0": dh0[0]}                 # the inputs' and the first state's too
    for name, t in tp.items():
        assert np.abs(t.grad.numpy() - grads[name]).max() < 1e-9, name


@pytest.mark.parametrize("cell", FAST)
def test_bad_ranks_are_one_line(cell):
    with pytest.raises(UserError, match=r"rank_hh: expected an integer in \[1, 4\] \(the smaller side of a 4x4 "
                                        r"matrix\), got 5"):
        CELLS[cell](3, 4, rank_hh=5)
    with pytest.raises(UserError, match="rank_ih: expected a positive integer, got 0"):
        CELLS[cell](3, 4, rank_ih=0)


def test_lowrank_has_fewer_parameters():
    dense, low = g.layers.CELLS["fastgrnn"](32, 64), g.layers.CELLS["fastgrnn"](32, 64, rank_ih=8, rank_hh=8)
    assert dense.num_params() == 32 * 64 + 64 * 64 + 2 * 64 + 2
    assert low.num_params() == 8 * (32 + 64) + 8 * (64 + 64) + 2 * 64 + 2


# -- every command takes the cells by name ---------------------------------------------------------------------
def test_train_a_language_model(tmp_path):
    from gatedrnn.data.synthetic import toy_sentences

    (tmp_path / "toy.txt").write_text(toy_sentences(800, seed=0))
    for cell in FAST:
        assert main(["train", "--corpus", str(tmp_path / "toy.txt"), "--cell", cell, "--level", "char",
                     "--embed-size", "8", "--hidden-size", "8", "--batch-size", "4", "--time-size", "8",
                     "--max-steps", "6", "--epochs", "1", "--no-progress", "--out", str(tmp_path / cell)]) == 0


def _toy_ts(tmp_path, rng):
    head = "@problemName Toy\n@univariate false\n@dimensions 2\n@equalLength true\n@classLabel true a b\n@data\n"
    for split, n in (("TRAIN", 24), ("TEST", 12)):
        rows = []
        for i in range(n):
            x = rng.standard_normal((10, 2)) + (1.0 if i % 2 else -1.0)
            rows.append(":".join(",".join(f"{v:.4f}" for v in x[:, d]) for d in range(2)) + (":b" if i % 2 else ":a"))
        (tmp_path / f"Toy_{split}.ts").write_text(head + "\n".join(rows) + "\n")
    return str(tmp_path / "Toy")


def test_classify_then_export_c(tmp_path, rng, capsys, monkeypatch):
    RUN = importlib.import_module("gatedrnn.classify.run")   # the module (the package exports its run function)
    monkeypatch.setattr(RUN, "available", lambda: False)
    out = tmp_path / "run"
    assert main(["classify", "--dataset", _toy_ts(tmp_path, rng), "--cell", *FAST, "--seeds", "1",
                 "--hidden-size", "4", "--max-steps", "10", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "FastGRNN (4 units)" in text and "FastRNN (4 units)" in text
    res = json.loads((out / "results.json").read_text())
    assert len(res["rows"]) == 2
    for cell in FAST:
        assert main(["export", str(out / cell), "--c", str(tmp_path / f"c_{cell}")]) == 0
        assert (tmp_path / f"c_{cell}").is_dir()


def test_forecast_stream_and_onnx(tmp_path, monkeypatch, capsys):
    pytest.importorskip("onnx", reason="export needs the onnx extra")
    t = np.arange(100)
    (tmp_path / "w.csv").write_text("t,v\n" + "".join(f"{i},{20 + 3 * np.sin(i / 3):.4f}\n" for i in t))
    out = tmp_path / "f"
    assert main(["forecast", "--dataset", str(tmp_path / "w.csv"), "--column", "v", "--cell", "fastgrnn",
                 "--hidden-size", "6", "--window", "12", "--holdout", "12", "--max-steps", "20", "--no-arima",
                 "--out", str(out)]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("20\n21\n22\n"))
    assert main(["stream", str(out)]) == 0
    capsys.readouterr()
    assert main(["export", str(out), "--onnx", str(tmp_path / "m.onnx")]) == 0
    assert "onnx.checker passed" in capsys.readouterr().out
