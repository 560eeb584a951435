"""The ``gatedrnn train / eval / generate`` commands end to end on a tiny corpus, and 200 PTB steps."""

import contextlib
import json
import re

import numpy as np
import pytest

from gatedrnn.cli import main
from gatedrnn.train.checkpoint import load_checkpoint


@pytest.fixture(scope="module")
def run_dir(toy, tmp_path_factory, tiny):
    out = tmp_path_factory.mktemp("runs") / "toy"
    assert main(["train", "--corpus", str(toy), "--epochs", "2", "--out", str(out), *tiny.lm]) == 0
    return out


def test_train_writes_a_complete_run(run_dir, capsys):
    names = {p.name for p in run_dir.iterdir()}
    assert {"last", "best", "log.jsonl", "vocab.json", "config.json", "results.json"} <= names
    res = json.loads((run_dir / "results.json").read_text())
    assert res["epochs"] == 2 and 1 < res["test_ppl"] < 30 and res["cores"] >= 1
    _, meta, _ = load_checkpoint(run_dir / "best")
    assert meta["config"]["hidden_size"] == 16 and meta["vocab"]["level"] == "char"


def test_eval_prints_the_perplexity(run_dir, capsys):
    assert main(["eval", str(run_dir), "--split", "test"]) == 0
    out = capsys.readouterr().out
    res = json.loads((run_dir / "results.json").read_text())
    assert out.startswith("test perplexity ") and f"{res['test_ppl']:.2f}" in out


def test_generate_is_deterministic_for_a_seed(run_dir, capsys):
    args = ["generate", str(run_dir), "--start", "the ", "--length", "40", "--temperature", "0.8", "--top-k", "5"]
    outs = []
    for seed in ("0", "0", "1"):
        assert main([*args, "--seed", seed]) == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1] != outs[2] and outs[0].startswith("the ") and len(outs[0]) > 40


def test_cli_resume_equals_uninterrupted(toy, run_dir, tmp_path, capsys, tiny):
    out = tmp_path / "r"
    assert main(["train", "--corpus", str(toy), "--epochs", "2", "--max-steps", "150", "--out", str(out), *tiny.lm]) == 0
    assert "--resume" in capsys.readouterr().out
    assert main(["train", "--out", str(out), "--resume", "--no-progress"]) == 0
    a, _, _ = load_checkpoint(run_dir / "last")
    b, _, _ = load_checkpoint(out / "last")
    for k, v in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[k], v, err_msg=k)


def _error(argv, capsys):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_errors_are_one_line(toy, run_dir, tmp_path, capsys, tiny):
    assert "expected 'ptb', 'tinyshakespeare' or a path" in _error(["train", "--corpus", str(tmp_path / "none.txt")], capsys)
    assert "got one with last/; pass --resume" in _error(["train", "--corpus", str(toy), "--out", str(run_dir), *tiny.lm], capsys)
    assert "differs from the run's" in _error(["train", "--out", str(run_dir), "--resume", "--lr", "3"], capsys)
    assert "expected a checkpoint at" in _error(["train", "--out", str(tmp_path / "fresh"), "--resume"], capsys)
    assert "expected a checkpoint folder" in _error(["eval", str(tmp_path / "missing")], capsys)
    assert "tie_weights" in _error(["train", "--corpus", str(toy), "--tie-weights", "--embed-size", "8", "--out",
                                    str(tmp_path / "t")], capsys)


def test_corrupt_checkpoint_and_vocabulary(run_dir, tmp_path, capsys):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(run_dir / "best", bad)
    (bad / "model.npz").write_bytes(b"not a zip")
    assert "corrupt" in _error(["eval", str(bad)], capsys)
    shutil.rmtree(bad)
    shutil.copytree(run_dir / "best", bad)
    meta = json.loads((bad / "meta.json").read_text())
    tokens = meta["vocab"]["tokens"]
    meta["vocab"]["tokens"] = tokens + [tokens[0]]
    (bad / "meta.json").write_text(json.dumps(meta))
    assert "distinct tokens" in _error(["generate", str(bad)], capsys)
    meta["vocab"]["tokens"] = tokens + ["extra"]
    (bad / "meta.json").write_text(json.dumps(meta))
    assert "expected a language model over" in _error(["generate", str(bad)], capsys)
    del meta["vocab"]
    (bad / "meta.json").write_text(json.dumps(meta))
    assert "with a vocabulary, got one without" in _error(["generate", str(bad)], capsys)


@pytest.mark.parametrize("cmd", ["train", "eval", "generate", "quickstart"])
def test_help(cmd, capsys):
    with pytest.raises(SystemExit) as exc:
        main([cmd, "--help"])
    assert exc.value.code == 0 and "usage: gatedrnn " + cmd in capsys.readouterr().out


@pytest.mark.slow
def test_ptb_small_preset_200_steps(data_dir, tmp_path, capsys):
    """200 steps of the small preset (the book's Rnnlm) on Penn Treebank: validation perplexity from 10,000 (~685
    with the unigram output bias) to below 400, as the issue asks. Measured 369 (seed 0; 372 and 389 with seeds 1
    and 2); with the book's input-weight scale (``--input-gain 1``) it was 427, which is why the small preset
    doubles it (presets.py). ~17 s with one BLAS thread: threadpoolctl (in the test extra) keeps a multi-threaded
    OpenBLAS from spinning against other jobs on a busy 2-core machine (65 s there), and pins the figure: two BLAS
    threads sum the GEMMs in another order, and 200 steps at lr 20 turn that into 382.14 (before this refactor too)."""
    out = tmp_path / "ptb"
    try:
        from threadpoolctl import threadpool_limits
        limit = threadpool_limits(limits=1, user_api="blas")
    except ImportError:
        limit = contextlib.nullcontext()
    with limit:
        assert main(["train", "--corpus", "ptb", "--data-dir", str(data_dir), "--preset", "small", "--max-steps", "200",
                     "--out", str(out), "--no-progress"]) == 0
    stop = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()][-1]
    assert stop["event"] == "stop" and stop["step"] == 200
    assert stop["val_ppl"] < 400, stop
    assert stop["val_ppl"] == pytest.approx(369.06, abs=0.05), stop   # the README's figure, to four digits


def test_config_json_reruns_the_run_bit_for_bit(toy, tmp_path, capsys, tiny):
    """A run's config.json is the whole run: --config RUN/config.json --out OTHER ends with identical weights."""
    first, again = tmp_path / "first", tmp_path / "again"
    assert main(["train", "--corpus", str(toy), "--epochs", "1", "--max-steps", "40", "--dropout", "0.2",
                 "--schedule", "step", "--step-start", "1", "--out", str(first), *tiny.lm]) == 0
    cfg = json.loads((first / "config.json").read_text())
    assert cfg["max_steps"] == 40 and cfg["dropout"] == 0.2 and cfg["step_start"] == 1
    assert main(["train", "--config", str(first / "config.json"), "--out", str(again), "--no-progress"]) == 0
    a, _, _ = load_checkpoint(first / "last")
    b, _, _ = load_checkpoint(again / "last")
    assert a.state_dict().keys() == b.state_dict().keys()
    for k, v in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[k], v, err_msg=k)


def test_toml_config_with_flags_overriding_it(toy, tmp_path, capsys):
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'corpus = "{toy}"\nlevel = "char"\nhidden_size = 12\nembed_size = 8\nepochs = 1\nmax_steps = 3\n'
                   'optimizer = "adam"\nlr = 0.01\nschedule = "cosine"\ncosine_warmup = 2\n')
    out = tmp_path / "t"
    assert main(["train", "--config", str(cfg), "--hidden-size", "10", "--out", str(out), "--no-progress"]) == 0
    saved = json.loads((out / "config.json").read_text())
    assert (saved["hidden_size"], saved["embed_size"], saved["schedule"], saved["cosine_warmup"]) == (10, 8, "cosine", 2)
    assert saved["preset"] == "small" and saved["clip"] == 0.25          # the rest from the preset
    assert "unknown ['hiden_size']" in _error(["train", "--config", str(_write(tmp_path / "bad.json", '{"hiden_size": 3}'))],
                                               capsys)
    assert "expected JSON" in _error(["train", "--config", str(_write(tmp_path / "bad2.json", "{nope"))], capsys)


def _write(path, text):
    path.write_text(text)
    return path


def test_flags_come_from_the_config_with_help_and_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for flag in ("--hidden-size", "--num-layers", "--batch-size", "--step-start", "--step-size", "--step-factor",
                 "--plateau-factor", "--plateau-patience", "--cosine-warmup", "--cosine-floor", "--patience",
                 "--tie-weights", "--config"):
        assert flag in text, flag
    assert "(default: small 100, medium 650)" in text                     # preset values shown
    for bad, msg in ((["--clip", "nan"], "clip: expected a finite number >= 0"),
                     (["--hidden-size", "0"], "hidden_size: expected a positive integer"),
                     (["--dropout", "1"], "dropout: expected a number in [0, 1)"),
                     (["--cell", "lstmx"], "cell: expected one of")):
        assert msg in _error(["train", *bad, "--out", "/nonexistent/never"], capsys)


def test_a_bug_shows_its_traceback_and_a_user_error_one_line(toy, tmp_path, capsys, monkeypatch, tiny):
    import gatedrnn.lm.run as run_module

    def broken(*args, **kwargs):
        raise RuntimeError("injected failure below the CLI")

    monkeypatch.setattr(run_module, "load_corpus", broken)
    code = main(["train", "--corpus", str(toy), "--out", str(tmp_path / "x"), *tiny.lm])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback (most recent call last)" in err and "injected failure below the CLI" in err
    assert "this is a bug in gatedrnn" in err.splitlines()[-1]
    monkeypatch.undo()
    err = _error(["train", "--corpus", str(toy), "--epochs", "0", "--out", str(tmp_path / "y"), *tiny.lm], capsys)
    assert "epochs: expected a positive integer, got 0" in err


def test_early_stopping_from_the_command_line(toy, tmp_path, capsys, tiny):
    """With --min-delta 100 (nats) no epoch after the first counts as better: --patience 1 stops after epoch 2,
    and the test perplexity is that of best/ (epoch 1)."""
    out = tmp_path / "es"
    assert main(["train", "--corpus", str(toy), "--epochs", "6", "--patience", "1", "--min-delta", "100",
                 "--out", str(out), *tiny.lm]) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["stopped"] == "early_stopping" and res["epochs"] == 2 and res["checkpoint"].endswith("best")
    import csv
    rows = list(csv.DictReader(open(out / "epochs.csv")))
    assert [int(r["epoch"]) for r in rows] == list(range(1, res["epochs"] + 1)) and "val_ppl" in rows[0]


def test_a_run_stopped_by_max_steps_writes_its_results_and_curves(toy, tmp_path, tiny):
    out = tmp_path / "run"
    assert main(["train", "--corpus", str(toy), "--max-steps", "5", "--out", str(out), *tiny.lm]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["stopped"] == "max_steps" and results["steps"] == 5 and "test_ppl" not in results
    assert results["val_ppl"] > 1 and results["checkpoint"] == str(out / "last")
    assert (out / "curves.png").is_file()


def test_train_fraction_eval_every_and_time_limit(toy, tmp_path, capsys, tiny):
    """--train-fraction 0.25 trains on the first quarter of the training split (a quarter of the windows per epoch),
    --eval-every writes validation records between epoch ends, and a run stopped by --time-limit is tested like
    a finished one."""
    full, part = tmp_path / "full", tmp_path / "part"
    assert main(["train", "--corpus", str(toy), "--max-steps", "1", "--out", str(full), *tiny.lm]) == 0
    assert main(["train", "--corpus", str(toy), "--train-fraction", "0.25", "--epochs", "1", "--eval-every", "5",
                 "--out", str(part), *tiny.lm]) == 0
    windows = [int(n) for n in re.findall(r"training: (\d+) windows", capsys.readouterr().out)]
    assert windows[1] == pytest.approx(windows[0] / 4, abs=1)
    log = [json.loads(line) for line in open(part / "log.jsonl")]
    steps = [r["step"] for r in log if r.get("event") == "valid"]
    assert steps == list(range(5, windows[1] + 1, 5)) and all(r["val_ppl"] > 1 for r in log if r.get("event") == "valid")
    timed = tmp_path / "timed"
    assert main(["train", "--corpus", str(toy), "--epochs", "50", "--time-limit", "0.5", "--out", str(timed), *tiny.lm]) == 0
    res = json.loads((timed / "results.json").read_text())
    assert res["stopped"] == "time_limit" and res["epochs"] < 50 and res["test_ppl"] > 1
    assert main(["train", "--corpus", str(toy), "--train-fraction", "1.5", "--out", str(tmp_path / "x"), *tiny.lm]) == 2
    assert "train_fraction: expected a fraction in (0, 1], got 1.5" in capsys.readouterr().err
