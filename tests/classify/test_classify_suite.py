"""Issue 27's sensor suite from the command line: the UCR problems by name (as the UEA ones), a kilobyte cell with
its ranks and density on each, and aeon's MiniRocket and 1-NN DTW in the same run when aeon is installed."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from gatedrnn.cli import main

SHARED = Path(os.environ.get("GATEDRNN_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))


@pytest.mark.parametrize("name, archive, folder", [("gunpoint", "ucr", "GunPoint"), ("italypowerdemand", "ucr", "ItalyPowerDemand"),
                                                   ("basicmotions", "uea", "BasicMotions")])
def test_the_suite_by_name_with_a_compressed_fastgrnn(name, archive, folder, tmp_path, capsys, tiny):
    if not (SHARED / archive / folder).is_dir():
        pytest.skip(f"{folder} is not under {SHARED}/{archive} (set GATEDRNN_DATA)")
    out = tmp_path / "run"
    assert main(["classify", "--dataset", name, "--data-dir", str(SHARED), *tiny.classify_suite, "--rank-hh", "2", "--density", "0.5",
                 "--no-baselines", "--out", str(out)]) == 0
    assert capsys.readouterr().out.startswith(f"{folder}: test accuracy (%)")
    res = json.loads((out / "results.json").read_text())
    assert [r["method"] for r in res["rows"]] == ["FastGRNN (4 units, rank_hh 2)"]
    assert (out / "fastgrnn").is_dir() and res["rows"][0]["accs"][0] > 0


def _toy_ts(tmp_path, toy_classes):
    rng = np.random.default_rng(0)
    splits = {split: toy_classes.by_offset(n, rng, 12, 2, offset=1.0) for split, n in (("TRAIN", 20), ("TEST", 10))}
    return toy_classes.write_ts(tmp_path, splits, ("a", "b"))


@pytest.mark.slow
def test_minirocket_and_dtw_run_in_the_same_run_when_aeon_is_installed(tmp_path, capsys, tiny, toy_classes):
    pytest.importorskip("aeon", reason="the baselines need the classify extra (aeon), which the test extra leaves out: "
                                       "aeon pins pandas < 3.1 and numba")
    out = tmp_path / "run"
    args = ["classify", "--dataset", _toy_ts(tmp_path, toy_classes), *tiny.classify_suite, "--seeds", "2", "--out", str(out)]
    assert main(args) == 0
    text = capsys.readouterr().out
    rows = {r["method"]: r["accs"] for r in json.loads((out / "results.json").read_text())["rows"]}
    assert set(rows) == {"FastGRNN (4 units)", "1-NN DTW (aeon)", "MiniRocket (aeon)"}
    assert len(rows["FastGRNN (4 units)"]) == 2 and len(rows["MiniRocket (aeon)"]) == 2   # MiniRocket once per seed
    assert rows["1-NN DTW (aeon)"] == [1.0] and min(rows["MiniRocket (aeon)"]) == 1.0     # two well-apart classes
    assert "1-NN DTW (aeon)" in text and "MiniRocket (aeon)" in text
