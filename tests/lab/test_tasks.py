"""Long-range synthetic tasks: the generators, and a fast version of the adding-problem comparison."""

import math
from pathlib import Path

import numpy as np
import pytest

from gatedrnn.errors import UserError
from gatedrnn.lab.tasks import ADDING_BASELINE, TaskConfig, adding_problem, copy_task, curve_csv, one_hot, selective_copy, train
from gatedrnn.train.trainer import TrainingDiverged


def test_adding_problem_layout():
    x, y = adding_problem(500, 30, seed=1)
    assert x.shape == (500, 30, 2) and y.shape == (500, 1) and x.dtype == np.float32
    marks = x[..., 1]
    assert (marks.sum(axis=1) == 2).all()
    assert (marks[:, :15].sum(axis=1) == 1).all() and (marks[:, 15:].sum(axis=1) == 1).all()
    assert ((x[..., 0] >= 0) & (x[..., 0] < 1)).all()
    np.testing.assert_allclose(y[:, 0], (x[..., 0] * marks).sum(axis=1), rtol=1e-6)


def test_adding_problem_is_seeded_and_the_baseline_is_one_sixth():
    a, b = adding_problem(50, 10, seed=3), adding_problem(50, 10, seed=3)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], adding_problem(50, 10, seed=4)[0])
    _, y = adding_problem(200_000, 4, seed=0)
    assert abs(float(((y - 1.0) ** 2).mean()) - ADDING_BASELINE) < 3e-3


def test_copy_task_layout():
    ids, t, m = copy_task(100, delay=12, symbols=4, alphabet=6, seed=0)
    assert ids.shape == t.shape == m.shape == (100, 4 + 12 + 4)
    assert ((ids[:, :4] >= 1) & (ids[:, :4] <= 6)).all()
    assert (ids[:, 4 + 12 - 1] == 7).all()                    # the delimiter, last of the blanks
    assert (np.delete(ids[:, 4:], 11, axis=1) == 0).all()      # everything else after the string is blank
    np.testing.assert_array_equal(t[:, -4:], ids[:, :4] - 1)
    assert (m[:, -4:] == 1).all() and (m[:, :-4] == 0).all() and (t[:, :-4] == 0).all()
    oh = one_hot(ids, 8)
    assert oh.shape == (100, 20, 8) and (oh.sum(-1) == 1).all() and (oh.argmax(-1) == ids).all()


def test_selective_copy_layout():
    ids, t, m = selective_copy(200, length=15, symbols=4, alphabet=6, seed=0)
    T = 15 + 4 + 1 + 4
    assert ids.shape == t.shape == m.shape == (200, T)
    head = ids[:, :19]
    assert ((head >= 0) & (head <= 6)).all() and ((head > 0).sum(axis=1) == 4).all()  # exactly 4 symbols, 15 blanks
    assert (ids[:, 19] == 7).all() and (ids[:, 20:] == 0).all()                     # the delimiter, then blanks
    np.testing.assert_array_equal(t[:, -4:], head[head > 0].reshape(200, 4) - 1)   # in order of appearance
    assert (m[:, -4:] == 1).all() and (m[:, :-4] == 0).all() and (t[:, :-4] == 0).all()
    first = (head > 0).argmax(axis=1)
    assert len(set(first.tolist())) > 5                                              # the positions vary
    again = selective_copy(200, 15, 4, 6, seed=0)
    for a, b in zip((ids, t, m), again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(ids, selective_copy(200, 15, 4, 6, seed=1)[0])
    assert selective_copy(3, 15, 4, 6, seed=np.random.default_rng(0))[0].shape == (3, T)


@pytest.mark.parametrize("fn, args, match", [
    (adding_problem, (0, 10), "n"),
    (adding_problem, (5, 1), "length"),
    (copy_task, (5, 0), "delay"),
    (selective_copy, (0, 10), "n"),
    (selective_copy, (5, 0), "length"),
    (selective_copy, (5, 10, 0), "symbols"),
    (selective_copy, (5, 10, 3, 1), "alphabet"),
    (selective_copy, (5, 10.5), "length"),
])
def test_generator_arguments_are_checked(fn, args, match):
    with pytest.raises(UserError, match=match):
        fn(*args)


def test_config_is_checked():
    for bad, match in [(dict(task="sort"), "task"), (dict(cell="tree"), "cell"), (dict(lr=0.0), "lr"),
                       (dict(clip=-1.0), "clip"), (dict(optimizer="lbfgs"), "optimizer"), (dict(length=1), "length"),
                       (dict(hidden_size=0), "hidden_size"), (dict(target=0.0), "target")]:
        with pytest.raises(UserError, match=f"^{match}: expected"):
            TaskConfig(**bad).validate()


def _fast(cell, **kw):
    cfg = TaskConfig(cell=cell, length=20, hidden_size=32, batch_size=32, max_steps=600, lr=1e-2, eval_every=50,
                     test_size=200, **kw)
    return train(cfg, echo=lambda *a: None)


def test_adding_problem_fast_version_gates_win():
    """The issue's comparison at T = 20 instead of 100 (seconds): same budget, LSTM and GRU get the test MSE
    below 0.01, the tanh RNN stays above 0.1 (the trivial baseline is 0.167)."""
    for cell in ("lstm", "gru"):
        r = _fast(cell, target=0.01)
        assert r.test_error < 0.01 and r.steps_to_target is not None, (cell, r.curve)
    r = _fast("rnn")
    assert r.test_error > 0.1, r.curve
    assert r.steps_to_target is None
    assert r.curve[0][0] == 0 and r.curve[-1][0] == 600 and len(r.curve) == 13


def test_copy_task_trains_above_chance():
    cfg = TaskConfig(task="copy", cell="lstm", length=3, symbols=3, alphabet=4, hidden_size=32, max_steps=200, lr=1e-2,
                     eval_every=100, test_size=100)
    r = train(cfg, echo=lambda *a: None)
    assert r.baseline == pytest.approx(math.log(4))
    assert r.test_error < r.baseline and r.test_accuracy > 0.4
    assert "label,step,train_loss,test_error" in curve_csv([("lstm", r)])


def test_selective_copy_trains_through_the_copy_tasks_evaluation():
    cfg = TaskConfig(task="selective", cell="gru", length=4, symbols=2, alphabet=4, hidden_size=16, max_steps=20,
                     eval_every=10, test_size=50)
    r = train(cfg, echo=lambda *a: None)
    assert r.baseline == pytest.approx(math.log(4)) and r.metric == "cross-entropy"
    assert 0 <= r.test_accuracy <= 1 and [c[0] for c in r.curve] == [0, 10, 20]


def test_selective_command_prints_its_final_line(capsys):
    from gatedrnn.cli import main

    rc = main(["task", "selective", "--cell", "mingru", "--length", "6", "--symbols", "2", "--alphabet", "4",
               "--hidden-size", "8", "--max-steps", "20", "--eval-every", "10", "--test-size", "20"])
    out = capsys.readouterr().out
    assert rc == 0 and out.startswith("selective copying, T=6: MINGRU 8 units")
    assert "accuracy" in out
    last = out.strip().splitlines()[-1]
    assert last.startswith("MINGRU: final test cross-entropy") and "guessing uniformly 1.386 (25.0%)" in last


def test_sgd_without_clipping_stops_with_the_trainers_message():
    cfg = TaskConfig(cell="lstm", length=20, hidden_size=32, max_steps=100, lr=1.0, optimizer="sgd", clip=0.0, test_size=50)
    with pytest.raises(TrainingDiverged, match="training diverged at step .*turn on gradient clipping") as info:
        train(cfg, echo=lambda *a: None)
    assert info.value.step < 100 and not math.isfinite(info.value.grad_norm)


def test_the_tasks_run_through_the_trainer_and_stop_at_the_target():
    """The curve ends at the evaluation that reached the target (the callback stopped the trainer there), and the
    same config gives the same curve."""
    r = _fast("gru", target=0.05)
    assert r.steps_to_target == r.curve[-1][0] and r.curve[-1][2] < 0.05 <= min(c[2] for c in r.curve[:-1])
    np.testing.assert_array_equal(_fast("gru", target=0.05).curve, r.curve)   # NaN train loss at step 0 included


def test_the_lab_has_no_training_loop_of_its_own():
    import gatedrnn.lab

    for path in Path(gatedrnn.lab.__file__).parent.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for word in ("clip_grad_norm", ".step()", "RecordingTrainer"):
            assert word not in text, f"{path.name} holds {word}"


def test_time_limit_ends_a_task_run_with_a_final_evaluation():
    """An equal wall-clock budget: the run stops after --time-limit seconds of training and is evaluated at the
    step it stopped on, whatever eval_every says."""
    r = train(TaskConfig(task="adding", cell="mingru", length=10, hidden_size=8, max_steps=10 ** 6, eval_every=10 ** 5,
                         time_limit=0.3), echo=lambda *a: None)
    last = r.curve[-1][0]
    assert 0 < last < 10 ** 5 and len(r.curve) == 2 and math.isfinite(r.test_error)
