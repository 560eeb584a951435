"""``time_clock`` (``--time-clock``): what the Classifier's ``time_budget`` counts, the wall clock (the default) or
this process's CPU time, steadier on a shared machine; a setting like the others, checked in one line."""

import numpy as np
import pytest

import gatedrnn.classify.model as model_module
from gatedrnn.classify import Classifier
from gatedrnn.classify.selection import choose_steps
from gatedrnn.errors import UserError


def test_the_selection_counts_the_clock_it_is_given(rng, toy_classes, monkeypatch):
    clocks = []
    real = model_module.TimeLimit

    def recording(seconds, clock="wall"):
        clocks.append(clock)
        return real(seconds, clock)

    monkeypatch.setattr(model_module, "TimeLimit", recording)
    X, y = toy_classes.by_sign(30, rng, lengths=(3, 9))
    for clock in ("cpu", "wall"):
        clf = Classifier(cell="gru", hidden_size=6, max_steps=100_000, batch_size=8, folds=2, time_budget=0.05,
                         time_clock=clock)
        clf.classes_ = np.unique(y)
        sel = choose_steps(clf, [x.astype(np.float32) for x in X], np.unique(y, return_inverse=True)[1], 0.05)
        assert "2 of 2 stopped by --time-budget" in sel["note"]
    assert clocks == ["cpu", "cpu", "wall", "wall"]


def test_a_bad_clock_is_one_line():
    with pytest.raises(UserError, match=r"^time_clock: expected one of 'wall', 'cpu', got 'gpu'$"):
        Classifier(time_clock="gpu")


def test_it_is_a_setting_like_the_others():
    clf = Classifier(time_clock="cpu")
    assert clf.settings()["time_clock"] == "cpu" and Classifier(**clf.settings()).time_clock == "cpu"
    assert Classifier().time_clock == "wall"
