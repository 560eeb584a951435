"""Sequence classification: the SequenceClassifier's gradients, padding invariance, training through the Trainer,
the scikit-learn-shaped ``Classifier``, checkpoints, ``gatedrnn classify`` and its bad input."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

import gatedrnn as g
from gatedrnn.classify import Classifier, ClassifyConfig
from gatedrnn.classify.baselines import EXTRA_NOTE
from gatedrnn.classify.config import make_config
from gatedrnn.classify.model import pad
from gatedrnn.classify.run import format_table
from gatedrnn.classify.run import run as classify_run
from gatedrnn.cli import main
from gatedrnn.deploy.c99 import export_c
from gatedrnn.deploy.c99_run import find_cc
from gatedrnn.errors import UserError
from gatedrnn.layers import CELLS, SoftmaxCrossEntropy
from gatedrnn.models import MODELS, Padded, SequenceClassifier


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
def test_classifier_gradcheck(cell, pooling, rng):
    model = SequenceClassifier(3, 4, 3, 2, cell=cell, pooling=pooling, dtype="float64", seed=1)
    batch = Padded(rng.standard_normal((4, 6, 3)), np.array([6, 2, 1, 4]))
    t = np.array([0, 2, 1, 2])
    ce = SoftmaxCrossEntropy()

    def loss(out):
        value = ce.forward(out[0], t)
        return value, ce.backward()

    report = g.gradcheck(model, batch, loss=loss, max_checks=10)
    assert max(report.values()) < 1e-6, report


@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
def test_classifier_matches_torch(pooling, rng):
    """Logits, every weight's gradient and the input's against PyTorch's LSTM and Linear run on each sequence
    alone (its own length), read as the pooling says: < 1e-9 in float64."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: pip install torch (CI installs it)")
    model = SequenceClassifier(3, 4, 3, 2, cell="lstm", pooling=pooling, dtype="float64", seed=1)
    lstm, lin = torch.nn.LSTM(3, 4, 2, batch_first=True).double(), torch.nn.Linear(4, 3).double()
    model.rnn.load_state_dict({k: v.detach().numpy() for k, v in lstm.state_dict().items()})
    model.head.W[...], model.head.b[...] = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    x, L = rng.standard_normal((4, 6, 3)), np.array([6, 2, 1, 4])
    logits, _ = model.forward(Padded(x, L))
    dl = rng.standard_normal(logits.shape)
    dx = model.backward(dl)
    xt = torch.tensor(x, requires_grad=True)
    pool = {"last": lambda y: y[0, -1], "mean": lambda y: y[0].mean(0), "max": lambda y: y[0].max(0).values}[pooling]
    want = torch.stack([lin(pool(lstm(xt[b:b + 1, :n])[0])) for b, n in enumerate(L)])
    (want * torch.tensor(dl)).sum().backward()
    assert np.abs(logits - want.detach().numpy()).max() < 1e-9
    assert np.abs(dx - xt.grad.numpy()).max() < 1e-9
    grads = {f"{name}.{k}": v for name, part in (("rnn", model.rnn), ("head", model.head))
             for k, v in part.grad_dict().items()}                   # in PyTorch's names and layout
    for name, p in list(lstm.named_parameters(prefix="rnn")) + list(lin.named_parameters(prefix="head")):
        assert np.abs(grads[name] - p.grad.numpy()).max() < 1e-9, name


def test_max_pooling_reads_valid_steps_only_and_ties_go_to_the_first():
    model = SequenceClassifier(2, 3, 2, pooling="max", dtype="float64", seed=0)
    y = np.array([[[1.0, 5.0, 2.0], [1.0, 5.0, 3.0], [0.0, 9.0, 9.0]]])    # length 2: the 9s are padding
    assert model._max_pool(y, np.array([2])).tolist() == [[1.0, 5.0, 3.0]]
    assert model._argmax.tolist() == [[0, 0, 1]]                           # where backward sends each unit's gradient


@pytest.mark.parametrize("pooling", ["last", "mean", "max"])
def test_padding_does_not_change_the_logits(pooling, rng):
    model = SequenceClassifier(2, 5, 3, cell="lstm", pooling=pooling, dtype="float64", seed=0).eval()
    x = rng.standard_normal((1, 4, 2))
    alone, _ = model.forward(x)
    padded = np.concatenate([x, rng.standard_normal((1, 5, 2))], axis=1)   # garbage past the length
    together, _ = model.forward(Padded(np.concatenate([padded, rng.standard_normal((1, 9, 2))]), np.array([4, 9])))
    np.testing.assert_allclose(together[0], alone[0], atol=1e-12)


def test_padded_slices_by_rows():
    p = Padded(np.zeros((5, 3, 2)), np.array([1, 2, 3, 3, 2]))
    assert len(p) == 5 and p[1:3].lengths.tolist() == [2, 3] and p[1:3].x.shape == (2, 3, 2)


def test_fit_predict_score_save_load(tmp_path, rng, toy_classes):
    X, y = toy_classes.by_sign(80, rng)
    clf = Classifier(cell="gru", hidden_size=8, max_steps=120, batch_size=16, lr=2e-2, seed=0).fit(X, y)
    Xt, yt = toy_classes.by_sign(60, rng)
    assert clf.score(Xt, yt) > 0.85
    assert clf.weight_bytes == 4 * clf.model.num_params() < 50_000
    p = clf.predict_proba(Xt)
    assert p.shape == (60, 2) and np.allclose(p.sum(axis=1), 1)
    assert list(clf.classes_) == ["down", "up"] and set(clf.predict(Xt)) <= {"down", "up"}
    clf.save(tmp_path / "clf")
    back = Classifier.load(tmp_path / "clf")
    np.testing.assert_allclose(back.predict_proba(Xt), p, atol=1e-6)
    assert isinstance(g.load(tmp_path / "clf"), Classifier) and "SequenceClassifier" in MODELS   # the whole estimator


def test_bad_input(rng, toy_classes):
    X, y = toy_classes.by_sign(10, rng)
    with pytest.raises(UserError, match="y: expected 10 labels"):
        Classifier().fit(X, y[:5])
    with pytest.raises(UserError, match="at least 2 classes"):
        Classifier().fit(X, np.zeros(10))
    with pytest.raises(UserError, match=r"X\[1\]: expected 2 dimensions, got 3"):
        Classifier().fit([X[0], np.zeros((4, 3))], y[:2])
    with pytest.raises(UserError, match=r"X\[0\]: expected an array \(length >= 1"):
        Classifier().fit([np.zeros((0, 2))] + X[1:], y)
    with pytest.raises(UserError, match="expected a fitted classifier"):
        Classifier().predict(X)
    clf = Classifier(hidden_size=4, max_steps=2).fit(X, y)
    with pytest.raises(UserError, match=r"X\[0\]: expected 2 dimensions, got 5"):
        clf.predict([np.zeros((3, 5))])
    model = SequenceClassifier(2, 3, 2)
    with pytest.raises(UserError, match=r"lengths: expected values in \[1, 4\]"):
        model.forward(Padded(np.zeros((2, 4, 2), np.float32), np.array([4, 5])))
    with pytest.raises(UserError, match="pooling"):
        SequenceClassifier(2, 3, 2, pooling="median")


def test_pad():
    p = pad([np.ones((2, 3)), np.ones((4, 3))])
    assert p.x.shape == (2, 4, 3) and p.lengths.tolist() == [2, 4] and not p.x[0, 2:].any()


def _toy_files(tmp_path, rng, toy_classes):
    splits = {split: toy_classes.by_sign(n, rng) for split, n in (("TRAIN", 40), ("TEST", 20))}
    return toy_classes.write_ts(tmp_path, splits, ("down", "up"), digits=5)


def test_cli_classify_prints_the_table(tmp_path, rng, capsys, no_aeon, toy_classes):
    prefix = _toy_files(tmp_path, rng, toy_classes)
    out = tmp_path / "run"
    assert main(["classify", "--dataset", prefix, "--cell", "lstm", "gru", "--seeds", "2", "--hidden-size", "4",
                 "--max-steps", "15", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Toy: test accuracy (%)" in text and "LSTM (4 units)" in text and "GRU (4 units)" in text
    assert EXTRA_NOTE in text
    res = json.loads((out / "results.json").read_text())
    assert [len(r["accs"]) for r in res["rows"]] == [2, 2]
    assert make_config(out / "config.json").cell == ["lstm", "gru"]
    assert Classifier.load(out / "lstm").predict([np.zeros((3, 2))]).shape == (1,)


def test_max_pooling_end_to_end(tmp_path, rng, capsys, no_aeon, toy_classes):
    """Classifier(pooling="max") fits, saves and loads with the same probabilities; ``classify --pooling max`` trains
    it, records it in its config and checkpoints, and its checkpoint (with a front end) exports to C and ONNX."""
    X, y = toy_classes.by_sign(40, rng)
    clf = Classifier(cell="gru", hidden_size=6, pooling="max", max_steps=30, batch_size=16, lr=2e-2, seed=0).fit(X, y)
    p = clf.predict_proba(X)
    clf.save(tmp_path / "clf")
    back = Classifier.load(tmp_path / "clf")
    assert back.model.pooling == "max" and np.abs(back.predict_proba(X) - p).max() < 1e-6
    prefix, out = _toy_files(tmp_path, rng, toy_classes), tmp_path / "run"
    assert main(["classify", "--dataset", prefix, "--cell", "gru", "--seeds", "1", "--hidden-size", "4", "--max-steps",
                 "10", "--no-select", "--frame", "2", "--pooling", "max", "--out", str(out)]) == 0
    assert "max pooling" in capsys.readouterr().out and make_config(out / "config.json").pooling == "max"
    assert Classifier.load(out / "gru").model.pooling == "max"
    if find_cc() is not None:
        assert main(["export", str(out / "gru"), "--c", str(tmp_path / "c")]) == 0
        assert "max pooling" in capsys.readouterr().out and (tmp_path / "c" / "model.c").is_file()
    with pytest.raises(UserError, match="got pooling 'max'"):
        export_c(SequenceClassifier(2, 3, 2, pooling="max"), tmp_path / "plain")   # no front end: as mean, one line


def test_cli_bad_dataset_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GATEDRNN_DATA", str(tmp_path))
    assert main(["classify", "--dataset", "japanesevowels", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "JapaneseVowels_TRAIN.ts" in err and "\n" not in err
    (tmp_path / "Bad_TRAIN.ts").write_text("@problemName Bad\n@classLabel true a\n@data\n1:b\n")
    (tmp_path / "Bad_TEST.ts").write_text("@problemName Bad\n@classLabel true a\n@data\n1:a\n")
    assert main(["classify", "--dataset", str(tmp_path / "Bad")]) == 2
    assert "Bad_TRAIN.ts line 4: expected a label in @classLabel a, got 'b'" in capsys.readouterr().err


def test_config_defaults_and_checks():
    cfg = ClassifyConfig(dataset="x")
    assert cfg.validate().cell and "rnn" not in cfg.cell and all(c in CELLS for c in cfg.cell)
    with pytest.raises(UserError, match="dataset"):
        ClassifyConfig().validate()
    with pytest.raises(UserError, match="at least one cell"):
        ClassifyConfig(dataset="x", cell=[]).validate()


def test_format_table_verdict():
    rows = [{"method": "LSTM (8 units)", "accs": [0.97, 0.98], "seconds": 1.0, "bytes": 4000},
            {"method": "MiniRocket (aeon)", "accs": [0.975], "seconds": 2.0}]
    text = format_table("T", rows)
    assert "97.50 ± 0.71" in text and "goal (within 1 point, < 50 kB) met" in text


SHARED = Path(os.environ.get("GATEDRNN_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))


def test_real_dataset_smoke(no_aeon):
    if not (SHARED / "uea" / "JapaneseVowels").is_dir():
        pytest.skip(f"JapaneseVowels is not under {SHARED}/uea")
    cfg = ClassifyConfig(dataset="japanesevowels", cell=["gru"], seeds=1, hidden_size=16, max_steps=60)
    res = classify_run(cfg, data_dir=SHARED, echo=lambda *a: None)
    assert res["rows"][0]["accs"][0] > 0.6
