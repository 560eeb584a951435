"""Run folders and checkpoints under faults (issue 11): readers after a killed save (item 1), --overwrite (item 2),
two trainings into one folder and stale locks (item 4), a full disk, and the umask (item 14). The save killed at
every disk call: tests/hostile/test_crash.py. Export over its own checkpoint (item 3): tests/deploy/test_cli_deploy.py."""

import errno
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gatedrnn.atomic import write_text_atomic
from gatedrnn.cli import main
from gatedrnn.errors import UserError
from gatedrnn.lm.run import resume_config
from gatedrnn.models import SequenceRegressor
from gatedrnn.run_lock import run_lock
from gatedrnn.train.checkpoint import (
    load_checkpoint,
    locate_checkpoint,
    read_checkpoint,
    recover_checkpoints,
    resolve_checkpoint,
    save_checkpoint,
)

ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
pytestmark = pytest.mark.toy(4000)


@pytest.fixture(scope="module")
def lm_run(toy, tmp_path_factory, tiny):
    """A stopped language-model run (20 steps, a checkpoint every 5)."""
    out = tmp_path_factory.mktemp("lm") / "run"
    assert main(["train", "--corpus", str(toy), "--max-steps", "20", "--checkpoint-every", "5", "--out", str(out),
                 *tiny.lm_small]) == 0
    return out


def _snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _one_line_error(argv, capsys) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def _kill_between_renames(folder: Path, name: str = "last") -> Path:
    """The state a save killed right after moving the old checkpoint aside leaves: no NAME, a .NAME.old-*."""
    old = folder / f".{name}.old-4242-0123abcd"
    os.replace(folder / name, old)
    return old


# -- item 1: every reader finds the checkpoint a killed save left aside; the next start puts it back ----------
def test_readers_find_the_checkpoint_a_killed_save_moved_aside(lm_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(lm_run, run)
    for name in ("last", "best"):
        if (run / name).exists():
            old = _kill_between_renames(run, name)
    (run / ".last.tmp-89abcdef").mkdir()  # a killed save's half-written new one: never read
    (run / ".last.tmp-89abcdef" / "model.npz").write_bytes(b"half")
    assert not (run / "last").exists()
    assert locate_checkpoint(run / "last") == old
    assert resolve_checkpoint(run).name.startswith((".last.old-", ".best.old-"))
    assert read_checkpoint(run / "last")[0]["trainer"]["step"] == 20
    assert resume_config(run, {}).hidden_size == 12
    assert main(["eval", str(run)]) == 0 and "perplexity" in capsys.readouterr().out
    assert main(["train", "--out", str(run), "--resume", "--max-steps", "25", "--no-progress"]) == 0
    assert read_checkpoint(run / "last")[0]["trainer"]["step"] == 25
    assert [p.name for p in run.iterdir() if p.name.startswith(".")] == []


def test_the_new_checkpoint_is_preferred_and_incomplete_ones_are_ignored(tmp_path):
    m = SequenceRegressor(2, 3, seed=0)
    save_checkpoint(tmp_path / "ck", m, meta={"step": 1})
    save_checkpoint(tmp_path / "new", m, meta={"step": 2})
    _kill_between_renames(tmp_path, "ck")
    os.replace(tmp_path / "new", tmp_path / ".ck.tmp-01234567")   # complete: meta.json is written last
    (tmp_path / ".ck.old-1-fedcba98").mkdir()                      # half deleted: meta.json is deleted first
    shutil.copy(tmp_path / ".ck.tmp-01234567" / "model.npz", tmp_path / ".ck.old-1-fedcba98")
    assert load_checkpoint(tmp_path / "ck")[1]["step"] == 2
    recover_checkpoints(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["ck"] and load_checkpoint(tmp_path / "ck")[1]["step"] == 2


def test_a_save_and_a_run_start_remove_orphans(lm_run, tmp_path):
    m = SequenceRegressor(2, 3, seed=0)
    for orphan in (".ck.tmp-00000000", ".ck.old-77-11111111"):
        (tmp_path / orphan).mkdir()
        (tmp_path / orphan / "model.npz").write_bytes(os.urandom(1 << 20))
    save_checkpoint(tmp_path / "ck", m)
    assert [p.name for p in tmp_path.iterdir()] == ["ck"]
    run = tmp_path / "run"
    shutil.copytree(lm_run, run)
    shutil.copytree(run / "last", run / ".last.tmp-22222222")      # complete, but last/ exists: an orphan
    (run / ".config.json.tmp-33333333").write_text("{")            # a killed atomic write
    assert main(["train", "--out", str(run), "--resume", "--max-steps", "21", "--no-progress"]) == 0
    assert [p.name for p in run.iterdir() if p.name.startswith(".")] == []


# -- item 2: --overwrite leaves nothing of the earlier run -------------------------------------------------
def test_overwrite_clears_everything_the_old_run_wrote(toy, tmp_path, capsys, tiny):
    run = tmp_path / "run"
    assert main(["train", "--corpus", str(toy), "--epochs", "1", "--out", str(run), *tiny.lm_small]) == 0
    assert (run / "best").is_dir() and read_checkpoint(run / "best")[0]["config"]["cell"] == "lstm"
    shutil.copytree(run / "best", run / ".best.old-4242-0123abcd")   # what a save of best/ killed long ago left
    old_curves = (run / "curves.png").read_bytes() if (run / "curves.png").exists() else None
    assert main(["train", "--corpus", str(toy), "--overwrite", "--cell", "gru", "--max-steps", "2", "--out", str(run),
                 *tiny.lm_small]) == 0
    capsys.readouterr()
    assert main(["eval", str(run)]) == 0
    assert capsys.readouterr().out.rstrip().endswith(f"{run / 'last'})")
    assert read_checkpoint(resolve_checkpoint(run))[0]["config"]["cell"] == "gru"
    names = {p.name for p in run.iterdir()}
    assert "best" not in names and not any(n.startswith(".") for n in names), names
    if "curves.png" in names:                                         # the new run's own curves, not the old ones
        assert old_curves is None or (run / "curves.png").read_bytes() != old_curves
    if "results.json" in names:                                       # the new run's results, if it writes any
        assert json.loads((run / "results.json").read_text())["config"]["cell"] == "gru"
    assert json.loads((run / "config.json").read_text())["cell"] == "gru"


# -- item 4: one training per run folder; a killed holder never blocks -------------------------------------
def test_a_second_training_gets_one_line_naming_the_holder_and_a_killed_one_does_not_block(lm_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(lm_run, run)
    proc = subprocess.Popen([sys.executable, "-m", "gatedrnn.cli", "train", "--out", str(run), "--resume",
                             "--max-steps", "100000", "--checkpoint-every", "3", "--no-progress"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        deadline = time.monotonic() + 60
        while read_checkpoint(run / "last")[0]["trainer"]["step"] <= 20 and proc.poll() is None:
            assert time.monotonic() < deadline, "the first training did not write a checkpoint"
            time.sleep(0.05)
        err = _one_line_error(["train", "--out", str(run), "--resume", "--max-steps", "100000", "--no-progress"],
                              capsys)
        assert f"locked by process {proc.pid}" in err and f"--out {run}" in err
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    assert (run / ".lock").read_text().strip() == str(proc.pid)   # left by the killed holder
    step = read_checkpoint(run / "last")[0]["trainer"]["step"]
    assert main(["train", "--out", str(run), "--resume", "--max-steps", str(step + 2), "--no-progress"]) == 0
    assert read_checkpoint(run / "last")[0]["trainer"]["step"] == step + 2
    assert [p.name for p in run.iterdir() if p.name.startswith(".")] == []


def test_the_lock_in_one_process(tmp_path):
    with run_lock(tmp_path / "new") as folder:
        assert (folder / ".lock").read_text() == f"{os.getpid()}\n"
        with pytest.raises(UserError, match=f"locked by process {os.getpid()} "), run_lock(folder):
            pass
    assert not (tmp_path / "new").exists()   # created for nothing: removed again
    (tmp_path / "kept").mkdir()
    with run_lock(tmp_path / "kept"):
        pass
    assert (tmp_path / "kept").is_dir() and list((tmp_path / "kept").iterdir()) == []


def test_a_refused_run_writes_nothing(lm_run, tmp_path, capsys, tiny):
    fresh = tmp_path / "fresh"
    assert "expected a checkpoint at" in _one_line_error(["train", "--out", str(fresh), "--resume"], capsys)
    assert not fresh.exists()
    run = tmp_path / "run"
    shutil.copytree(lm_run, run)
    before = _snapshot(run)
    assert "got one with last/" in _one_line_error(["train", "--corpus", "x.txt", "--out", str(run), *tiny.lm_small], capsys)
    assert _snapshot(run) == before


# -- a full disk: the previous checkpoint stays, one line, exit status 2 -----------------------------------
def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("where", ["numpy.savez", "os.write"])
def test_a_full_disk_keeps_the_previous_checkpoint(lm_run, tmp_path, capsys, monkeypatch, where):
    run = tmp_path / "run"
    shutil.copytree(lm_run, run)
    before = _snapshot(run / "last")
    module, attr = where.split(".")
    monkeypatch.setattr({"numpy": np, "os": os}[module], attr, _no_space)
    err = _one_line_error(["train", "--out", str(run), "--resume", "--max-steps", "30", "--no-progress"], capsys)
    assert "No space left on device" in err and "the previous checkpoint is kept" in err
    monkeypatch.undo()
    assert _snapshot(run / "last") == before
    assert [p.name for p in run.iterdir() if p.name.startswith(".")] == []
    m = SequenceRegressor(2, 3, seed=0)
    save_checkpoint(tmp_path / "ck", m, meta={"step": 1})
    monkeypatch.setattr(np, "savez", _no_space)
    with pytest.raises(OSError) as exc:
        save_checkpoint(tmp_path / "ck", m, meta={"step": 2})
    assert exc.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert load_checkpoint(tmp_path / "ck")[1]["step"] == 1 and [p.name for p in tmp_path.iterdir()] == ["ck", "run"]


# -- item 14: what a run writes follows the umask ----------------------------------------------------------
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002], ids=oct)
def test_files_and_checkpoints_follow_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        write_text_atomic(tmp_path / "a.json", "{}")
        save_checkpoint(tmp_path / "ck", SequenceRegressor(2, 3, seed=0), arrays={"x": np.ones(2)})
        save_checkpoint(tmp_path / "ck", SequenceRegressor(2, 3, seed=0), arrays={"x": np.ones(2)})
    finally:
        os.umask(old)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(tmp_path / "a.json") == 0o666 & ~umask
    assert mode(tmp_path / "ck") == 0o777 & ~umask
    assert {f.name: mode(f) for f in (tmp_path / "ck").iterdir()} == \
        {n: 0o666 & ~umask for n in ("model.npz", "extra.npz", "meta.json")}
