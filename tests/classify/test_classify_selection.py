"""Honest model selection in the Classifier (issue 24, item 1): stratified validation splits carved from the
training set (k-fold below 100 cases, a one-case class falling back to k-fold with a note), early stopping and a
refit for the chosen steps, ``--time-budget``, and a test file read once, after every model is fitted."""

import builtins
import importlib
from pathlib import Path

import numpy as np
import pytest

from gatedrnn.classify import Classifier, ClassifyConfig
from gatedrnn.classify.config import make_config
from gatedrnn.classify.selection import FOLD_BELOW, plan
from gatedrnn.cli import main
from gatedrnn.errors import UserError

RUN = importlib.import_module("gatedrnn.classify.run")


def _write_ts(folder: Path, toy_classes, n: int = 16) -> str:
    rng = np.random.default_rng(0)
    splits = {split: toy_classes.univariate_by_sign(n, rng) for split in ("TRAIN", "TEST")}
    return toy_classes.write_ts(folder, splits, ("down", "up"))


def test_kfold_below_100_cases_is_stratified_and_validates_each_case_once():
    targets = np.array([0] * 30 + [1] * 12 + [2] * 5)
    splits, note = plan(targets, seed=3, folds=5)
    assert "5-fold" in note and len(splits) == 5
    seen = np.concatenate([v for _, v in splits])
    assert sorted(seen.tolist()) == list(range(len(targets)))
    for train, valid in splits:
        assert not set(train) & set(valid)
        counts = np.bincount(targets[valid], minlength=3)
        assert counts[0] == 6 and counts[1] in (2, 3) and counts[2] == 1


def test_holdout_from_100_cases_is_stratified():
    targets = np.array([0] * 80 + [1] * 40)
    (train, valid), = plan(targets, seed=0, folds=5)[0]
    assert len(targets) >= FOLD_BELOW
    assert np.bincount(targets[valid]).tolist() == [16, 8]
    assert len(train) + len(valid) == len(targets) and not set(train) & set(valid)


def test_holdout_leaving_a_class_without_training_case_falls_back_to_kfold_with_a_note():
    targets = np.array([0] * 110 + [1])
    splits, note = plan(targets, seed=0, folds=4)
    assert len(splits) == 4
    assert "no training case" in note and "4-fold" in note


def test_selection_chooses_steps_and_refits_on_everything(rng, toy_classes):
    X, y = toy_classes.by_sign(40, rng, lengths=(3, 9))
    lines = []
    clf = Classifier(cell="gru", hidden_size=6, max_steps=60, batch_size=16, select=True, folds=3,
                     echo=lines.append).fit(X, y)
    sel = clf.selection_
    assert len(sel["best_steps"]) == 3 and 1 <= sel["steps"] <= 60
    assert sel["steps"] == int(np.median(sel["best_steps"]))
    assert clf.summary_["step"] == sel["steps"]              # the refit ran the chosen number of steps
    assert any("refit on all 40 cases" in line for line in lines)
    assert clf.predict(X).shape == (40,)


def test_time_budget_bounds_the_selection(rng, toy_classes):
    X, y = toy_classes.by_sign(30, rng, lengths=(3, 9))
    clf = Classifier(cell="gru", hidden_size=6, max_steps=100_000, batch_size=8, select=True, folds=2,
                     time_budget=0.05)     # far fewer steps than early stopping's patience, however fast the machine
    clf.max_steps = 100_000
    seqs = [x.astype(np.float32) for x in X]
    from gatedrnn.classify.selection import choose_steps
    clf.classes_ = np.unique(y)
    sel = choose_steps(clf, seqs, np.unique(y, return_inverse=True)[1], time_budget=0.05)
    assert sel["seconds"] < 10
    assert sel["steps"] == 100_000 and "2 of 2 stopped by --time-budget (counted as max_steps)" in sel["note"]


@pytest.mark.parametrize("field, value", [("folds", 1), ("time_budget", -1.0), ("select", "yes")])
def test_bad_selection_settings_are_one_line(field, value):
    with pytest.raises(UserError, match=field):
        Classifier(**{field: value})


def test_time_budget_flag_and_its_share():
    cfg = make_config(flags={"dataset": "x", "time_budget": 60.0, "cell": ["gru", "lstm"], "seeds": 3})
    assert cfg.model_options("gru", 0)["time_budget"] == pytest.approx(10.0)
    assert ClassifyConfig(dataset="x").model_options("gru", 0)["time_budget"] is None
    assert main(["classify", "--dataset", "x", "--folds", "1"]) == 2


def test_the_test_file_is_opened_once_after_selection(tmp_path, monkeypatch, toy_classes):
    prefix = _write_ts(tmp_path, toy_classes)
    events = []
    real_open, real_fit = builtins.open, Classifier.fit

    def spy_open(file, *args, **kwargs):
        if str(file).endswith(".ts"):
            events.append(("open", Path(file).name))
        return real_open(file, *args, **kwargs)

    def spy_fit(self, X, y):
        events.append(("fit", self.selection_))
        out = real_fit(self, X, y)
        events.append(("fitted", out.selection_["steps"]))
        return out

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(Classifier, "fit", spy_fit)
    result = RUN.run(make_config(flags={"dataset": prefix, "cell": ["gru"], "seeds": 2, "hidden_size": 4,
                                        "max_steps": 20, "batch_size": 8, "baselines": False, "folds": 2}),
                     echo=lambda *a: None)
    opened = [e for e in events if e[0] == "open"]
    assert opened == [("open", "Toy_TRAIN.ts"), ("open", "Toy_TEST.ts")]
    test_at = events.index(("open", "Toy_TEST.ts"))
    assert [e[0] for e in events[test_at - 1:test_at]] == ["fitted"]
    assert sum(e[0] == "fitted" for e in events[:test_at]) == 2         # both seeds chosen and fitted before
    assert len(result["rows"][0]["accs"]) == 2


def test_cli_runs_with_selection(tmp_path, capsys, tiny, toy_classes):
    prefix = _write_ts(tmp_path, toy_classes)
    assert main(["classify", "--dataset", prefix, *tiny.classify_select, "--folds", "2", "--time-budget", "5"]) == 0
    out = capsys.readouterr().out
    assert "steps chosen on a validation split" in out and "read after every model was fitted" in out


def test_accuracy_ties_go_to_the_later_step_and_keep_early_stopping_waiting():
    """On a few validation cases the loss rises while the accuracy holds: a validation as accurate as the best so
    far is progress (EarlyStopping does not stop) and the best step is the later one; so is a lower loss than any
    before; a drop in accuracy with a higher loss is not."""
    from gatedrnn.classify.selection import AccuracyWatch
    from gatedrnn.train.callbacks import EarlyStopping

    class Net:
        training = False

        def eval(self):
            pass

        def train(self, was):
            pass

        def forward(self, x):
            return x, None

    class Trainer:
        model, step, stopped = Net(), 0, None

        def evaluating(self):
            import contextlib
            return contextlib.nullcontext()

        def stop(self, reason):
            self.stopped = reason

    def right(k):          # logits putting k of the 4 cases right
        return np.array([[1.0, 0.0]] * k + [[0.0, 1.0]] * (4 - k))

    t = Trainer()
    # (right, loss): the loss rises at 4/4; at 3/4 a new lowest loss (0.4) is progress, then two validations are not
    script = [(2, 0.6), (4, 0.5), (4, 0.9), (4, 1.4), (3, 0.4), (3, 1.0), (3, 0.8), (4, 2.0)]
    watch = AccuracyWatch([])
    stop = EarlyStopping(patience=2, score=watch.rank, restore_best_weights=False)
    for step, (k, loss) in enumerate(script, start=1):
        t.step = step * 10
        watch.batches = [(right(k), np.zeros(4, dtype=int))]
        watch.on_validation_end(t, {"val_loss": loss})
        stop.on_validation_end(t, {"val_loss": loss})
        if t.stopped:
            break
    assert watch.best_step == 40 and watch.best == (1.0, 1.4)          # the last of the three at 4/4
    assert stop.best_step == 50 and t.step == 70 and t.stopped is not None   # two validations without progress
