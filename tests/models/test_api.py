"""The Python API a PyTorch or Keras user reaches for: ``layer(x)``, ``gatedrnn.load(path)``, ``model.save(path)``,
and the names the top-level package exports."""

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gatedrnn as g
from gatedrnn.cli import main
from gatedrnn.data.batching import TBPTTBatches
from gatedrnn.data.corpus import load_text
from gatedrnn.data.synthetic import toy_sentences
from gatedrnn.data.vocab import Vocab
from gatedrnn.deploy.pipe import stream_checkpoint
from gatedrnn.models import MODELS

ROOT = Path(__file__).resolve().parents[2]


# -- __call__ ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(g.CELLS))
def test_a_recurrent_stack_called_is_its_forward(name):
    layer = g.CELLS[name](3, 5, 2, seed=0)
    x = np.random.default_rng(0).standard_normal((2, 4, 3)).astype(np.float32)
    y, state = layer(x)
    y2, state2 = layer.forward(x)
    np.testing.assert_array_equal(y, y2)
    y3, _ = layer(x, state)  # positional and keyword arguments go through
    np.testing.assert_array_equal(y3, layer.forward(x, state=state)[0])


def test_every_layer_model_and_loss_is_callable():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    ids = rng.integers(0, 7, size=(2, 3))
    np.testing.assert_array_equal(g.Linear(4, 2, seed=0)(x), g.Linear(4, 2, seed=0).forward(x))
    np.testing.assert_array_equal(g.Embedding(7, 4, seed=0)(ids), g.Embedding(7, 4, seed=0).forward(ids))
    np.testing.assert_array_equal(g.Dropout(0.5, seed=0).eval()(x), x)
    lm = g.LanguageModel(7, 4, 4, seed=0)
    np.testing.assert_array_equal(lm(ids)[0], lm.forward(ids)[0])
    reg = g.SequenceRegressor(4, 5, 2, many_to_one=True, seed=0)
    assert reg(x)[0].shape == (2, 2)
    logits = lm(ids)[0]
    assert g.SoftmaxCrossEntropy()(logits, ids) == pytest.approx(g.SoftmaxCrossEntropy().forward(logits, ids))
    assert g.MSE()(x, np.zeros_like(x)) == pytest.approx(float(np.mean(x.astype(np.float64) ** 2)))


# -- save and load ----------------------------------------------------------------------------------------------
def test_a_saved_model_loads_back_with_the_same_outputs(tmp_path):
    model = g.LanguageModel(11, 6, 8, num_layers=2, cell="gru", seed=3)
    path = model.save(tmp_path / "lm")
    back = g.load(path)
    assert type(back) is g.LanguageModel and not back.training
    assert back.checkpoint == path and back.meta["model"]["config"] == model.config
    ids = np.arange(10).reshape(2, 5)
    np.testing.assert_array_equal(back(ids)[0], model.eval()(ids)[0])
    for name, w in model.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[name], w)


def test_load_reads_a_training_run_folder_and_save_drops_the_training_state(tmp_path):
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((4, 6, 2)).astype(np.float32), rng.standard_normal((4, 6, 1)).astype(np.float32)
    model = g.SequenceRegressor(2, 4, 1, seed=0)
    trainer = g.Trainer(model, g.MSE(), g.Adam(model.params, model.grads, lr=0.01), train_data=[(x, t)],
                        valid_data=[(x, t)], epochs=2, out_dir=tmp_path / "run", plot=False,
                        meta={"note": "kept"})
    trainer.fit()
    back = g.load(tmp_path / "run")  # the run folder: its best/ checkpoint
    assert back.checkpoint == tmp_path / "run" / "best"
    assert back.meta["note"] == "kept" and "trainer" in back.meta and "optimizer" in back.meta
    saved = back.save(tmp_path / "plain")
    meta = json.loads((saved / "meta.json").read_text())
    assert meta["note"] == "kept" and not {"trainer", "optimizer", "rng", "callbacks"} & set(meta)
    assert not (saved / "extra.npz").exists()
    np.testing.assert_array_equal(g.load(saved)(x)[0], back(x)[0])
    explicit = back.save(tmp_path / "explicit", meta={"series": {"kind": "other"}, "trainer": {}})
    assert json.loads((explicit / "meta.json").read_text())["series"] == {"kind": "other"}
    assert "trainer" not in json.loads((explicit / "meta.json").read_text())


def test_a_saved_language_model_with_its_vocabulary_generates_from_the_command_line(tmp_path, capsys):
    vocab = Vocab.build(list("abcab cab"), level="char")
    model = g.LanguageModel(len(vocab), 4, 6, seed=0)
    model.save(tmp_path / "lm", meta={"vocab": vocab.to_dict()})
    assert main(["generate", str(tmp_path / "lm"), "--start", "ab", "--length", "5", "--seed", "0"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ab") and len(out.strip()) >= 5


def test_a_saved_language_model_with_its_corpus_evaluates_from_the_command_line(tmp_path, capsys):
    (tmp_path / "toy.txt").write_text(toy_sentences(3000, seed=0))
    corpus = load_text(tmp_path / "toy.txt", "char")
    model = g.LanguageModel(len(corpus.vocab), 4, 8, seed=0)
    model.save(tmp_path / "lm", meta={"vocab": corpus.vocab.to_dict(), "corpus": corpus.spec})
    assert main(["eval", str(tmp_path / "lm"), "--split", "valid"]) == 0
    expected = np.exp(g.evaluate(model, g.SoftmaxCrossEntropy(), TBPTTBatches(corpus.valid, 10, 35)))
    assert f"valid perplexity {expected:.2f}" in capsys.readouterr().out


def test_a_saved_regressor_streams_and_exports(tmp_path, capsys):
    pytest.importorskip("onnx")
    model = g.SequenceRegressor(2, 4, 1, seed=0)
    model.save(tmp_path / "reg")
    out = io.StringIO()
    stream_checkpoint(tmp_path / "reg", io.StringIO("0.5 1\n-1 0\n"), out)
    x = np.array([[[0.5, 1.0], [-1.0, 0.0]]], dtype=np.float32)
    expected = model.eval()(x)[0][0, :, 0]
    np.testing.assert_allclose([float(v) for v in out.getvalue().split()], expected, rtol=1e-5)
    assert main(["export", str(tmp_path / "reg"), "--onnx", str(tmp_path / "reg.onnx")]) == 0
    assert (tmp_path / "reg.onnx").stat().st_size > 0


def test_load_says_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="expected a checkpoint folder"):
        g.load(tmp_path / "nothing")


def test_every_registered_model_class_has_save_and_meta():
    for cls in MODELS.values():
        assert issubclass(cls, g.Model)


# -- the package ------------------------------------------------------------------------------------------------
def test_the_top_level_exports():
    for name in ("LSTM", "GRU", "RNN", "CELLS", "LanguageModel", "SequenceRegressor", "Trainer", "SGD", "Momentum",
                 "AdaGrad", "RMSprop", "Adam", "load", "UserError", "gradcheck", "Model", "evaluate"):
        assert name in g.__all__ and hasattr(g, name), name
    assert all(hasattr(g, name) for name in g.__all__)
    assert issubclass(g.UserError, ValueError)


def test_import_gatedrnn_pulls_in_no_optional_dependency():
    code = ("import sys, gatedrnn; heavy = [m for m in ('torch', 'matplotlib', 'onnx', 'onnxruntime', 'statsmodels', "
            "'pandas', 'tqdm', 'tensorboardX') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_version_is_written_once_and_shown_by_the_cli(capsys):
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "gatedrnn.__version__"}
    assert f"## [{g.__version__}]" in (ROOT / "CHANGELOG.md").read_text()
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.strip() == f"gatedrnn {g.__version__}"


def test_the_readme_python_api_example_runs(tmp_path, monkeypatch, capsys):
    text = (ROOT / "README.md").read_text()
    start = text.index("```python", text.index("## Python API")) + len("```python")
    monkeypatch.chdir(tmp_path)
    exec(compile(text[start:text.index("```", start)], "README.md", "exec"), {})
    assert (tmp_path / "my-model" / "meta.json").is_file() and "epoch 1/1" in capsys.readouterr().out


def test_ci_runs_exactly_the_readmes_second_command():
    text = (ROOT / "README.md").read_text()
    block = text[text.index("```bash") + len("```bash"):text.index("```", text.index("```bash") + 7)]
    commands = [line for line in block.splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2 and "gatedrnn quickstart" in commands[0] and "GATEDRNN_DATA" not in commands[1]
    assert commands[1] in (ROOT / ".ci" / "run").read_text().splitlines()


def test_the_license_file_is_mit_and_shipped():
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Copyright (c) 2026 the gatedrnn authors" in text
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert set(project["optional-dependencies"]["all"]) >= {*project["optional-dependencies"]["plot"],
                                                           *project["optional-dependencies"]["onnx"],
                                                           *project["optional-dependencies"]["forecast"]}
