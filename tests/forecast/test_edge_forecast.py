"""benchmarks/edge.py --forecast FOLDER (issue 21): a saved Forecaster's two rows of the edge table (its whole C
export with float32 and int8 weights: flash, weights, RAM, µs and MACs per forecast, measured by
benchmarks/forecaster_c.py), the C against predict under the table, and the sMAPE on M4 Hourly's test values when the
forecaster was fitted on M4 Hourly's training series."""

import re
from pathlib import Path

import numpy as np
import pytest

from gatedrnn.deploy.c99_run import find_cc
from gatedrnn.forecast import Forecaster

SETTINGS = {"horizon": 4, "season": 24, "window": 48, "hidden_size": 8, "max_steps": 10, "seed": 0}

pytestmark = pytest.mark.skipif(find_cc() is None, reason="no C compiler (cc, gcc or clang)")


@pytest.fixture(scope="module")
def edge(bench_script):
    return bench_script("edge.py", "edge_bench")


def _series(n: int, k: int) -> np.ndarray:
    t = np.arange(n, dtype=np.float64)
    return 100.0 * (k + 1) + 10.0 * np.sin(2 * np.pi * t / 24 + k) + 0.05 * t


def _wide(path: Path, series: dict) -> None:
    width = max(v.size for v in series.values())
    lines = [",".join(['"V1"'] + [f'"V{j + 2}"' for j in range(width)])]
    lines += [",".join([f'"{k}"'] + [repr(float(x)) for x in v] + [""] * (width - v.size)) for k, v in series.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _rows(text: str) -> list:
    return [[c.strip() for c in line.strip("|").split("|")] for line in text.splitlines()
            if line.startswith("| ") and ("Forecaster," in line or ": same |" in line)]


def test_forecast_rows_of_a_saved_forecaster(edge, tmp_path, capsys):
    f = Forecaster(n_models=2, **SETTINGS).fit([_series(200, 0), _series(150, 1)])
    f.save(tmp_path / "fc")
    edge.main(["--no-table", "--forecast", str(tmp_path / "fc"), "--repeats", "1"])
    text = capsys.readouterr().out
    rows = _rows(text)
    assert [r[1] for r in rows] == ["float32", "int8"], text
    assert "LSTM 8 x 2 member(s), window 48, horizon 4, season 24" in rows[0][0] and "MACs" in rows[0][0]
    assert int(re.search(r"([\d,]+) MACs", rows[0][0]).group(1).replace(",", "")) == edge._forecaster_c().macs(f)
    for r in rows:
        flash, weights, ram, us = (float(v.replace(",", "")) for v in r[2:6])
        assert flash > weights > 0 and ram > 0 and us > 0
    assert int(rows[1][3].replace(",", "")) < int(rows[0][3].replace(",", "")) / 2      # int8 weights
    assert float(rows[0][7].replace(",", "")) > 0                                        # Forecaster.stream()
    diffs = [float(x) for x in re.findall(r"vs predict: ([\d.e+-]+) x max", text)]
    assert len(diffs) == 2 and diffs[0] < 1e-5 and diffs[1] < 1e-2, text
    gaps = [float(x) for x in re.findall(r"; ([\d.e+-]+) x the window's scale on the next 4 values of its 2 series", text)]
    assert len(gaps) == 2 and gaps[0] < 1e-5 and gaps[1] < 1e-2, text
    assert "M4 Hourly" not in text


def test_an_m4_hourly_forecaster_is_scored_on_the_m4_test_values(edge, tmp_path, capsys):
    train = {"H1": _series(120, 0), "H2": _series(100, 1)}
    test = {k: _series(v.size + 4, i)[-4:] for i, (k, v) in enumerate(train.items())}
    (tmp_path / "m4").mkdir()
    _wide(tmp_path / "m4" / "Hourly-train.csv", train)
    _wide(tmp_path / "m4" / "Hourly-test.csv", test)
    f = Forecaster(**SETTINGS).fit(list(train.values()))
    got = edge.m4_test_values(f, tmp_path)
    assert got is not None and all(np.array_equal(a, b) for a, b in zip(got, test.values()))
    other = Forecaster(**SETTINGS).fit([_series(120, 0), _series(100, 2)])
    assert edge.m4_test_values(other, tmp_path) is None
    f.save(tmp_path / "fc")
    edge.main(["--no-table", "--forecast", str(tmp_path / "fc"), "--repeats", "1", "--data-dir", str(tmp_path)])
    scores = [float(x) for x in re.findall(r"sMAPE on M4 Hourly's test values ([\d.]+)", capsys.readouterr().out)]
    assert len(scores) == 2 and all(0 <= s < 200 for s in scores)
