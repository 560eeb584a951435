"""MPI outside `train` (issue 20, section 4): `gatedrnn forecast` (every mode: they share
``gatedrnn.train.run_output.writing_run``; --predict here) and `gatedrnn classify` do not train data-parallel;
under `mpiexec -n 2` they are refused before anything is read or written: one line on rank 0, exit status 2, no
--out. Needs the [mpi] extra (mpi4py, an mpiexec); skipped without it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.needs_mpi


def test_forecast_and_classify_under_two_ranks_are_one_line(tmp_path, tiny, mpi, toy_classes):
    csv = tmp_path / "s.csv"
    csv.write_text("t,value\n" + "".join(f"{i},{10 + 3 * np.sin(i / 2):.4f}\n" for i in range(60)))
    cases = [np.random.default_rng(k).standard_normal(5) for k in range(8)], ["a" if k % 2 else "b" for k in range(8)]
    toy_classes.write_ts(tmp_path, {"TRAIN": cases, "TEST": cases}, ("a", "b"), digits=3, equal_length=False)
    series = ["--dataset", str(csv), "--column", "value", "--window", "8", "--no-plot", *tiny.fit]
    commands = {"predict": ["forecast", *series, "--predict", "4"],
                "classify": ["classify", "--dataset", str(tmp_path / "Toy"), "--cell", "lstm", "--seeds", "1",
                             "--no-baselines", *tiny.fit]}
    for name, args in commands.items():
        out = tmp_path / f"out-{name}"
        r = subprocess.run([mpi.exec, "--oversubscribe", "-n", "2", sys.executable, "-m", "gatedrnn.cli", *args,
                            "--out", str(out)], capture_output=True, text=True, env=mpi.env(), timeout=120)
        ours = mpi.ours(r.stderr)
        assert r.returncode == 2 and len(ours) == 1 and "MPI launcher" in ours[0], (name, r.returncode, r.stderr)
        assert not out.exists(), name
