"""Low-rank FastGRNN/FastRNN from `gatedrnn classify` (issue 27): `--rank-ih`/`--rank-hh` reach the Classifier's
network, its checkpoint and `Classifier.load`; ranks larger than their matrix, or on a cell without low-rank
matrices, are one line each."""

import json

import numpy as np
import pytest

from gatedrnn.classify import Classifier
from gatedrnn.classify.config import make_config
from gatedrnn.cli import main
from gatedrnn.errors import UserError


def _ts(tmp_path, rng, toy_classes):
    splits = {split: toy_classes.by_offset(n, rng, 10, 3) for split, n in (("TRAIN", 24), ("TEST", 12))}
    return toy_classes.write_ts(tmp_path, splits, ("a", "b"))


@pytest.mark.parametrize("cell", ["fastgrnn", "fastrnn"])
def test_classifier_takes_the_ranks_and_load_keeps_them(cell, rng, tmp_path, toy_classes):
    X, y = toy_classes.by_offset(30, rng, 10, 3)
    clf = Classifier(cell, 8, max_steps=20, seed=0, rank_ih=2, rank_hh=3).fit(X, y)
    shapes = {n: p.shape for n, p in zip(clf.model.names, clf.model.params)}
    assert shapes["rnn.weight_ih_1_l0"] == (3, 2) and shapes["rnn.weight_hh_2_l0"] == (3, 8)
    assert "rnn.weight_hh_l0" not in shapes
    full = Classifier(cell, 8, max_steps=20, seed=0).fit(X, y)
    assert clf.weight_bytes < full.weight_bytes
    clf.save(tmp_path / "ck")
    back = Classifier.load(tmp_path / "ck")
    assert back.options["rank_ih"] == 2 and back.options["rank_hh"] == 3
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))


def test_config_flags_reach_the_model_options():
    cfg = make_config(flags={"dataset": "toy", "cell": ["fastgrnn"], "rank_ih": 2, "rank_hh": 4})
    opts = cfg.model_options("fastgrnn", 0)
    assert opts["rank_ih"] == 2 and opts["rank_hh"] == 4
    full = make_config(flags={"dataset": "toy", "cell": ["fastgrnn"]}).model_options("fastgrnn", 0)
    assert full["rank_ih"] is None and full["rank_hh"] is None


@pytest.mark.parametrize("kw, message", [
    (dict(cell="lstm", rank_hh=2), "rank_hh: expected a cell with low-rank matrices (fastgrnn, fastrnn), got lstm"),
    (dict(cell="fastgrnn", rank_hh=9), "rank_hh: expected an integer in [1, 8]"),
    (dict(cell="fastgrnn", rank_ih=0), "rank_ih: expected"),
    (dict(cell="fastrnn", rank_ih=2.5), "rank_ih: expected"),
])
def test_bad_ranks_are_one_line(kw, message):
    with pytest.raises(UserError) as err:
        Classifier(hidden_size=8, **kw)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_rank_larger_than_the_input_is_one_line_at_fit(rng, toy_classes):
    X, y = toy_classes.by_offset(10, rng, 10, 3)
    with pytest.raises(UserError, match=r"rank_ih: expected an integer in \[1, 3\]"):
        Classifier("fastgrnn", 8, max_steps=2, rank_ih=4).fit(X, y)


def test_cli_classify_rank_flags(tmp_path, rng, capsys, no_aeon, toy_classes):
    prefix = _ts(tmp_path, rng, toy_classes)
    args = ["classify", "--dataset", prefix, "--cell", "fastgrnn", "--seeds", "1", "--hidden-size", "8",
            "--max-steps", "10", "--no-select"]
    assert main([*args, "--rank-ih", "2", "--rank-hh", "3", "--out", str(tmp_path / "low")]) == 0
    assert "FastGRNN (8 units, rank_ih 2, rank_hh 3)" in capsys.readouterr().out
    meta = json.loads((tmp_path / "low" / "fastgrnn" / "meta.json").read_text())
    config = json.dumps(meta)
    assert '"rank_ih": 2' in config and '"rank_hh": 3' in config
    assert json.loads((tmp_path / "low" / "config.json").read_text())["rank_hh"] == 3
    for bad, line in ((["--rank-hh", "9"], "rank_hh: expected an integer in [1, 8]"),
                      (["--cell", "gru", "--rank-ih", "2"], "rank_ih: expected a cell with low-rank matrices"),
                      (["--rank-ih", "4"], "rank_ih: expected an integer in [1, 3]")):
        assert main([*args, *bad]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and line in err, err
