"""The lab's commands: gradflow, task, overfit, ablate."""

import sys

import pytest

from gatedrnn.cli import main


def test_gradflow_command_writes_csv_and_png(tmp_path, capsys):
    rc = main(["gradflow", "--cell", "rnn", "lstm", "--forget-bias", "1", "0", "--length", "12", "--hidden-size", "8",
               "--out", str(tmp_path), "--name", "g"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "tanh RNN" in out and "LSTM, forget bias 1" in out and "LSTM, forget bias 0" in out
    assert "|dL/dx_1|/|dL/dx_12|" in out
    csv = (tmp_path / "g.csv").read_text().splitlines()
    assert len(csv) == 1 + 3 * 13
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib is not installed" in out
    else:
        assert (tmp_path / "g.png").stat().st_size > 1000


def test_gradflow_without_matplotlib_prints_a_note(tmp_path, capsys, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    rc = main(["gradflow", "--cell", "gru", "--length", "5", "--hidden-size", "4", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0 and "note: matplotlib is not installed, so no plot is written" in out
    assert (tmp_path / "gradflow.csv").exists() and not (tmp_path / "gradflow.png").exists()


def test_gradflow_bad_length_is_a_one_line_error(tmp_path, capsys):
    rc = main(["gradflow", "--length", "1", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "length: expected an integer >= 2, got 1" in err
    assert not any(tmp_path.iterdir())


def test_task_command_prints_curve_and_baseline(tmp_path, capsys):
    rc = main(["task", "adding", "--cell", "lstm", "rnn", "--length", "8", "--hidden-size", "8", "--max-steps", "20",
               "--eval-every", "10", "--test-size", "20", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "test MSE" in out and "trivial baseline (always predict 1.0) 0.167" in out and "summary:" in out
    assert (tmp_path / "adding_T8.csv").exists() and (tmp_path / "adding_T8.json").exists()


def test_task_copy_command(capsys):
    rc = main(["task", "copy", "--length", "3", "--symbols", "2", "--hidden-size", "8", "--max-steps", "10",
               "--eval-every", "5", "--test-size", "10"])
    out = capsys.readouterr().out
    assert rc == 0 and "accuracy" in out and "guessing uniformly 2.079 (12.5%)" in out


def test_task_divergence_is_the_one_line_trainer_message(capsys):
    rc = main(["task", "adding", "--length", "20", "--hidden-size", "32", "--optimizer", "sgd", "--lr", "1", "--clip", "0",
               "--max-steps", "100", "--test-size", "20"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("gatedrnn task: error: training diverged at step") and err.count("\n") == 1


def test_overfit_command_passes(capsys):
    rc = main(["overfit"])
    out = capsys.readouterr().out
    assert rc == 0 and "PASS: sentence" in out and "PASS: sine" in out


def test_overfit_command_says_fail_and_exits_1(capsys, monkeypatch):
    import gatedrnn.lab.overfit as lab

    real = lab.overfit

    def broken(what, **kw):
        r = real(what, **kw)
        r.passed = False
        return r

    monkeypatch.setattr(lab, "overfit", broken)
    rc = main(["overfit", "--what", "sine"])
    out = capsys.readouterr().out
    assert rc == 1 and "FAIL: sine" in out


def test_ablate_clip_command_reports_the_trainers_message(tmp_path, capsys):
    rc = main(["ablate", "clip", "--length", "20", "--hidden-size", "32", "--lr", "1", "--max-steps", "40",
               "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "stopped by the trainer: training diverged at step" in out
    assert "no clipping : stopped at step" in out and "clip 1      : ran 40 steps" in out
    assert (tmp_path / "clipping.csv").exists()


def test_ablate_forget_bias_command(tmp_path, capsys):
    rc = main(["ablate", "forget-bias", "--length", "8", "--hidden-size", "8", "--max-steps", "20", "--eval-every", "10",
               "--test-size", "20", "--target", "0.05", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0 and "bias 0: steps to target" in out
    assert (tmp_path / "forget_bias_T8.csv").exists()


def test_ablate_tbptt_command_on_ptb(tmp_path, capsys, data_dir):
    rc = main(["ablate", "tbptt", "--data-dir", str(data_dir), "--lengths", "5", "10", "--tokens", "400",
               "--batch-size", "4", "--hidden-size", "16", "--valid-tokens", "2000", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0 and "peak step memory" in out and "Corpus(ptb" in out
    assert (tmp_path / "tbptt.csv").read_text().count("\n") == 3


def test_lab_flags_are_generated_from_the_configs(capsys):
    """Flags are the configs' field names, each help with its default; the old spellings are gone."""
    for argv, expect in [(["task", "--help"], ["--hidden-size", "--batch-size", "--max-steps", "(default: 3000)"]),
                         (["ablate", "forget-bias", "--help"], ["--bias", "--seeds", "(default: 6000)", "(default: 0.01)"]),
                         (["ablate", "clip", "--help"], ["--hidden-size", "--max-steps", "(default: 300)"]),
                         (["ablate", "tbptt", "--help"], ["--lengths", "--max-steps", "--batch-size", "--data-dir"]),
                         (["gradflow", "--help"], ["--length", "--hidden-size", "--weight-scale", "(default: 100)"]),
                         (["overfit", "--help"], ["--what", "--cell", "(default: 'lstm')"]),
                         (["quickstart", "--help"], ["--max-steps", "(default: 300)"])]:
        with pytest.raises(SystemExit):
            main(argv)
        out = " ".join(capsys.readouterr().out.split())
        for word in expect:
            assert word in out, (argv, word)
        assert "--hidden " not in out and "--steps " not in out and "--batch " not in out


def test_ablate_forget_bias_seeds_and_biases(tmp_path, capsys):
    rc = main(["ablate", "forget-bias", "--length", "6", "--hidden-size", "4", "--max-steps", "10", "--eval-every", "5",
               "--test-size", "10", "--bias", "0", "2", "--seeds", "3", "4", "--out", str(tmp_path), "--name", "fb"])
    out = capsys.readouterr().out
    assert rc == 0 and "bias 2: steps to target" in out and "forget bias 2, seed 4" in out
    assert "of 2 seeds" in out and (tmp_path / "fb.json").exists()


def test_lab_config_errors_are_one_line(capsys):
    rc = main(["task", "adding", "--hidden-size", "0"])
    err = capsys.readouterr().err
    assert rc == 2 and err == "gatedrnn task: error: hidden_size: expected a positive integer, got 0\n"


def test_quickstart_command_short(capsys):
    rc = main(["quickstart", "--max-steps", "3"])
    out = capsys.readouterr().out
    assert rc == 0 and "PASS" in out and "step    1  loss" in out and "3. sample" in out


def test_overfit_command_other_cell(capsys):
    rc = main(["overfit", "--what", "sine", "--cell", "gru"])
    out = capsys.readouterr().out
    assert rc == 0 and "PASS: sine" in out and "GRU 32 units" in out and "sentence" not in out
