"""The ONNX export of a classifier with a front end (issue 24 item 2: frames, causal conv, running norm): the logits
after every frame of a long random input equal Stream's at the frames' ends and the classifier's forward, for every
front end and their combination, last, mean and max pooling, every cell; the command; --with-state is one line."""

import numpy as np
import pytest

from gatedrnn.errors import UserError
from gatedrnn.layers import CELLS
from gatedrnn.models.classifier import SequenceClassifier
from gatedrnn.models.front import export_front
from gatedrnn.models.stream import Stream

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

FRONTS = {"frame": dict(frame=3), "conv": dict(conv=4, conv_kernel=3), "norm": dict(norm="running"),
          "all": dict(norm="running", conv=3, conv_kernel=5, frame=4), "conv1": dict(conv=2, conv_kernel=1, frame=2)}


def _every_frame_equals_stream(m, n=3000, seed=0):
    from gatedrnn.deploy.onnx import max_abs_diff, run_onnx
    from gatedrnn.deploy.onnx_front import build_front_onnx

    proto = build_front_onnx(m)
    front = export_front(m)                                        # a pass-through one for a model without
    x = np.random.default_rng(seed).standard_normal((2, n, front.input_size)).astype(np.float32)
    out = run_onnx(proto, x)[0]
    k = front.frame_size
    assert out.shape == (2, n // k, m.head.out_features)
    for b in range(2):
        ref = Stream(m).run(x[b])[k - 1::k][: n // k]
        assert np.abs(out[b] - ref).max() < 1e-5
    assert max_abs_diff(m, proto, x) < 1e-5                       # the last frame's logits and h_n against forward


@pytest.mark.parametrize("front", list(FRONTS))
@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
def test_onnx_logits_after_every_frame_equal_stream(front, pooling):
    _every_frame_equals_stream(SequenceClassifier(2, 8, 3, num_layers=2, cell="lstm", pooling=pooling, seed=1,
                                                  **FRONTS[front]).eval())


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_mean_or_max_pooling_without_a_front_end(pooling, tmp_path, capsys):
    """No front end, a running pool: the graph's logits after every sample equal Stream's; ``gatedrnn export``
    writes it, and ``--with-state`` is one line."""
    from gatedrnn.cli import main
    from gatedrnn.train.checkpoint import save_checkpoint

    m = SequenceClassifier(2, 8, 3, num_layers=2, cell="lstm", pooling=pooling, seed=1).eval()
    _every_frame_equals_stream(m, n=1000)
    save_checkpoint(tmp_path / "ck", m)
    assert main(["export", str(tmp_path / "ck"), "--onnx", str(tmp_path / "m.onnx")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"without a front end, LSTM 8 units x 2, {pooling} pooling" in lines[0]
    assert float(lines[1].split("difference ")[1].split()[0]) < 1e-5
    assert main(["export", str(tmp_path / "ck"), "--onnx", str(tmp_path / "s.onnx"), "--with-state"]) == 2
    assert f"expected a classifier with last pooling, got {pooling} pooling" in capsys.readouterr().err


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_every_cell_behind_a_front_end(cell):
    _every_frame_equals_stream(SequenceClassifier(2, 6, 3, cell=cell, seed=2, **FRONTS["all"]).eval(), n=600)


def test_cli_export_onnx_of_a_front_end_classifier(tmp_path, capsys):
    from gatedrnn.cli import main
    from gatedrnn.train.checkpoint import save_checkpoint

    meta = {"classifier": {"classes": ["a", "b", "c"], "mean": [0.5, -1.0], "std": [2.0, 0.5]}}
    save_checkpoint(tmp_path / "ck", SequenceClassifier(2, 5, 3, cell="gru", seed=0, frame=4, conv=3, norm="running"),
                    meta=meta)
    assert main(["export", str(tmp_path / "ck"), "--onnx", str(tmp_path / "m.onnx")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "front end (frame 4), GRU 5 units x 1, last pooling" in lines[0]
    assert float(lines[1].split("difference ")[1].split()[0]) < 1e-5 and (tmp_path / "m.onnx").exists()
    assert main(["export", str(tmp_path / "ck"), "--onnx", str(tmp_path / "s.onnx"), "--with-state"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--with-state: expected a network without a front end" in err[0]
    assert not (tmp_path / "s.onnx").exists()


def test_a_model_without_a_front_end_is_one_line():
    from gatedrnn.deploy.onnx_front import build_front_onnx

    with pytest.raises(UserError, match="expected a SequenceClassifier with a front end"):
        build_front_onnx(SequenceClassifier(2, 4, 3, seed=0))
