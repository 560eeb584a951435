"""The C99 export of a classifier with a front end (issue 24 item 2: frames, causal conv, running norm): one raw
sample per C step, the buffers in the state struct, the logits when a frame completes equal to ``Stream``'s (and
the classifier's forward) to < 1e-5 over long random inputs, float32 and int8; refusals, the command, the labels
through the escaper."""

import ctypes
import re

import numpy as np
import pytest

from gatedrnn.deploy.c99 import c_cells, write_sources
from gatedrnn.deploy.c99_front import front_sources
from gatedrnn.deploy.c99_front_run import FrontCModel, build_front, compare, raw_inputs, reference
from gatedrnn.deploy.c99_run import find_cc
from gatedrnn.errors import UserError
from gatedrnn.models.classifier import SequenceClassifier

needs_cc = pytest.mark.skipif(find_cc() is None, reason="no C compiler (cc, gcc or clang) on this machine")
STEPS = 6000
FRONTS = {"frame": dict(frame=3), "conv": dict(conv=4, conv_kernel=3), "norm": dict(norm="running"),
          "all": dict(norm="running", conv=3, conv_kernel=5, frame=4), "conv1": dict(conv=2, conv_kernel=1, frame=2)}
SCALE = ([1.0, -2.0], [2.0, 0.5])


def _export_all(models, folder):
    """Every (model, int8, standardize) of ``models`` exported under its name into one library."""
    for name, (m, int8, st) in models.items():
        header, source = front_sources(m, prefix=name, int8=int8, standardize=st, labels=["a", "b", "c"])
        write_sources(folder, name, header, source)
    return build_front(folder, list(models))


@needs_cc
@pytest.mark.parametrize("front", list(FRONTS))
def test_c_step_equals_stream_and_forward_on_raw_samples(front, tmp_path):
    opts = FRONTS[front]
    models = {}
    for pooling in ("last", "mean", "max"):
        for int8 in (False, True):
            m = SequenceClassifier(2, 8, 3, num_layers=2, cell="lstm" if int8 else "gru", pooling=pooling, seed=3,
                                   **opts).eval()
            models[f"{pooling}{int(int8)}"] = (m, int8, None if pooling == "mean" else SCALE)
    lib = _export_all(models, tmp_path)
    for name, (m, int8, st) in models.items():
        xs = raw_inputs(m, STEPS, st, seed=1)
        ys, flags = FrontCModel(lib, tmp_path, name).run(xs)
        ref = reference(m, xs, int8=int8, standardize=st)
        assert compare(m, ys, flags, ref) < 1e-5, name              # flags 1 every frame, logits equal
        if not int8:                                                # and the classifier's own forward
            z = xs if st is None else (xs - np.array(st[0])) / np.array(st[1])
            want, _ = m.forward(z[None].astype(np.float32))
            assert np.abs(ys[flags == 1][-1] - want[0]).max() < 1e-5, name


@needs_cc
def test_every_cell_with_a_c_mapping_behind_a_front_end(tmp_path):
    models = {cell: (SequenceClassifier(2, 6, 3, cell=cell, seed=5, **FRONTS["all"]).eval(), False, SCALE)
              for cell in c_cells()}
    lib = _export_all(models, tmp_path)
    for name, (m, int8, st) in models.items():
        xs = raw_inputs(m, 2000, st, seed=2)
        ys, flags = FrontCModel(lib, tmp_path, name).run(xs)
        assert compare(m, ys, flags, reference(m, xs, standardize=st)) < 1e-5, name


@needs_cc
def test_a_refused_sample_leaves_the_state_and_memory_is_constant(tmp_path):
    m = SequenceClassifier(2, 6, 3, cell="gru", seed=0, **FRONTS["all"]).eval()
    lib = _export_all({"clf": (m, False, SCALE)}, tmp_path)
    c = FrontCModel(lib, tmp_path, "clf")
    xs = raw_inputs(m, 400, SCALE, seed=3)
    clean, flags = c.run(xs)
    c.reset()
    limit = float(re.search(r"#define CLF_INPUT_LIMIT (\S+)", (tmp_path / "clf.h").read_text()).group(1))
    assert 1e30 < limit < 1e38                                     # Stream's bound: 3e38 standardised is beyond it
    ys, f2 = c.run(np.insert(xs, [5, 17, 17], [[np.nan, 0.0], [0.0, np.inf], [3e38, -3e38]], axis=0))
    assert np.flatnonzero(f2 == -1).tolist() == [5, 18, 19]
    keep = f2 != -1
    np.testing.assert_array_equal(ys[keep][f2[keep] == 1], clean[flags == 1])
    text = (tmp_path / "clf.c").read_text() + (tmp_path / "clf.h").read_text()
    assert re.findall(r"#include\s*<([^>]+)>", text) == ["math.h"] and not re.search(r"\b(malloc|calloc|realloc|alloca)\b", text)
    assert c.state_bytes < 1024 and "CLF_FRAME 4" in text


@needs_cc
def test_cli_export_of_a_front_end_classifier_with_hostile_labels(tmp_path, capsys):
    from gatedrnn.cli import main
    from gatedrnn.deploy.c99_run import compile_c
    from gatedrnn.train.checkpoint import save_checkpoint

    labels = ['*/ int evil; /*', "walk\n#define x", "r\u00e9st\"??/"]
    meta = {"classifier": {"classes": labels, "mean": [0.5, -1.0], "std": [2.0, 0.5]}}
    model = SequenceClassifier(2, 5, 3, cell="gru", pooling="mean", seed=0, frame=4, conv=3, norm="running")
    save_checkpoint(tmp_path / "ck", model, meta=meta)
    for int8 in (False, True):
        out = tmp_path / f"c{int(int8)}"
        assert main(["export", str(tmp_path / "ck"), "--c", str(out)] + ["--int8"] * int8) == 0
        lines = capsys.readouterr().out.splitlines()
        assert "front end running norm + conv 3 x 4 taps + frame 4, GRU 5 units x 1, mean pooling" in lines[0]
        assert float(lines[1].split("difference ")[1].split()[0]) < 1e-5
    lib = compile_c([tmp_path / "c0" / "model.c"], tmp_path / "lib.so")
    names = (ctypes.c_char_p * 3).in_dll(ctypes.CDLL(str(lib)), "model_class_names")
    assert [names[i] for i in range(3)] == [s.encode() for s in labels]


@needs_cc
def test_mean_or_max_pooling_without_a_front_end_one_raw_sample_a_step(tmp_path, capsys):
    """No front end, a running pool: the front-end export with a pass-through front (frame 1), a step per sample equal
    to Stream and the forward over 6,000 samples, float32 and int8, constant state; ``gatedrnn export`` takes it."""
    from gatedrnn.cli import main
    from gatedrnn.train.checkpoint import save_checkpoint

    models = {f"{pooling}{int(int8)}": (SequenceClassifier(2, 8, 3, num_layers=2, cell="lstm" if int8 else "gru",
                                                           pooling=pooling, seed=3).eval(), int8, SCALE)
              for pooling in ("mean", "max") for int8 in (False, True)}
    lib = _export_all(models, tmp_path)
    for name, (m, int8, st) in models.items():
        xs = raw_inputs(m, STEPS, st, seed=1)
        c = FrontCModel(lib, tmp_path, name)
        ys, flags = c.run(xs)
        assert c.frame == 1 and compare(m, ys, flags, reference(m, xs, int8=int8, standardize=st)) < 1e-5, name
        if not int8:
            want, _ = m.forward(((xs - np.array(st[0])) / np.array(st[1]))[None].astype(np.float32))
            assert np.abs(ys[-1] - want[0]).max() < 1e-5, name
        before = c.state_bytes
        c.run(xs)
        assert c.state_bytes == before
    meta = {"classifier": {"classes": ["a", "b", "c"], "mean": SCALE[0], "std": SCALE[1]}}
    save_checkpoint(tmp_path / "ck", models["max0"][0], meta=meta)
    assert main(["export", str(tmp_path / "ck"), "--c", str(tmp_path / "out")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "front end none (one raw sample a step), GRU 8 units x 2, max pooling" in lines[0]
    assert float(lines[1].split("difference ")[1].split()[0]) < 1e-5


def test_unsupported_models_and_bad_settings_are_one_line():
    with pytest.raises(UserError, match="expected a SequenceClassifier with a front end"):
        front_sources(SequenceClassifier(2, 4, 3, seed=0))
    m = SequenceClassifier(2, 4, 3, seed=0, frame=2)
    with pytest.raises(UserError, match=r"standardize: expected finite \(mean, std > 0\) of 2 values"):
        front_sources(m, standardize=([0.0, 0.0], [1.0, 0.0]))
    with pytest.raises(UserError, match=r"labels: expected one label per class \(3\), got 2"):
        front_sources(m, labels=["a", "b"])
    with pytest.raises(UserError, match="C prefix"):
        front_sources(m, prefix="1x")
    z = SequenceClassifier(2, 4, 3, seed=0, conv=2)
    z.front.conv.weight[...] = 0                                    # no bound from the conv: a finite C literal
    assert "#define MODEL_INPUT_LIMIT 1.7976931348623157e+308" in front_sources(z)[0]
