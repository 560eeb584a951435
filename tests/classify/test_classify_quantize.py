"""``Classifier(quantize=...)`` and ``gatedrnn classify --quantize``: quantisation-aware fine-tuning to int8 weights,
optionally with the fixed-point step's int16 states (train/quantize_aware.py), its checks in one line, and the
exports of such a model."""

import importlib

import numpy as np
import pytest

from gatedrnn.classify import Classifier
from gatedrnn.cli import main
from gatedrnn.errors import UserError
from gatedrnn.models.quantize import dequantize, quantize_columns


def _data(rng, n=30):
    X = [rng.standard_normal((10, 2)) + (0.8 if i % 2 else -0.8) for i in range(n)]
    return X, [i % 2 for i in range(n)]


def _on_int8_grid(clf) -> bool:
    named = dict(zip(clf.model.names, clf.model.params))
    mats = [named["rnn.weight_ih_l0"], named["rnn.weight_hh_l0"], named["head.weight"].T]
    return all(np.array_equal(dequantize(*quantize_columns(W)), W) for W in mats)


@pytest.mark.parametrize("quantize", ["int8", "int8-q15"])
def test_quantize_ends_on_the_int8_grid_sparse_too_and_saved_so(quantize, rng, tmp_path):
    X, y = _data(rng)
    clf = Classifier("fastgrnn", 8, max_steps=60, seed=0, select=False, density=0.5, quantize=quantize).fit(X, y)
    assert _on_int8_grid(clf) and clf.score(X, y) > 0.8
    W = dict(zip(clf.model.names, clf.model.params))["rnn.weight_hh_l0"]
    assert np.count_nonzero(W) <= np.ceil(0.5 * W.size)               # the thresholding's support kept
    assert clf.model.rnn.layers[0].state_grid is False
    clf.save(tmp_path / "m")
    assert _on_int8_grid(Classifier.load(tmp_path / "m"))             # the weights as trained (settings are not saved)
    assert not _on_int8_grid(Classifier("fastgrnn", 8, max_steps=60, seed=0, select=False).fit(X, y))


@pytest.mark.parametrize("kw, message", [
    (dict(cell="fastgrnn", quantize="int8", rank_hh=2), "quantize: expected none for a low-rank model (the int8 export "
                                                        "rounds the product of the factors, not the factors), got int8"),
    (dict(cell="lstm", quantize="int8-q15"), "quantize: expected int8 or none for a cell without an integer kernel "
                                             "(int8-q15: fastgrnn, fastrnn), got int8-q15 with lstm"),
    (dict(cell="fastgrnn", quantize="int4"), "quantize: expected one of 'none', 'int8', 'int8-q15', got 'int4'")])
def test_bad_quantize_is_one_line(kw, message):
    with pytest.raises(UserError) as e:
        Classifier(hidden_size=4, **kw)
    assert str(e.value) == message


def test_cli_classify_quantize_then_export_int8_and_fixed(tmp_path, rng, capsys, monkeypatch, toy_classes):
    monkeypatch.setattr(importlib.import_module("gatedrnn.classify.run"), "available", lambda: False)
    splits = {split: toy_classes.by_offset(n, rng, 10, 2) for split, n in (("TRAIN", 24), ("TEST", 12))}
    data, out = toy_classes.write_ts(tmp_path, splits, ("a", "b")), tmp_path / "run"
    base = ["classify", "--dataset", data, "--seeds", "1", "--hidden-size", "4", "--max-steps", "9", "--no-select"]
    assert main([*base, "--cell", "fastgrnn", "--quantize", "int8-q15", "--out", str(out)]) == 0
    assert _on_int8_grid(Classifier.load(out / "fastgrnn"))
    capsys.readouterr()
    assert main(["export", str(out / "fastgrnn"), "--c", str(tmp_path / "c8"), "--int8"]) == 0
    assert main(["export", str(out / "fastgrnn"), "--c", str(tmp_path / "cq"), "--fixed", "q15"]) == 0
    text = capsys.readouterr().out
    assert "compressed size:" in text and "flash:" in text
    assert main([*base, "--cell", "gru", "--quantize", "int8-q15", "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "int8-q15: fastgrnn, fastrnn" in err
