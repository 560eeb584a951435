"""The ``gatedrnn train / eval / generate`` commands end to end on a tiny corpus, and 200 PTB steps."""

import contextlib
import json

import numpy as np
import pytest

from gatedrnn.cli import main
from gatedrnn.data.synthetic import toy_sentences
from gatedrnn.train.checkpoint import load_checkpoint

TINY = ["--level", "char", "--embed-size", "8", "--hidden-size", "16", "--batch-size", "4", "--time-size", "10",
        "--eval-batch-size", "2", "--optimizer", "adam", "--lr", "0.01", "--clip", "1", "--no-progress"]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    d = tmp_path_factory.mktemp("toy")
    (d / "toy.txt").write_text(toy_sentences(6000, seed=0))
    return d / "toy.txt"


@pytest.fixture(scope="module")
def run_dir(toy, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "toy"
    assert main(["train", "--corpus", str(toy), "--epochs", "2", "--out", str(out), *TINY]) == 0
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


def test_cli_resume_equals_uninterrupted(toy, run_dir, tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["train", "--corpus", str(toy), "--epochs", "2", "--max-steps", "150", "--out", str(out), *TINY]) == 0
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


def test_errors_are_one_line(toy, run_dir, tmp_path, capsys):
    assert "expected 'ptb', 'tinyshakespeare' or a path" in _error(["train", "--corpus", str(tmp_path / "none.txt")], capsys)
    assert "got one with last/; pass --resume" in _error(["train", "--corpus", str(toy), "--out", str(run_dir), *TINY], capsys)
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
    doubles it (presets.py). ~17 s with one BLAS thread: threadpoolctl, when installed, keeps a multi-threaded
    OpenBLAS from spinning against other jobs on a busy 2-core machine (65 s there)."""
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
