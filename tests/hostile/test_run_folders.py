"""Whole run folders or nothing (issue 20, section 2): `gatedrnn forecast` (a held-out evaluation, --predict,
--dataset m4-hourly on a tiny stand-in of M4's files) and `gatedrnn classify` write their --out as one run.

A failure is injected at the disk calls of each command writing over an earlier run (each ``numpy.savez``,
``os.write``, ``os.fsync``, ``os.open``, ``os.mkdir``, ``os.rmdir``, ``os.replace``/``os.rename``, ``os.unlink``,
``shutil.rmtree`` and every ``open`` for writing), by ``SystemExit`` or ``KeyboardInterrupt`` raised once (the
command's handlers run) or from then on (a dead process: every later call fails too, then the next command's start
finishes what was left). Afterwards the folder is the whole earlier run or the whole new one. A few calls per
command by default; GATEDRNN_HOSTILE_SIZE=full (or large) injects at every one. Signals: SIGTERM in the middle of
the writes leaves the earlier run, SIGKILL inside the swap leaves a folder the next command completes. Files of
the user's in --out are refused in one line, kept with --overwrite, never deleted; a tampered manifest claims
nothing. Every JSON and CSV output is finite or the run is refused in one line.
"""

from __future__ import annotations

import builtins
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gatedrnn.cli import main

_SIZE = os.environ.get("GATEDRNN_HOSTILE_SIZE", "small").strip().lower()
FULL = _SIZE in ("full", "large") or (_SIZE.isdigit() and int(_SIZE) > 1)
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
VOLATILE = ("seconds", "cpu_seconds", "peak_mb", "table", "train_seconds")


# -- inputs -------------------------------------------------------------------------------------------------
def write_series(folder: Path, n: int = 60) -> Path:
    t = np.arange(n)
    p = folder / "s.csv"
    p.write_text("t,value\n" + "".join(f"{i},{10 + 3 * np.sin(i / 2):.4f}\n" for i in t))
    return p


def write_ts(folder: Path, toy_classes) -> str:
    rng = np.random.default_rng(0)
    splits = {split: toy_classes.univariate_by_sign(12, rng) for split in ("TRAIN", "TEST")}
    return toy_classes.write_ts(folder, splits, ("down", "up"))


def write_m4(folder: Path) -> dict:
    """Three hourly series in M4's wide format (train 160 values, test 48)."""
    rng = np.random.default_rng(0)
    paths = {"train": folder / "Hourly-train.csv", "test": folder / "Hourly-test.csv"}
    for key, n in (("train", 160), ("test", 48)):
        lines = ['"V1",' + ",".join(f'"V{k + 2}"' for k in range(n))]
        for i in range(3):
            v = 50 + 10 * np.sin(np.arange(n) * 2 * np.pi / 24) + rng.normal(size=n)
            lines.append(f'"H{i + 1}",' + ",".join(f'"{x:.3f}"' for x in v))
        paths[key].write_text("\n".join(lines) + "\n")
    return paths


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, toy_classes):
    d = tmp_path_factory.mktemp("inputs")
    return {"csv": write_series(d), "ts": write_ts(d, toy_classes), "m4": write_m4(d)}


def commands(inputs, tiny) -> dict:
    """For each command: (the earlier run's arguments, the new run's): they differ in seed and in what they write."""
    csv, ts = str(inputs["csv"]), inputs["ts"]
    fc = ["forecast", "--dataset", csv, "--column", "value", "--window", "8", "--no-arima", "--baselines", "naive",
          *tiny.fit4]
    pr = ["forecast", "--dataset", csv, "--column", "value", "--window", "8", "--predict", "4", *tiny.fit4]
    m4 = ["forecast", "--dataset", "m4-hourly", "--window", "48", "--baselines", "naive", *tiny.fit4]
    cl = ["classify", "--dataset", ts, "--seeds", "1", "--no-baselines", *tiny.fit4]
    return {"forecast": (fc + ["--seed", "0"], fc + ["--seed", "1", "--no-plot"]),
            "predict": (pr + ["--seed", "0", "--n-models", "2", "--no-plot"], pr + ["--seed", "1", "--no-plot"]),
            "m4": (m4 + ["--seed", "0", "--n-models", "2"], m4 + ["--seed", "1"]),
            "classify": (cl + ["--cell", "lstm", "gru", "--seed", "0"], cl + ["--cell", "lstm", "--seed", "1"])}


def run_cli(args, out: Path, inputs=None, monkeypatch=None) -> int:
    if args[:4] == ["forecast", "--dataset", "m4-hourly", "--window"] and monkeypatch is not None:
        import gatedrnn.forecast.m4 as m4

        monkeypatch.setattr(m4, "find_files", lambda data_dir=None: inputs["m4"])
    return main([*args, "--out", str(out)])


# -- what a folder holds ----------------------------------------------------------------------------------
def _normal(doc, folder: str):
    """``doc`` without timings, the path of any run folder beside ``folder`` as OUT (a copied run names its
    original folder)."""
    if isinstance(doc, dict):
        return {k: _normal(v, folder) for k, v in doc.items() if k not in VOLATILE}
    if isinstance(doc, list):
        return [_normal(v, folder) for v in doc]
    return re.sub(re.escape(str(Path(folder).parent)) + r"/[^/]+", "OUT", doc) if isinstance(doc, str) else doc


def fingerprint(folder: Path) -> dict:
    """Every visible file of ``folder`` by relative path: arrays for .npz, JSON without timings, else bytes."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or not p.is_file():
            continue
        if p.suffix == ".npz":
            with np.load(p) as z:
                out[str(rel)] = {k: z[k].tobytes() for k in z.files}
        elif p.suffix == ".json":
            out[str(rel)] = _normal(json.loads(p.read_text()), str(folder))
        else:
            out[str(rel)] = p.read_bytes()
    return out


def hidden(folder: Path) -> list:
    """What is left beside the run's files: anything hidden but the manifest and the lock of a dead process."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.name not in (".gatedrnn-run.json",
                                                                                                 ".lock"))


# -- the faults -------------------------------------------------------------------------------------------
WRITES = ("os.mkdir", "builtins.open", "numpy.savez", "os.replace", "os.rename")
POINTS = [(np, "savez"), (os, "write"), (os, "fsync"), (os, "open"), (os, "mkdir"), (os, "rmdir"), (os, "replace"),
          (os, "rename"), (os, "unlink"), (shutil, "rmtree")]


class Faults:
    """Counts the disk calls after the command has trained (its first write under --out) and fails the ``k``-th:
    ``once`` (later calls work) or ``dead`` (they fail too); the call itself is not made."""

    def __init__(self, out: Path, k: int, mode: str = "once", exc=SystemExit):
        self.out, self.k, self.mode, self.exc = str(out), k, mode, exc
        self.n, self.calls, self.armed = 0, [], False

    def _writes_in_out(self, name, args) -> bool:
        paths = [str(a) for a in args[:2] if isinstance(a, (str, os.PathLike))]
        return name in WRITES and any(p.startswith(self.out + os.sep) and not p.endswith(os.sep + ".lock")
                                      for p in paths)

    def hit(self, name, args):
        if not self.armed and self._writes_in_out(name, args):
            self.armed = True      # the first write into --out: what comes before is reading and training
        if not self.armed:
            return
        self.n += 1
        self.calls.append(name)
        if self.n == self.k or (self.n > self.k and self.mode == "dead"):
            raise self.exc(f"injected at call {self.n} ({name})")

    def wrap(self, name, fn):
        def call(*args, **kwargs):
            self.hit(name, args)
            return fn(*args, **kwargs)
        return call

    def install(self, mp):
        for module, attr in POINTS:
            mp.setattr(module, attr, self.wrap(f"{module.__name__}.{attr}", getattr(module, attr)))
        real_open = builtins.open

        def opener(file, mode="r", *args, **kwargs):
            if any(c in mode for c in "wax+") and isinstance(file, (str, os.PathLike)):
                self.hit("builtins.open", (file,))
            return real_open(file, mode, *args, **kwargs)
        mp.setattr(builtins, "open", opener)


def _finish(out: Path) -> None:
    """What the next command on the folder does first (a dead process cannot)."""
    from gatedrnn.run_folder import recover

    recover(out)


@pytest.fixture(scope="module")
def runs(inputs, tmp_path_factory, tiny):
    """Per command: the earlier run's folder, its fingerprint, and the fingerprint of the new run over it."""
    mp, found = pytest.MonkeyPatch(), {}
    try:
        for name, (old_args, new_args) in commands(inputs, tiny).items():
            root = tmp_path_factory.mktemp(name)
            assert run_cli(old_args, root / "old", inputs, mp) == 0
            shutil.copytree(root / "old", root / "run")
            faults = Faults(root / "run", 10**9)
            with pytest.MonkeyPatch.context() as fmp:
                faults.install(fmp)
                assert run_cli(new_args, root / "run", inputs, mp) == 0
            new = fingerprint(root / "run")
            old = fingerprint(root / "old")
            assert new != old and set(new) != set(old), name
            found[name] = (root, old, new, faults.calls)
    finally:
        mp.undo()
    return found


def _picks(calls: list) -> list:
    """Every call (full), or the renames and a few others spread over the writes (small)."""
    ks = list(range(1, len(calls) + 1))
    if FULL:
        return ks
    renames = [k for k in ks if calls[k - 1] in ("os.replace", "os.rename")]
    return sorted(set(ks[:: max(1, len(ks) // 5)]) | set(renames[-3:]) | {ks[-1]})


@pytest.mark.parametrize("command", ["forecast", "predict", "m4", "classify"])
@pytest.mark.parametrize("mode", ["once", "dead"])
def test_a_failure_at_any_disk_call_leaves_the_old_run_or_the_new(runs, inputs, command, mode, monkeypatch, tiny):
    root, old, new, calls = runs[command]
    new_args = commands(inputs, tiny)[command][1]
    assert len(calls) >= 10, calls
    work = root / "work"
    for k in (_picks(calls) if mode == "once" else _picks(calls)[::2]):
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(root / "old", work)
        exc = SystemExit if k % 2 else KeyboardInterrupt
        faults = Faults(work, k, mode, exc)
        with pytest.MonkeyPatch.context() as fmp:
            faults.install(fmp)
            try:
                rc = run_cli(new_args, work, inputs, monkeypatch)
            except SystemExit:
                rc = "exit"
        what = f"{command}: {mode} {exc.__name__} at call {k} of {len(calls)} ({calls[k - 1]}), rc {rc}"
        if mode == "dead":
            _finish(work)
        got = fingerprint(work)
        assert got in (old, new), f"{what}: a mixed folder {sorted(got)}"
        assert hidden(work) == [], f"{what}: left {hidden(work)}"


def test_a_new_run_over_an_earlier_one_leaves_none_of_its_files(runs):
    """The earlier run wrote forecast.png, a second model, a gru/ checkpoint; the new one did not: they are gone."""
    for name, (root, old, new, _) in runs.items():
        got = fingerprint(root / "run")
        assert got == new and not (set(old) - set(new)) & set(got), name
        assert hidden(root / "run") == [], name


SIGNAL_CHILD = """
import os, signal, sys
real = os.replace
def replace(src, dst, **kw):
    real(src, dst, **kw)
    if os.path.basename(str(dst)) == sys.argv[1] and (sys.argv[2] != "out" or os.path.dirname(str(dst)) == sys.argv[3]):
        os.kill(os.getpid(), signal.SIGKILL if sys.argv[4] == "kill" else signal.SIGTERM)
os.replace = replace
from gatedrnn.cli import main
sys.exit(main(sys.argv[5:]))
"""


def _child(name: str, where: str, how: str, args, out: Path) -> subprocess.CompletedProcess:
    """The command ``args`` into ``out``, sent ``how`` (term, kill) right after the file ``name`` is renamed into
    place (``where``: anywhere, or ``out`` itself)."""
    return subprocess.run([sys.executable, "-c", SIGNAL_CHILD, name, where, str(out), how, *args, "--out", str(out)],
                          env=ENV, capture_output=True, text=True, timeout=120)


def test_sigterm_in_the_middle_of_the_writes_leaves_one_run(runs, inputs, tiny):
    """SIGTERM once results.json is written (before config.json and the checkpoint): the earlier run; SIGTERM once
    results.json is renamed into --out itself: it waits for the swap to end, so the whole new run."""
    root, old, new, _ = runs["forecast"]
    args = commands(inputs, tiny)["forecast"][1]
    for where, expect in (("anywhere", old), ("out", new)):
        work = root / f"term-{where}"
        shutil.copytree(root / "old", work)
        proc = _child("results.json", where, "term", args, work)
        assert proc.returncode == -15, proc.stderr
        assert fingerprint(work) == expect, where


def test_sigkill_inside_the_swap_is_completed_by_the_next_command(runs, inputs, tiny):
    """SIGKILL right after config.json of the new run is moved into --out: the next command on the folder
    completes the new run before anything else."""
    root, old, new, _ = runs["classify"]
    work = root / "kill"
    shutil.copytree(root / "old", work)
    proc = _child("config.json", "out", "kill", commands(inputs, tiny)["classify"][1], work)
    assert proc.returncode == -9, proc.stderr
    _finish(work)
    assert fingerprint(work) == new
    assert hidden(work) == []


def test_a_reader_completes_a_swap_cut_off_by_sigkill(runs, inputs, tiny):
    """SIGKILL inside the swap of a --predict run over an earlier one: Forecaster.load (through resolve_checkpoint,
    as every reader) finishes the swap under the folder's lock and reads the whole new run."""
    from gatedrnn.forecast import Forecaster

    root, old, new, _ = runs["predict"]
    work = root / "kill-read"
    shutil.copytree(root / "old", work)
    proc = _child("future.csv", "out", "kill", commands(inputs, tiny)["predict"][1], work)
    assert proc.returncode == -9, proc.stderr
    assert (work / ".gatedrnn-run.new").is_dir()
    assert len(Forecaster.load(work / "forecaster").models) == 1     # the new run (the earlier had 2)
    assert fingerprint(work) == new and hidden(work) == []


def test_files_of_the_user_are_refused_kept_with_overwrite_and_never_deleted(inputs, tmp_path, capsys, tiny):
    csv = str(inputs["csv"])
    args = ["forecast", "--dataset", csv, "--column", "value", "--window", "8", "--no-arima", "--baselines", "naive",
            "--no-plot", *tiny.fit4]
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    (out / "results.json").write_text('{"mine": true}')
    assert main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "notes.txt" in err and "--overwrite" in err, err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "results.json"]
    assert (out / "results.json").read_text() == '{"mine": true}'
    assert main([*args, "--out", str(out), "--overwrite"]) == 0
    assert (out / "notes.txt").read_text() == "my notes"
    assert "rows" in json.loads((out / "results.json").read_text())
    (out / "later.txt").write_text("added after the run")
    assert main([*args, "--out", str(out)]) == 2                # a file the run did not write: refused again
    assert main([*args, "--out", str(out), "--overwrite", "--seed", "3"]) == 0
    assert {"notes.txt", "later.txt", "model", "results.json", "config.json"} <= {p.name for p in out.iterdir()}
    victim = tmp_path / "victim.txt"                 # a tampered manifest claims files outside and the user's
    victim.write_text("not the run's")
    manifest = out / ".gatedrnn-run.json"
    doc = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**doc, "entries": doc["entries"] + ["../victim.txt", "notes.txt"]}))
    assert main([*args, "--out", str(out)]) == 2
    assert main([*args, "--out", str(out), "--overwrite"]) == 0
    assert victim.read_text() == "not the run's" and (out / "notes.txt").read_text() == "my notes"


def test_outputs_are_finite_or_one_line_and_nothing_is_written(tmp_path):
    """results.json, forecasts.csv and future.csv go through RunFolder.write_json / write_csv: a NaN or an Inf is
    refused with the file, the place and the cause named, and the run is not written."""
    from gatedrnn.errors import UserError
    from gatedrnn.run_folder import open_run

    out = tmp_path / "run"
    for write, where in ((lambda run: run.write_json("results.json", {"rows": [{"rmse": 1.0}, {"rmse": float("nan")}]},
                                                     "series x holds values up to 1e+300"), "[1]['rmse']"),
                         (lambda run: run.write_csv("future.csv", ["step", "y_hat"], [["1", 2.0], ["2", float("inf")]],
                                                    "series x holds values up to 1e+300"), "row 2, column y_hat")):
        with pytest.raises(UserError) as e, open_run(out, "gatedrnn forecast") as run:
            run.write_json("config.json", {"seed": 0})
            write(run)
        msg = str(e.value)
        assert "\n" not in msg and where in msg and "1e+300" in msg and "not written" in msg, msg
        assert list(out.iterdir()) == []


def test_predict_on_values_that_overflow_is_one_line(tmp_path, capsys, tiny):
    p = tmp_path / "huge.csv"
    p.write_text("t,value\n" + "".join(f"{i},{(1 + (i % 7)) * 1e300:.6g}\n" for i in range(60)))
    out = tmp_path / "run"
    assert main(["forecast", "--dataset", str(p), "--column", "value", "--window", "8", "--predict", "4",
                 "--no-plot", *tiny.fit4, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err and "Traceback" not in err, err
    assert not (out / "future.csv").exists()
