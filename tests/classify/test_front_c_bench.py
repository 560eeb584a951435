"""benchmarks/front_c.py RUN (issue 24 item 2): for each cell of a classify run with a front end, the C step's
flash, RAM and µs per raw sample, float32 and int8, and its test accuracy, equal to Classifier.predict's."""

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

from gatedrnn.cli import main
from gatedrnn.deploy.c99_run import find_cc

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "front_c.py"


@pytest.mark.skipif(find_cc() is None, reason="no C compiler (cc, gcc or clang)")
def test_front_c_rows_of_a_classify_run(tmp_path, capsys):
    rng = np.random.default_rng(0)
    head = "@problemName Toy\n@univariate true\n@equalLength false\n@classLabel true down up\n@data\n"
    for split in ("TRAIN", "TEST"):
        rows = [rng.standard_normal(int(rng.integers(20, 30))) for _ in range(16)]
        (tmp_path / f"Toy_{split}.ts").write_text(head + "\n".join(
            ",".join(f"{v:.4f}" for v in x) + (":up" if x[:8].sum() > 0 else ":down") for x in rows) + "\n")
    assert main(["classify", "--dataset", str(tmp_path / "Toy"), "--cell", "gru", "--hidden-size", "4", "--seeds", "1",
                 "--max-steps", "5", "--no-baselines", "--no-select", "--frame", "3", "--conv", "2", "--norm",
                 "running", "--pooling", "mean", "--out", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    spec = importlib.util.spec_from_file_location("front_c_bench", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main([str(tmp_path / "run"), "--repeats", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and "Toy GRU 4, norm running, conv 2x4, frame 3, mean pooling, float32" in lines[2]
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert all(re.fullmatch(r"[\d,.]+", c) for c in cells[1:]) and cells[-1] == cells[-2]
