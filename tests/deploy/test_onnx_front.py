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


SHORT_CHILD = r"""
import json, sys
import numpy as np
from gatedrnn.deploy.onnx import run_onnx
from gatedrnn.deploy.onnx_front import build_front_onnx
from gatedrnn.models.classifier import SequenceClassifier
from gatedrnn.models.front import export_front
from gatedrnn.models.stream import Stream

report = []
for case in json.loads(sys.argv[1]):
    m = SequenceClassifier(2, 5, 3, num_layers=2, seed=1, **case).eval()
    proto, k = build_front_onnx(m), export_front(m).frame_size
    for n in range(k + 1):
        x = np.random.default_rng(n).standard_normal((2, n, 2)).astype(np.float32)
        out = run_onnx(proto, x)
        ref = [Stream(m).run(x[b])[k - 1:k] for b in range(2)]
        report.append({"case": case, "n": n, "shapes": [list(o.shape) for o in out],
                       "state": max(float(np.abs(o).max()) for o in out[1:]),
                       "diff": max(float(np.abs(out[0][b] - ref[b]).max()) for b in range(2)) if n == k else 0.0})
print(json.dumps(report))
"""
SHORT_CASES = [dict(cell="gru", pooling="mean"), dict(cell="mingru", pooling="max"),
               *(dict(cell="gru", frame=4, pooling=p) for p in ("last", "mean", "max")),
               dict(cell="lstm", frame=4, pooling="max", norm="running", conv=3, conv_kernel=5),
               dict(cell="gru", frame=3, pooling="max", conv=4, conv_kernel=3, conv_layers=3, conv_norm="layer",
                    conv_residual=True),
               dict(cell="minlstm", frame=2, pooling="last", conv=2, conv_kernel=4, conv_layers=2)]


def test_an_input_shorter_than_one_frame_gives_no_logits_and_the_zero_state():
    """Fewer samples than a frame (none, for frame 1): no frame completes, so the graph gives logits of shape
    (batch, 0, classes) and the zero state, as Stream and the C step give no logits before a frame is whole;
    onnxruntime used to abort the process there (its GRU over zero steps: "terminate called without an active
    exception") or fail (the max pool's Scan, the causal Conv). Run in a child process, so that an abort kills the
    child, not pytest. At exactly one frame the logits equal Stream's after the frame's last sample."""
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    run = subprocess.run([sys.executable, "-c", SHORT_CHILD, json.dumps(SHORT_CASES)], capture_output=True, text=True,
                         timeout=300, env=env)
    assert run.returncode == 0, f"the child ended with {run.returncode}: {run.stderr[-2000:]}"
    report = json.loads(run.stdout)
    assert len(report) == sum(export_front(SequenceClassifier(2, 5, 3, **c)).frame_size + 1 for c in SHORT_CASES)
    for r in report:
        k = export_front(SequenceClassifier(2, 5, 3, **r["case"])).frame_size
        frames = r["n"] // k
        cells = 2 if r["case"]["cell"] == "lstm" else 1
        assert r["shapes"] == [[2, frames, 3]] + [[2, 2, 5]] * cells, r
        assert (r["state"] == 0.0) == (frames == 0), r
        assert r["diff"] < 1e-5, r
