"""benchmarks/kilobyte.py and benchmarks/sensor_suite.py (issue 27): the candidate chosen on validation accuracy
alone within the byte budget, the JSON of every figure, and the suite row of the chosen model (float32 and Q15 C
accuracy, sizes, µs per step of every way to run it) on a toy problem."""

import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest

from gatedrnn.deploy.c99_run import find_cc

HERE = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"{name}_bench", HERE / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _toy(tmp_path):
    rng = np.random.default_rng(0)
    head = "@problemName Toy\n@univariate false\n@dimensions 3\n@equalLength true\n@classLabel true a b\n@data\n"
    for split, n in (("TRAIN", 24), ("TEST", 12)):
        X = [rng.standard_normal((10, 3)) + (0.8 if i % 2 else -0.8) for i in range(n)]
        rows = [":".join(",".join(f"{v:.4f}" for v in x[:, d]) for d in range(3)) + (":b" if i % 2 else ":a")
                for i, x in enumerate(X)]
        (tmp_path / f"Toy_{split}.ts").write_text(head + "\n".join(rows) + "\n")
    return str(tmp_path / "Toy")


def test_ranks_are_kept_only_where_they_shrink_the_matrix_and_the_choice_reads_no_test():
    kb = _load("kilobyte")
    assert kb.ranks_that_shrink(1, 32, 6, 8) == {"rank_hh": 8}
    assert kb.ranks_that_shrink(12, 32, 6, 6) == {"rank_ih": 6, "rank_hh": 6}
    assert kb.ranks_that_shrink(12, 32, 12, 16) == {}
    rows = [{"spec": "a", "val": 99.0, "bytes": 5000}, {"spec": "b", "val": 95.0, "bytes": 3000},
            {"spec": "c", "val": 95.0, "bytes": 2000, "test": [0.0]}]
    assert kb.choose(rows, 4096)["spec"] == "c" and kb.choose(rows, 1000) is None


@pytest.mark.skipif(find_cc() is None, reason="no C compiler (cc, gcc or clang)")
def test_kilobyte_then_the_suite_row(tmp_path, capsys, monkeypatch):
    prefix = _toy(tmp_path)
    kb = _load("kilobyte")
    monkeypatch.setattr(kb, "available", lambda: False)
    kb.main(["--dataset", prefix, "--seeds", "1", "--candidate", "8:2:2:1:10", "--candidate", "6:0:0:0.5:10",
             "--json", str(tmp_path / "kb.json")])
    out = capsys.readouterr().out
    assert "<- chosen on validation" in out and "goal: not measured (no aeon)" in out
    (entry,) = json.loads((tmp_path / "kb.json").read_text())
    assert entry["chosen"] in ("8:2:2:1:10", "6:0:0:0.5:10")
    assert [c["options"] for c in entry["candidates"]] == [{"hidden_size": 8, "max_steps": 10, "rank_ih": 2, "rank_hh": 2},
                                                            {"hidden_size": 6, "max_steps": 10, "density": 0.5}]
    suite = _load("sensor_suite")
    monkeypatch.setattr(suite, "available", lambda: False)
    suite.main([str(tmp_path / "kb.json"), "--seeds", "1", "--repeats", "1", "--steps", "200"])
    lines = capsys.readouterr().out.splitlines()
    (row,) = [line for line in lines if line.startswith("| Toy |")]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == entry["chosen"] and len(cells) == 17
    assert all(re.fullmatch(r"[-+\d,.± ]+", c) for c in cells[2:5] + cells[7:13])
