"""Progress that works everywhere: with the ``Console`` callback, piped, in a log file or under nohup a run prints one
plain line every ``log_every`` steps (the tqdm bar only on a terminal); a run stopped by ``max_steps`` still draws
its curves."""

import json
import re

import numpy as np
import pytest

import gatedrnn as g
from gatedrnn.data.batching import TBPTTBatches
from gatedrnn.train import console as console_module
from gatedrnn.train.console import Console

LINE = re.compile(r"^step (\d+)/(\d+)  epoch (\d+)/(\d+)  loss [\d.]+  ppl [\d.]+  [\d,]+ tok/s  \|g\| \S+  lr \S+  ETA \S+$")


def _lm_trainer(tmp_path=None, echo=None, console=True, **kwargs):
    ids = np.random.default_rng(0).integers(0, 12, size=2_000)
    model = g.LanguageModel(12, 6, 8, seed=0)
    return g.Trainer(model, g.SoftmaxCrossEntropy(), g.SGD(model.params, model.grads, lr=1.0),
                     train_data=TBPTTBatches(ids, 4, 10, drop_last=True),  # 49 windows per epoch
                     out_dir=tmp_path, perplexity=True, echo=echo,
                     callbacks=[Console(echo or console_module.say)] if console else [], **kwargs)


def test_piped_training_prints_a_plain_line_every_log_every_steps(capsys):
    summary = _lm_trainer(epochs=2, log_every=10).fit()
    assert summary["step"] == 98
    captured = capsys.readouterr()
    lines = [line for line in captured.out.splitlines() if line.startswith("step ")]
    steps = [int(LINE.match(line).group(1)) for line in lines]
    assert steps == [10, 20, 30, 40, 59, 69, 79, 89], captured.out   # the window starts again with each epoch
    assert all(LINE.match(line).group(2) == "98" for line in lines)  # the total: 2 epochs of 49 steps
    assert "it/s" not in captured.err                                # no tqdm bar off a terminal


def test_the_total_is_max_steps_when_it_comes_first_and_no_eta_without_a_total(capsys):
    _lm_trainer(epochs=3, max_steps=30, log_every=15).fit()
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("step ")]
    assert [line.split()[1] for line in lines] == ["15/30", "30/30"]

    ids = np.random.default_rng(0).integers(0, 12, size=500)
    model = g.LanguageModel(12, 6, 8, seed=0)
    g.Trainer(model, g.SoftmaxCrossEntropy(), g.SGD(model.params, model.grads, lr=1.0), log_every=5, perplexity=True,
              train_data=lambda epoch: iter(list(TBPTTBatches(ids, 4, 10, drop_last=True))),  # no len()
              callbacks=[Console()]).fit()
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("step ")]
    assert lines and all("ETA" not in line and re.match(r"step \d+  epoch", line) for line in lines)


def test_no_console_means_no_lines(capsys):
    _lm_trainer(epochs=1, log_every=10, console=False).fit()
    assert not [line for line in capsys.readouterr().out.splitlines() if line.startswith("step ")]


def test_on_a_terminal_the_bar_replaces_the_lines(capsys, monkeypatch):
    monkeypatch.setattr(console_module, "_on_terminal", lambda: True)
    _lm_trainer(epochs=1, log_every=10).fit()
    assert not [line for line in capsys.readouterr().out.splitlines() if line.startswith("step ")]


def test_eta_reads_as_a_clock():
    assert [console_module._clock(s) for s in (0.4, 42, 187, 7500)] == ["0s", "42s", "3m07s", "2h05m"]


def test_a_run_stopped_by_max_steps_before_an_epoch_ends_still_draws_its_curves(tmp_path):
    pytest.importorskip("matplotlib")
    ids = np.random.default_rng(1).integers(0, 12, size=400)
    tr = _lm_trainer(tmp_path / "run", epochs=1, max_steps=25, log_every=10,
                     valid_data=TBPTTBatches(ids, 2, 10), echo=lambda *a: None)
    summary = tr.fit()
    assert summary["stopped"] == "max_steps" and not tr.history
    assert (tmp_path / "run" / "curves.png").stat().st_size > 1000
    stop = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()][-1]
    assert stop["event"] == "stop" and stop["step"] == 25 and stop["val_ppl"] == pytest.approx(np.exp(stop["val_loss"]))
    assert stop["train_loss"] > 0


def test_even_a_run_shorter_than_log_every_draws_a_point(tmp_path):
    pytest.importorskip("matplotlib")
    _lm_trainer(tmp_path / "run", epochs=1, max_steps=3, log_every=50, echo=lambda *a: None).fit()
    assert (tmp_path / "run" / "curves.png").is_file()
