"""Iterative hard thresholding (train/sparsity.py): the three phases, the density per matrix, bad densities in one
line, the compressed size, and `gatedrnn classify --density` / `gatedrnn export` reporting it."""

import math

import numpy as np
import pytest

from gatedrnn.classify import Classifier
from gatedrnn.cli import main
from gatedrnn.errors import UserError
from gatedrnn.models import SequenceClassifier
from gatedrnn.train.sparsity import IterativeHardThresholding, compressed_bytes, keep_largest_, weight_matrices


def test_keep_largest_keeps_exactly_the_largest(rng):
    a = rng.standard_normal((7, 9))
    b = a.copy()
    mask = keep_largest_(b, 0.3)
    k = math.ceil(0.3 * a.size)
    assert mask.sum() == k and np.count_nonzero(b) == k
    assert np.abs(a[mask]).min() >= np.abs(a[~mask]).max() and np.array_equal(b[mask], a[mask])


class _FakeTrainer:
    def __init__(self, model):
        self.model, self.step = model, 0


def test_the_three_phases(rng):
    model = SequenceClassifier(3, num_classes=2, cell="fastgrnn", hidden_size=6, seed=0)
    iht = IterativeHardThresholding({"rnn.weight_hh_l0": 0.25, "rnn.weight_ih_l0": 0.5}, 9)
    tr = _FakeTrainer(model)
    params = dict(zip(model.names, model.params))
    for step in range(1, 10):
        for p in model.params:                       # an optimizer step that touches every entry
            p += 0.01 * rng.standard_normal(p.shape).astype(p.dtype)
        tr.step = step
        iht.on_step_end(tr, {})
        hh = params["rnn.weight_hh_l0"]
        if step <= 3:                                  # dense
            assert np.count_nonzero(hh) == hh.size and not iht.masks
        else:
            assert np.count_nonzero(hh) == math.ceil(0.25 * hh.size)
        if step == 6:
            support = iht.masks["rnn.weight_hh_l0"].copy()
        if step > 6:                                   # fine-tuning on the frozen support
            assert np.array_equal(hh != 0, support)
    summary = {}
    iht.on_train_end(tr, summary)
    assert summary["density"] == {"rnn.weight_hh_l0": pytest.approx(0.25, abs=0.02),
                                  "rnn.weight_ih_l0": pytest.approx(0.5, abs=0.06)}
    assert np.count_nonzero(params["head.weight"]) == params["head.weight"].size   # not chosen: dense
    assert np.all(params["rnn.bias_z_l0"] != 0)


@pytest.mark.parametrize("bad", [0, 0.0, 1.5, -0.2, float("nan"), True, "0.3"])
def test_bad_density_is_one_line(bad):
    with pytest.raises(UserError, match=r"density: expected a number in \(0, 1\], got"):
        IterativeHardThresholding(bad, 10)
    with pytest.raises(UserError, match=r"density: expected a number in \(0, 1\], got"):
        Classifier("fastgrnn", density=bad)


def test_unknown_matrix_name_is_one_line():
    model = SequenceClassifier(3, num_classes=2, cell="gru", hidden_size=4, seed=0)
    iht = IterativeHardThresholding({"rnn.bias_ih_l0": 0.5}, 3, dense_fraction=0)
    tr = _FakeTrainer(model)
    tr.step = 1
    with pytest.raises(UserError, match="density: expected names of the model's matrices .*got 'rnn.bias_ih_l0'"):
        iht.on_step_end(tr, {})
    assert weight_matrices(model) == ["rnn.weight_ih_l0", "rnn.weight_hh_l0", "head.weight"]


def test_compressed_bytes_counts_sparse_rows_where_smaller():
    model = SequenceClassifier(4, num_classes=3, cell="fastgrnn", hidden_size=16, seed=0)
    dense = compressed_bytes(model)
    assert dense == 4 * model.num_params()
    W = dict(zip(model.names, model.params))["rnn.weight_hh_l0"]
    keep_largest_(W, 0.1)
    nnz = np.count_nonzero(W)
    assert compressed_bytes(model) == dense - 4 * W.size + nnz * 6 + 17 * 2


def test_classifier_trains_sparse_and_reports_its_size(rng, toy_classes):
    X, y = toy_classes.by_offset(40, rng, 12, 2)
    dense = Classifier("fastgrnn", 8, max_steps=30, seed=0).fit(X, y)
    sparse = Classifier("fastgrnn", 8, max_steps=30, seed=0, density=0.3).fit(X, y)
    W = dict(zip(sparse.model.names, sparse.model.params))["rnn.weight_hh_l0"]
    assert np.count_nonzero(W) == math.ceil(0.3 * W.size)
    assert sparse.weight_bytes < dense.weight_bytes == 4 * dense.model.num_params()
    assert sparse.score(X, y) > 0.5


def _ts(tmp_path, rng, toy_classes):
    splits = {split: toy_classes.by_offset(n, rng, 12, 2) for split, n in (("TRAIN", 24), ("TEST", 12))}
    return toy_classes.write_ts(tmp_path, splits, ("a", "b"))


def test_cli_classify_density_and_export_print_the_size(tmp_path, rng, capsys, no_aeon, toy_classes):
    prefix = _ts(tmp_path, rng, toy_classes)
    args = ["classify", "--dataset", prefix, "--cell", "fastgrnn", "--seeds", "1", "--hidden-size", "16",
            "--max-steps", "12", "--no-select"]
    assert main([*args, "--out", str(tmp_path / "dense")]) == 0
    dense = capsys.readouterr().out
    assert main([*args, "--density", "0.2", "--out", str(tmp_path / "sparse")]) == 0
    sparse = capsys.readouterr().out

    def size(text):
        (row,) = [line for line in text.splitlines() if line.startswith("FastGRNN (16 units)")]
        return int(row.split(" B ")[0].split()[-1].replace(",", ""))

    assert size(sparse) < 0.6 * size(dense)
    assert main([*args, "--density", "0", "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "density: expected a number in (0, 1], got 0" in err
    assert main(["export", str(tmp_path / "sparse" / "fastgrnn"), "--c", str(tmp_path / "c")]) == 0
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("compressed size: ")]
    assert int(line.split()[2].replace(",", "")) == size(sparse)
