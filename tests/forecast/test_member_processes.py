"""Ensemble members trained in child processes (forecast/member_processes.py): each member is its sequential run
bit for bit, a child's error comes back whole, and the environment variable is checked."""

import numpy as np
import pytest

from gatedrnn.errors import UserError
from gatedrnn.forecast import Forecaster
from gatedrnn.forecast import member_processes as mp
from gatedrnn.forecast.features import to_panel
from gatedrnn.forecast.members import train_members

pytestmark = pytest.mark.skipif(not mp.can_fork(), reason="this system cannot fork processes")


def _series(n=3, length=80):
    t = np.arange(length)
    return [10 + k + np.sin(2 * np.pi * t / 12 + k) + 0.05 * t for k in range(n)]


def _forecaster(**kw):
    f = Forecaster(**{"horizon": 3, "window": 12, "hidden_size": 4, "max_steps": 12, "batch_size": 8,
                      "n_models": 3, **kw})
    f.fit(_series())            # resolves what the members' training reads (mask, inputs)
    return f


def test_members_in_processes_are_their_sequential_runs_bit_for_bit():
    f = _forecaster()
    panel = to_panel(_series())
    seq, seq_hist = train_members(f, panel, batched=False)
    par, par_hist = train_members(f, panel, processes=2)
    assert par_hist == seq_hist
    for a, b in zip(seq, par):
        assert all(np.array_equal(p, q) and p.dtype == q.dtype for p, q in zip(a.params, b.params))


def test_a_fit_with_processes_predicts_as_the_sequential_fit(monkeypatch):
    one = _forecaster(cell="gru").predict()
    monkeypatch.setenv(mp.ENV, "2")
    two = _forecaster(cell="gru").predict()
    assert len(two) == len(one) and all(np.array_equal(a, b) for a, b in zip(one, two))


def test_a_childs_user_error_comes_back_as_its_one_line(monkeypatch):
    f = _forecaster()

    def fail(f, panel, seed, *a, **k):
        raise UserError(f"series 0: expected something, got seed {seed}")

    monkeypatch.setattr(mp, "train_network", fail)
    with pytest.raises(UserError, match=r"^series 0: expected something, got seed 0$"):
        train_members(f, to_panel(_series()), processes=2)


def test_a_childs_bug_comes_back_with_its_traceback(monkeypatch):
    f = _forecaster()

    def bug(f, panel, seed, *a, **k):
        return {}["missing"]

    monkeypatch.setattr(mp, "train_network", bug)
    with pytest.raises(RuntimeError, match=r"(?s)members \[0, 2\] failed:.*KeyError: 'missing'"):
        train_members(f, to_panel(_series()), processes=2)


@pytest.mark.parametrize("text", ["0", "-1", "two", "1.5"])
def test_the_environment_variable_is_checked(monkeypatch, text):
    monkeypatch.setenv(mp.ENV, text)
    with pytest.raises(UserError, match=rf"^GATEDRNN_NUM_PROCESSES: expected a positive integer, got '{text}'$"):
        mp.default_processes()


def test_members_are_dealt_round_robin():
    assert mp.deal([0, 1, 2, 3, 4], 2) == [[0, 2, 4], [1, 3]]
    assert mp.deal([5, 6], 4) == [[5], [6]]


def _spin(seconds):
    import time
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_the_m4_runs_cpu_seconds_count_the_member_processes():
    import multiprocessing

    from gatedrnn.forecast.m4 import cpu_seconds
    before = cpu_seconds()
    child = multiprocessing.get_context("fork").Process(target=_spin, args=(0.3,))
    child.start()
    child.join()
    assert cpu_seconds() - before >= 0.25
