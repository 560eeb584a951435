"""benchmarks/front_c.py RUN (issue 24 item 2): for each cell of a classify run with a front end, the C step's
flash, RAM and µs per raw sample, float32 and int8, and its test accuracy, equal to Classifier.predict's."""

import re

import numpy as np
import pytest

from gatedrnn.cli import main
from gatedrnn.deploy.c99_run import find_cc


@pytest.mark.skipif(find_cc() is None, reason="no C compiler (cc, gcc or clang)")
def test_front_c_rows_of_a_classify_run(tmp_path, capsys, toy_classes, bench_script):
    rng = np.random.default_rng(0)
    splits = {split: toy_classes.univariate_by_sign(16, rng, (20, 30), head=8) for split in ("TRAIN", "TEST")}
    toy_classes.write_ts(tmp_path, splits, ("down", "up"))
    assert main(["classify", "--dataset", str(tmp_path / "Toy"), "--cell", "gru", "--hidden-size", "4", "--seeds", "1",
                 "--max-steps", "5", "--no-baselines", "--no-select", "--frame", "3", "--conv", "2", "--norm",
                 "running", "--pooling", "mean", "--out", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    mod = bench_script("front_c.py", "front_c_bench")
    mod.main([str(tmp_path / "run"), "--repeats", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and "Toy GRU 4, norm running, conv 2x4, frame 3, mean pooling, float32" in lines[2]
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert all(re.fullmatch(r"[\d,.]+", c) for c in cells[1:]) and cells[-1] == cells[-2]
