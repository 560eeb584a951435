"""benchmarks/quantize_aware.py (issue 27, item 2): each quantize choice's float32, int8 and compiled Q15 C test
accuracy on a toy problem; with quantisation-aware fine-tuning the int8 model computes what was trained."""

import re

import numpy as np
import pytest

from gatedrnn.deploy.c99_run import find_cc


@pytest.mark.skipif(find_cc() is None, reason="no C compiler")
def test_every_quantize_choice_and_its_three_accuracies(tmp_path, capsys, bench_script, toy_classes):
    bench = bench_script("quantize_aware.py", "quantize_aware_bench")
    rng = np.random.default_rng(0)
    splits = {split: toy_classes.by_offset(n, rng, 10, 3) for split, n in (("TRAIN", 24), ("TEST", 12))}
    prefix = toy_classes.write_ts(tmp_path, splits, ("a", "b"))
    bench.main(["--dataset", prefix, "--hidden", "4", "--seeds", "2", "--max-steps", "30"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Toy: FastGRNN 4 units, density 1.0, 30 steps, seeds 0-1")
    rows = {line.split()[0]: [float(v) for v in re.findall(r"(\d+\.\d\d) ±", line)] for line in lines[2:]}
    assert list(rows) == ["none", "int8", "int8-q15"] and all(len(v) == 3 for v in rows.values())
    assert rows["int8"][0] == rows["int8"][1] and rows["int8-q15"][0] == rows["int8-q15"][1]   # float32 == int8
