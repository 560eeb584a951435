"""Crash consistency of checkpoint saves (issue 11, item 1 and "the suite that keeps it so").

A save is killed at every call it makes that touches the disk (each ``numpy.savez``, ``os.write``, ``os.fsync``,
``os.open``, ``os.mkdir``, ``os.replace``/``os.rename``, ``os.unlink``, ``shutil.rmtree``), before or after that
call, by ``SystemExit`` or ``KeyboardInterrupt`` raised once (the save's handler runs) or from then on (a dead
process: every later call fails too), and in child processes by ``os._exit`` and by ``SIGKILL``. Afterwards every
reader finds a complete checkpoint, old or new, and a resumed run ends bit-exactly at the uninterrupted weights.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import gatedrnn.train.state as state_module
from gatedrnn.data.batching import TBPTTBatches
from gatedrnn.layers import SoftmaxCrossEntropy
from gatedrnn.models import LanguageModel
from gatedrnn.optim import Momentum, make_schedule
from gatedrnn.train.checkpoint import locate_checkpoint, read_checkpoint, resolve_checkpoint
from gatedrnn.train.trainer import Trainer

V, STEPS_PER_EPOCH, FIRST = 20, 12, 6
pytestmark = pytest.mark.toy(4000)
POINTS = [(np, "savez"), (os, "write"), (os, "fsync"), (os, "open"), (os, "mkdir"), (os, "replace"), (os, "rename"),
          (os, "unlink"), (shutil, "rmtree")]


def _trainer(out_dir, **kw):
    """A tiny 2-layer LSTM LM with dropout, momentum and a plateau schedule: 12 steps per epoch, 2 epochs, a
    checkpoint (best/ then last/) at each epoch end."""
    ids = np.random.default_rng(1).integers(0, V, 400).astype(np.int32)
    model = LanguageModel(V, 6, 8, 2, dropout=0.3, seed=0)
    opt = Momentum(model.params, model.grads, lr=0.5, momentum=0.9)
    return Trainer(model, SoftmaxCrossEntropy(), opt, train_data=TBPTTBatches(ids, 4, 8, drop_last=True),
                   valid_data=TBPTTBatches(ids[:120], 2, 8), clip=1.0, schedule=make_schedule("plateau", opt, factor=2.0),
                   epochs=2, out_dir=out_dir, log_every=5, perplexity=True, plot=False, **kw)


class Faults:
    """Counts the disk calls made inside ``save_checkpoint`` and fails the ``k``-th: ``mode`` is
    ``before``/``after`` (the call is made first or not) and ``once``/``dead`` (later calls work, or fail too)."""

    def __init__(self, k, mode="before-once", exc=SystemExit, action=None):
        self.k, self.mode, self.exc, self.action = k, mode, exc, action
        self.n, self.armed, self.calls, self.saves = 0, False, [], []

    def wrap(self, name, fn):
        def call(*args, **kwargs):
            if not self.armed:
                return fn(*args, **kwargs)
            self.n += 1
            self.calls.append(name)
            if self.n == self.k or (self.n > self.k and self.mode.endswith("dead")):
                try:
                    if self.n == self.k and self.mode.startswith("after"):
                        fn(*args, **kwargs)  # its own error (mkdir of an existing folder) does not save it
                finally:
                    if self.action is not None:
                        self.action()
                    raise self.exc(f"injected at call {self.n} ({name})")  # noqa: B012
            return fn(*args, **kwargs)
        return call

    def install(self, monkeypatch):
        for module, attr in POINTS:
            monkeypatch.setattr(module, attr, self.wrap(f"{module.__name__}.{attr}", getattr(module, attr)))
        save = state_module.save_checkpoint

        def armed_save(*args, **kwargs):
            self.armed = True
            try:
                return save(*args, **kwargs)
            finally:
                self.armed = False
                self.saves.append(self.n)
        monkeypatch.setattr(state_module, "save_checkpoint", armed_save)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run's weights, and a run folder stopped at step 6 (it holds last/ only)."""
    full = _trainer(tmp_path_factory.mktemp("full"))
    full.fit()
    base = tmp_path_factory.mktemp("base") / "run"
    _trainer(base, max_steps=FIRST).fit()
    return full.model.state_dict(), base


@pytest.fixture(scope="module")
def save_calls(reference, tmp_path_factory):
    """The disk calls of the first two saves after step 6 (best/ then last/ at the end of epoch 1)."""
    run = tmp_path_factory.mktemp("count") / "run"
    shutil.copytree(reference[1], run)
    mp = pytest.MonkeyPatch()
    faults = Faults(10**9)
    try:
        faults.install(mp)
        tr = _trainer(run)
        tr.load(run / "last")
        tr.fit()
    finally:
        mp.undo()
    return faults.calls[:faults.saves[1]]


def _check_and_resume(run: Path, weights: dict, what: str) -> None:
    """After a crash: every reader finds a complete checkpoint (step 6 or 12), and a resumed run ends at the
    uninterrupted weights, with no orphan left in the folder."""
    assert locate_checkpoint(run / "last") is not None, what
    meta, _, _ = read_checkpoint(run / "last")
    assert meta["trainer"]["step"] in (FIRST, STEPS_PER_EPOCH), what
    read_checkpoint(resolve_checkpoint(run))
    best = locate_checkpoint(run / "best")
    assert best is None or read_checkpoint(best)[0]["trainer"]["step"] == STEPS_PER_EPOCH, what
    tr = _trainer(run)
    tr.load(run / "last")
    tr.fit()
    for key, v in weights.items():
        assert np.array_equal(tr.model.state_dict()[key], v), f"{what}: {key} differs from the uninterrupted run"
    assert sorted(p.name for p in run.iterdir() if p.name.startswith(".")) == [], what
    assert {"last", "best"} <= {p.name for p in run.iterdir()}, what


def test_a_save_makes_every_kind_of_disk_call(save_calls):
    names = set(save_calls)
    assert {"numpy.savez", "os.fsync", "os.replace", "os.write", "shutil.rmtree"} <= names, names
    assert len(save_calls) >= 20


@pytest.mark.parametrize("mode", ["before-once", "after-dead"])  # with the handler running, and a dead process
def test_killed_at_every_disk_call_of_a_save_resumes_exactly(reference, save_calls, tmp_path, monkeypatch, mode):
    weights, base = reference
    for k in range(1, len(save_calls) + 1):
        run = tmp_path / f"k{k}" / "run"
        shutil.copytree(base, run)
        exc = SystemExit if k % 2 else KeyboardInterrupt
        faults = Faults(k, mode, exc)
        with monkeypatch.context() as mp:
            faults.install(mp)
            tr = _trainer(run)
            tr.load(run / "last")
            with pytest.raises(exc):
                tr.fit()
        _check_and_resume(run, weights, f"{mode} {exc.__name__} at call {k} ({save_calls[k - 1]})")
        shutil.rmtree(run.parent)


CHILD = """
import os, sys, importlib.util
spec = importlib.util.spec_from_file_location("crash_tests", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
mod.child_main(sys.argv[2], int(sys.argv[3]), sys.argv[4])
"""


def child_main(run, k, mode):
    """In a child process: resume the run and die by ``os._exit(9)`` at the ``k``-th disk call of a save."""
    mp = pytest.MonkeyPatch()
    Faults(k, mode, action=lambda: os._exit(9)).install(mp)
    tr = _trainer(run)
    tr.load(Path(run) / "last")
    tr.fit()
    os._exit(0)


def test_a_process_dying_inside_a_save_leaves_a_resumable_run(reference, save_calls, tmp_path):
    """``os._exit`` in a child: right after the old last/ is moved aside (the issue's case: no last/ at all), and
    after each other rename, a write, an fsync and a removal."""
    weights, base = reference
    renames = [k for k, name in enumerate(save_calls, 1) if name in ("os.replace", "os.rename")]
    picks = sorted(set(renames) | {save_calls.index("numpy.savez") + 1, save_calls.index("os.write") + 1,
                                   len(save_calls) - save_calls[::-1].index("os.fsync"),
                                   len(save_calls) - save_calls[::-1].index("shutil.rmtree")})
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    for k in picks:
        run = tmp_path / f"k{k}" / "run"
        shutil.copytree(base, run)
        proc = subprocess.run([sys.executable, "-c", CHILD, __file__, str(run), str(k), "after-dead"], env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 9, proc.stderr
        _check_and_resume(run, weights, f"os._exit after call {k} ({save_calls[k - 1]})")


CLI_CHILD = """
import os, sys
from pathlib import Path
real = os.replace
def replace(src, dst):
    real(src, dst)
    if Path(src).name == "last" and Path(dst).name.startswith(".last.old-"):
        os._exit(9)                     # killed between the two renames of a save of last/
os.replace = replace
from gatedrnn.cli import main
sys.exit(main(sys.argv[1:]))
"""

def _cli(args, check=True, **kw):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "gatedrnn.cli", *args], env=env, capture_output=True, text=True,
                          check=check, **kw)


def _same_weights(a: Path, b: Path) -> bool:
    wa, wb = read_checkpoint(a)[1], read_checkpoint(b)[1]
    return wa.keys() == wb.keys() and all(np.array_equal(wa[k], wb[k]) for k in wa)


def test_cli_killed_between_the_two_renames_resumes(toy, tmp_path, tiny):
    """The issue's reproduction: ``gatedrnn train`` dies right after moving last/ aside; ``--resume`` finds the
    checkpoint, puts it back, removes the orphans and ends at the uninterrupted weights."""
    args = ["train", "--corpus", str(toy), "--epochs", "1", "--max-steps", "40", "--checkpoint-every", "10", *tiny.lm_small]
    _cli([*args, "--out", str(tmp_path / "full")])
    run = tmp_path / "run"
    _cli([*args, "--max-steps", "15", "--out", str(run)])
    proc = subprocess.run([sys.executable, "-c", CLI_CHILD, "train", "--out", str(run), "--resume", "--max-steps", "40",
                           "--no-progress"], env={**os.environ, "OPENBLAS_NUM_THREADS": "1"}, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    assert not (run / "last").exists() and any(p.name.startswith(".last.") for p in run.iterdir())
    _cli(["train", "--out", str(run), "--resume", "--max-steps", "40", "--no-progress"])
    assert _same_weights(run / "last", tmp_path / "full" / "last")
    assert [p.name for p in run.iterdir() if p.name.startswith(".")] == []


def _start_training(cmd):
    """Start ``gatedrnn`` ``cmd`` in a child; returns it once it says ``training:`` (set up, about to train)."""
    proc = subprocess.Popen([sys.executable, "-m", "gatedrnn.cli", *cmd], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    for line in proc.stdout:
        if line.startswith("training:"):
            break
    return proc


def _step(run: Path) -> int:
    return 0 if locate_checkpoint(run / "last") is None else read_checkpoint(run / "last")[0]["trainer"]["step"]


def _kill_at_random(proc, run: Path, done: int, rng, kills_left: int, seconds: float) -> None:
    """SIGKILL ``proc`` once its checkpoint passes a random step of its share of what is left, plus a random part
    of a checkpoint interval: between saves or inside one."""
    target = done + 1 + int(rng.integers(0, max(1, (300 - done - 6) // kills_left)))
    while _step(run) < target and proc.poll() is None:
        time.sleep(0.005)
    time.sleep(rng.uniform(0.0, seconds / 300 * 3))
    proc.send_signal(signal.SIGKILL)


def test_sigkill_at_random_moments_resumes_to_the_uninterrupted_weights(toy, tmp_path, tiny):
    """A 300-step training (a checkpoint every 3 steps) killed with SIGKILL at 4 random moments of its training,
    resumed each time (or started again when killed before its first checkpoint): the same weights as an
    uninterrupted run, and no orphan left. The 2,000-step / 20-kill version: benchmarks/kill_resume.py."""
    args = ["--corpus", str(toy), "--epochs", "50", "--max-steps", "300", "--checkpoint-every", "3", *tiny.lm_small]
    _cli(["train", *args, "--out", str(tmp_path / "full")])
    seconds = read_checkpoint(tmp_path / "full" / "last")[0]["trainer"]["seconds"]
    run, rng, kills = tmp_path / "run", np.random.default_rng(11), 0
    while True:
        done = _step(run)
        cmd = ["train", "--out", str(run), "--resume", "--max-steps", "300", "--no-progress"] if done else \
              ["train", *args, "--out", str(run), "--overwrite"]
        proc = _start_training(cmd)
        if kills < 4:
            _kill_at_random(proc, run, done, rng, 4 - kills, seconds)
        out, _ = proc.communicate(timeout=120)
        if proc.returncode == 0:
            break
        assert proc.returncode == -signal.SIGKILL, out
        kills += 1
    assert kills >= 3
    assert _same_weights(run / "last", tmp_path / "full" / "last")
    assert [p.name for p in run.iterdir() if p.name.startswith(".")] == []
