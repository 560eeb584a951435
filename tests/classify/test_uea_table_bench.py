"""benchmarks/uea_table.py RUN... (issues 24 and 27): the one UCR/UEA table's rows from finished classify run
folders: every cell's mean ± sd with the best in bold, the best cell's ensemble, the baselines, the wall seconds,
the kilobyte column, and the command rebuilt from the run's config.json."""

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from gatedrnn.cli import main

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "uea_table.py"


def _script():
    spec = importlib.util.spec_from_file_location("uea_table_bench", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def toy_run(tmp_path, capsys):
    rng = np.random.default_rng(0)
    head = "@problemName Toy\n@univariate true\n@equalLength false\n@classLabel true down up\n@data\n"
    for split in ("TRAIN", "TEST"):
        rows = [rng.standard_normal(int(rng.integers(10, 16))) for _ in range(12)]
        (tmp_path / f"Toy_{split}.ts").write_text(head + "\n".join(
            ",".join(f"{v:.4f}" for v in x) + (":up" if x[:5].sum() > 0 else ":down") for x in rows) + "\n")
    assert main(["classify", "--dataset", str(tmp_path / "Toy"), "--cell", "gru", "mingru", "--hidden-size", "4",
                 "--seeds", "2", "--max-steps", "3", "--no-baselines", "--no-select", "--ensemble",
                 "--out", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    return tmp_path / "run"


def test_rows_of_classify_runs_with_and_without_baselines(toy_run, tmp_path, capsys):
    with_base = tmp_path / "with_baselines"
    shutil.copytree(toy_run, with_base)
    result = json.loads((with_base / "results.json").read_text())
    result["rows"] += [{"method": "1-NN DTW (aeon)", "accs": [0.5], "seconds": 2.0},
                       {"method": "MiniRocket (aeon)", "accs": [0.75, 0.25], "seconds": 3.0}]
    (with_base / "results.json").write_text(json.dumps(result))
    _script().main([str(toy_run), str(with_base), "--kilobyte", "Toy=91.00 ± 1.00, 2,016 B"])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and lines[1].count("---") == lines[0].count(" | ") + 1
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    assert all(len(c) == 8 for c in cells)
    plain, base = cells
    assert plain[0] == "Toy" and plain[4:6] == ["-", "-"] and plain[6].endswith("/ -")
    assert plain[1].startswith("`gatedrnn classify --dataset ") and "--cell gru mingru" in plain[1]
    assert "--no-select" in plain[1] and "--no-baselines" in plain[1] and "--max-steps 3" in plain[1]
    assert plain[2].count("**") == 2 and "gru " in plain[2] and "mingru " in plain[2] and " ± " in plain[2]
    assert plain[3].startswith("gru ") and " / mingru " in plain[3] and " ± " not in plain[3]   # one value a cell
    assert base[4:6] == ["50.00 ± 35.36", "50.00"] and base[6].endswith("/ 3") and base[7] == "91.00 ± 1.00, 2,016 B"


def test_a_kilobyte_item_without_a_name_is_one_line(toy_run, capsys):
    with pytest.raises(SystemExit) as e:
        _script().main([str(toy_run), "--kilobyte", "91.00"])
    assert e.value.code == 2 and "--kilobyte: expected NAME=TEXT, got '91.00'" in capsys.readouterr().err
