"""benchmarks/uea_table.py RUN... (issues 24 and 27): the one UCR/UEA table's rows from finished classify run
folders: every cell's mean ± sd with the best in bold, the best cell's ensemble, the baselines, the wall seconds,
the kilobyte column, and the command rebuilt from the run's config.json."""

import json
import shutil

import numpy as np
import pytest

from gatedrnn.cli import main


@pytest.fixture
def script(bench_script):
    return bench_script("uea_table.py", "uea_table_bench")


@pytest.fixture
def toy_run(tmp_path, capsys, toy_classes):
    rng = np.random.default_rng(0)
    splits = {split: toy_classes.univariate_by_sign(12, rng, (10, 16), head=5) for split in ("TRAIN", "TEST")}
    toy_classes.write_ts(tmp_path, splits, ("down", "up"))
    assert main(["classify", "--dataset", str(tmp_path / "Toy"), "--cell", "gru", "mingru", "--hidden-size", "4",
                 "--seeds", "2", "--max-steps", "3", "--no-baselines", "--no-select", "--ensemble",
                 "--out", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    return tmp_path / "run"


def test_rows_of_classify_runs_with_and_without_baselines(toy_run, tmp_path, capsys, script):
    with_base = tmp_path / "with_baselines"
    shutil.copytree(toy_run, with_base)
    result = json.loads((with_base / "results.json").read_text())
    result["rows"] += [{"method": "1-NN DTW (aeon)", "accs": [0.5], "seconds": 2.0},
                       {"method": "MiniRocket (aeon)", "accs": [0.75, 0.25], "seconds": 3.0}]
    (with_base / "results.json").write_text(json.dumps(result))
    script.main([str(toy_run), str(with_base), "--kilobyte", "Toy=91.00 ± 1.00, 2,016 B"])
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


def test_a_kilobyte_item_without_a_name_is_one_line(toy_run, capsys, script):
    with pytest.raises(SystemExit) as e:
        script.main([str(toy_run), "--kilobyte", "91.00"])
    assert e.value.code == 2 and "--kilobyte: expected NAME=TEXT, got '91.00'" in capsys.readouterr().err
