"""The C99 export: compiled with the system compiler (C99, every warning an error), run through ctypes, and
checked against ``Stream`` over 10 000 steps (< 1e-5 in float32) for every cell with a C mapping, 1 and 2 layers,
regressor, language model, bare stack and forecaster; int8 weights against ``QuantizedStream`` (< 1e-6). All the
models of a test go into one library, so that the compiler runs a few times only."""

import numpy as np
import pytest

from gatedrnn.deploy.c99 import c_cells, c_sources, export_c
from gatedrnn.deploy.c99_run import CModel, build, find_cc, random_inputs, reference_run
from gatedrnn.deploy.cells import C_STEPS
from gatedrnn.errors import UserError
from gatedrnn.layers import CELLS, make_recurrent
from gatedrnn.models import LanguageModel, SequenceRegressor
from gatedrnn.models.classifier import SequenceClassifier

STEPS = 10_000

needs_cc = pytest.mark.skipif(find_cc() is None, reason="no C compiler (cc, gcc or clang) on this machine")


def _models(cell):
    return {
        "reg1": SequenceRegressor(3, 12, 2, num_layers=1, cell=cell, seed=1),
        "reg2": SequenceRegressor(3, 12, 2, num_layers=2, cell=cell, seed=2),
        "lm1": LanguageModel(17, 6, 12, num_layers=1, cell=cell, seed=3),
        "lm2": LanguageModel(17, 6, 12, num_layers=2, cell=cell, seed=4),
        "stack": make_recurrent(cell, 3, 12, 2, seed=5),
        "clf": SequenceClassifier(3, 12, 4, num_layers=2, cell=cell, seed=6),
    }


STANDARDIZE = {"clf": ([1.0, -2.0, 0.5], [2.0, 0.5, 1.5])}     # raw inputs, standardised inside the C step


def _check(models, folder, int8, tol):
    for name, m in models.items():
        export_c(m, folder, prefix=name, int8=int8, standardize=STANDARDIZE.get(name))
    lib = build(folder, list(models))
    for name, m in models.items():
        xs = random_inputs(m, STEPS)
        ys, refused = CModel(lib, folder, name).run(xs)
        ref = reference_run(m, xs, int8=int8, standardize=STANDARDIZE.get(name))
        ref = ref.astype(np.float32)                # C's y is float32
        assert refused == 0 and ys.shape == ref.shape
        assert np.abs(ys - ref).max() < tol, (name, np.abs(ys - ref).max())


@needs_cc
@pytest.mark.parametrize("cell", c_cells())
def test_c_export_equals_stream_over_10000_steps(cell, tmp_path):
    _check(_models(cell), tmp_path, int8=False, tol=1e-5)


@needs_cc
@pytest.mark.parametrize("cell", c_cells())
def test_c_int8_equals_the_quantised_python_reference(cell, tmp_path):
    models = _models(cell)
    _check({k: models[k] for k in ("reg2", "lm1", "clf")}, tmp_path, int8=True, tol=1e-6)



@needs_cc
def test_c_step_refuses_bad_input_and_keeps_its_state(tmp_path):
    reg, lm = SequenceRegressor(2, 4, 1, seed=0), LanguageModel(5, 3, 4, seed=0)
    export_c(reg, tmp_path, prefix="reg")
    export_c(lm, tmp_path, prefix="lm")
    lib = build(tmp_path, ["reg", "lm"])
    c = CModel(lib, tmp_path, "reg")
    good = np.array([[0.5, -1.0], [1.0, 2.0]], dtype=np.float32)
    want, _ = c.run(good)
    c.reset()
    ys, bad = c.run(np.array([[0.5, -1.0], [np.nan, 0.0], [np.inf, 1.0], [1.0, 2.0]], dtype=np.float32))
    assert bad == 2 and np.array_equal(ys[[0, 3]], want)
    c = CModel(lib, tmp_path, "lm")
    want, _ = c.run([1, 2])
    c.reset()
    ys, bad = c.run([1, 5, -1, 2])
    assert bad == 2 and np.array_equal(ys[[0, 3]], want)


def test_the_sources_are_c99_with_only_math_h(tmp_path):
    header, source = c_sources(SequenceRegressor(2, 3, 1, seed=0), prefix="tiny")
    includes = [line for line in (header + source).splitlines() if line.startswith("#include")]
    assert includes == ["#include <math.h>", '#include "tiny.h"']
    assert "malloc" not in source and "static const float tiny_b0[12]" in source
    assert "int tiny_step(tiny_state *s, const float *x, float *y);" in header
    assert "#define TINY_INPUT_SIZE 2" in header and "#define TINY_OUTPUT_SIZE 1" in header
    _, source8 = c_sources(SequenceRegressor(2, 3, 1, seed=0), prefix="tiny", int8=True)
    assert "static const signed char tiny_x0_0_q[24]" in source8


def test_a_cell_without_a_c_mapping_is_one_line_and_nothing_written(tmp_path, monkeypatch):
    assert set(c_cells()) >= {"gru", "lstm", "rnn"}
    if set(c_cells()) == set(CELLS):                       # every cell has one: take it away from one of them
        monkeypatch.delitem(C_STEPS, "rnn")
    missing = [name for name in CELLS if name not in c_cells()]
    with pytest.raises(UserError, match=rf"C export: expected a cell with a C mapping \({', '.join(c_cells())}\), "
                                        rf"got {missing[0]}$"):
        export_c(SequenceRegressor(2, 3, 1, cell=missing[0], seed=0), tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("bad, message", [
    ("1model", "C prefix: expected a C identifier"), ("my-model", "C prefix: expected a C identifier"),
])
def test_bad_prefix_or_model_is_refused(tmp_path, bad, message):
    with pytest.raises(UserError, match=message):
        export_c(SequenceRegressor(2, 3, 1, seed=0), tmp_path / "out", prefix=bad)
    with pytest.raises(UserError, match="Stream: expected a SequenceRegressor, LanguageModel or"):
        export_c(object(), tmp_path / "out")
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="expected a folder .* got a file"):
        export_c(SequenceRegressor(2, 3, 1, seed=0), tmp_path / "file")
    diverged = SequenceRegressor(2, 3, 1, seed=0)
    diverged.head.W[0, 0] = np.nan
    with pytest.raises(UserError, match=r"C export: expected finite weights, got NaN or Inf"):
        export_c(diverged, tmp_path / "out")
    assert not (tmp_path / "out").exists() and (tmp_path / "file").read_text() == "x"


@pytest.fixture
def checkpoint(tmp_path):
    from gatedrnn.train.checkpoint import save_checkpoint

    return save_checkpoint(tmp_path / "run" / "model", SequenceRegressor(2, 6, 1, seed=0), meta={})


@pytest.mark.parametrize("int8", [False, True])
def test_cli_export_c_writes_and_checks_a_regressor(checkpoint, tmp_path, capsys, int8):
    from gatedrnn.cli import main

    out = tmp_path / "c"
    assert main(["export", str(tmp_path / "run"), "--c", str(out), "--prefix", "sun"] + ["--int8"] * int8) == 0
    lines = capsys.readouterr().out.splitlines()
    assert sorted(p.name for p in out.iterdir()) == ["sun.c", "sun.h"]
    assert lines[0].startswith(f"wrote {out / 'sun.h'} and {out / 'sun.c'} (") and lines[0].endswith(
        f"SequenceRegressor, LSTM 6 units x 1, {'int8' if int8 else 'float32'} weights")
    if find_cc() is not None:
        assert "max abs difference" in lines[1] and float(lines[1].split("difference ")[1].split()[0]) < 1e-5


def test_cli_export_c_bad_targets_are_one_line_and_write_nothing(checkpoint, tmp_path, capsys):
    from gatedrnn.cli import main
    from gatedrnn.train.checkpoint import save_checkpoint

    before = {p.name: p.read_bytes() for p in checkpoint.iterdir()}
    (tmp_path / "afile").write_text("keep")
    missing = [name for name in CELLS if name not in c_cells()]
    cases = [(str(checkpoint / "c"), "expected a folder outside the checkpoint folder"),
             (str(tmp_path / "afile"), "expected a folder (for model.h and model.c), got a file")]
    for target, message in cases:
        assert main(["export", str(tmp_path / "run"), "--c", target]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    if missing:
        save_checkpoint(tmp_path / "other", SequenceRegressor(2, 3, 1, cell=missing[0], seed=0))
        assert main(["export", str(tmp_path / "other"), "--c", str(tmp_path / "new")]) == 2
        err = capsys.readouterr().err
        assert "C export: expected a cell with a C mapping" in err and err.count("\n") == 1
    assert main(["export", str(tmp_path / "run"), "--onnx", str(tmp_path / "m.onnx"), "--int8"]) == 2
    assert "--int8: expected --c DIR" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in checkpoint.iterdir()} == before
    assert (tmp_path / "afile").read_text() == "keep" and not (tmp_path / "new").exists()
    assert not (checkpoint / "c").exists() and not (tmp_path / "m.onnx").exists()


def test_a_classifier_reads_logits_of_the_sequence_so_far(tmp_path):
    clf = SequenceClassifier(3, 5, 3, seed=0)
    header, _ = c_sources(clf, prefix="clf", standardize=STANDARDIZE["clf"])
    assert "CLF_OUTPUT_SIZE class logits out" in header and "standardised inside" in header
    with pytest.raises(UserError, match="Stream: expected a SequenceClassifier with pooling 'last'"):
        export_c(SequenceClassifier(3, 5, 3, pooling="mean", seed=0), tmp_path / "out")
    with pytest.raises(UserError, match="C export standardize: expected finite .mean, std > 0. of 3 values"):
        export_c(clf, tmp_path / "out", standardize=([0.0, 0.0, 0.0], [1.0, 0.0, 1.0]))
    assert not (tmp_path / "out").exists()


def test_cli_export_c_of_a_classifier_checkpoint(tmp_path, capsys):
    from gatedrnn.cli import main
    from gatedrnn.train.checkpoint import save_checkpoint

    mean, std = STANDARDIZE["clf"]
    meta = {"classifier": {"classes": ["walk", "run", "rest"], "mean": mean, "std": std}}
    save_checkpoint(tmp_path / "ck", SequenceClassifier(3, 5, 3, seed=0), meta=meta)
    assert main(["export", str(tmp_path / "ck"), "--c", str(tmp_path / "c"), "--int8"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("SequenceClassifier, LSTM 5 units x 1, int8 weights, raw inputs standardised inside; "
                             "logits of the classes walk, run, rest")
    if find_cc() is not None:
        assert float(lines[1].split("difference ")[1].split()[0]) < 1e-5
