"""benchmarks/esrnn_m4.py --ablations: the model and every ablation trained in one run and printed in one table."""

import os
from pathlib import Path

import pytest


@pytest.fixture
def bench(bench_script):
    return bench_script("esrnn_m4.py", "esrnn_m4")


def _m4_dir() -> Path:
    data = Path(os.environ.get("GATEDRNN_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
    if not (data / "m4" / "Hourly-train.csv").is_file():
        pytest.skip(f"M4 Hourly not found under {data}: set GATEDRNN_DATA to the folder holding m4/")
    return data


def test_ablations_print_every_row_in_one_table(capsys, bench):
    """At a smoke budget on 6 series: one table holding the model, each ablation with its budget and its OWA change
    against the model, the ensemble and its seeds alone, the baselines of the run and the published rows."""
    data = _m4_dir()
    doc = bench.main(["--ablations", "--size", "tiny", "--epochs", "1", "--series", "6", "--length", "300",
                         "--data-dir", str(data)])
    text = capsys.readouterr().out
    table = text[text.index("| row | epochs | seeds | seconds | sMAPE | MASE | OWA | OWA - model's |"):]
    labels = ["model (penalty 10, dilations 1,4;24)", "ES off (--no-es)", "no second season (--no-season2)",
              'no dilations (--dilations "1,1;1")', "penalty 0 (--penalty 0)", "median of 3 seeds (--seeds 3)",
              "  seed 1 alone", "  seed 2 alone"]
    assert [r["method"] for r in doc["rows"]] == labels
    for r in doc["rows"]:
        assert f"| {r['method']} | 1 | {3 if r['method'].startswith('median') else 1} | {r['seconds']:.1f} |" in table
    assert [line.split(" | ")[-1] for line in table.splitlines() if line.startswith("| model")] == ["+0.000 |"]
    for name in ("snaive (this run)", "naive2 (this run)", "published: ES-RNN (Smyl, 1st overall)",
                 "published: best hourly entry", "published: Naive2"):
        assert f"| {name} |" in table
    ens, seeds = doc["rows"][5], [doc["rows"][0], *doc["rows"][6:]]
    assert ens["seconds"] == pytest.approx(sum(r["seconds"] for r in seeds))
    assert doc["rows"][1]["smape"] != doc["rows"][0]["smape"]


def test_ablations_refuse_settings_that_are_an_ablation(capsys, bench):
    """--ablations from a model that already lacks what a row removes is one line and exit status 2."""
    for flags, named in ((["--no-es"], "--no-es"), (["--penalty", "0"], "--penalty 0"), (["--seeds", "1"], "--seeds 1"),
                         (["--dilations", "1,1;1"], '--dilations "1,1;1"'), (["--no-season2"], "--no-season2")):
        with pytest.raises(SystemExit) as exit_:
            bench.main(["--ablations", "--size", "tiny", *flags])
        assert exit_.value.code == 2
        assert f"--ablations: expected the model's settings, each ablation a row of its own, got {named}" in capsys.readouterr().err
    assert bench.parse(["--size", "full"]).penalty == 100.0 and bench.parse(["--size", "small"]).penalty == 10.0
    assert bench.parse(["--size", "tiny", "--ablations"]).seeds == 3 and bench.parse(["--size", "tiny"]).seeds == 1
