"""docs/notebooks/03 shows the whole forecasting path on the global ``Forecaster`` only (issue 21): a panel fitted,
checked by a backtest, streamed (in Python and by ``gatedrnn stream``), exported to C, compiled and run on the same
values; never the old single-series engine. Every step's claim is an assert. (``tests/project/test_notebooks.py`` runs it
top to bottom under its two-minute limit; this only reads it.)"""

import json
from pathlib import Path

NOTEBOOK = Path(__file__).resolve().parents[2] / "docs" / "notebooks" / "03_time_series_and_the_edge.ipynb"


def _code_cells() -> list:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def test_the_notebook_takes_the_forecaster_the_whole_way():
    text = "\n".join(_code_cells())
    for step in ("Forecaster(", ".fit(panel)", "backtest(", "backtest_scores(", ".stream()", ".push(", '"stream"',
                 '"export"', '"--c"', "CForecaster(", "export_forecaster_c(", ".save(", "g.load(", ".predict("):
        assert step in text, f"notebook 03 lacks {step}"


def test_the_notebook_never_uses_the_old_engine():
    text = "\n".join(_code_cells())
    for old in ("forecast.model", "model_forecast", "train_model", "SeriesScaler", "SeriesStream", "load_series",
                "forecast.experiment", "make_config", "sunspots"):
        assert old not in text, f"notebook 03 uses the old engine: {old}"


def test_every_step_after_the_data_checks_its_claim_by_an_assert():
    cells = _code_cells()
    assert len(cells) >= 6
    missing = [k for k, src in enumerate(cells[1:], start=1) if "assert " not in src]
    assert not missing, f"notebook 03: code cells {missing} assert nothing"
