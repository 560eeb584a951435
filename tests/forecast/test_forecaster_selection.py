"""Settings from the data (issue 21): Forecaster(horizon=h, season=s) alone holds out the last h values, searches
the window, the size and the steps with early stopping within time_limit, refits, and says what it chose; every
explicit argument wins; the chosen settings refit bit for bit without a search."""

import math

import numpy as np
import pytest

from gatedrnn.errors import UserError
from gatedrnn.forecast import Forecaster
from gatedrnn.forecast.selection import DEFAULT_TIME_LIMIT, candidates, origins, scaled_mae


@pytest.fixture(scope="module")
def panel(seasonal):
    return [seasonal(90), seasonal(70, 4.0, 1), seasonal(14, 2.0, 2)]


def test_defaults_search_refit_and_say_why(tmp_path, panel):
    lines = []
    f = Forecaster(horizon=4, season=12, time_limit=6).fit(panel, echo=lines.append)
    sel = f.selection
    assert sel["holdout"] == 4 and sel["series"] == 3 and sel["time_clock"] == "wall" and sel["origins"] == [0, 2]
    scored = [c for c in sel["candidates"] if c["score"] is not None]
    # fewer than 4 series: both strategies, the recursive one's windows half the direct one's
    tried = {(c["strategy"], c["window"], c["hidden_size"]) for c in sel["candidates"]}
    assert scored and tried == {(s, w, h) for s, ws in (("direct", (24, 42)), ("recursive", (12, 24))) for w in ws
                                for h in (16, 48)}
    best = min(scored, key=lambda c: c["score"])
    assert sel["chosen"] == {"window": best["window"], "hidden_size": best["hidden_size"],
                             "max_steps": best["best_step"], "strategy": best["strategy"]}
    s = f.settings()
    assert (s["window"], s["hidden_size"], s["max_steps"], s["strategy"]) == tuple(sel["chosen"].values())
    assert any(line.startswith("settings search: the last 4 values of 3 series held out") for line in lines)
    assert any(line.startswith("chose {") for line in lines)
    # the chosen settings: no search, the same network bit for bit
    again = Forecaster(**s).fit(panel)
    assert again.selection is None and again.auto == ()
    assert all(np.array_equal(a, b) for a, b in zip(f.models[0].params, again.models[0].params))
    assert np.array_equal(again.predict()["y_hat"], f.predict()["y_hat"])
    f.save(tmp_path / "fc")
    back = Forecaster.load(tmp_path / "fc")
    assert back.selection == sel and back.settings() == s


def test_explicit_arguments_win(panel):
    f = Forecaster(horizon=4, season=12, window=30, max_steps=40, time_limit=5).fit(panel)
    assert [(c["strategy"], c["window"]) for c in f.selection["candidates"]] == [("direct", 30)] * 2 + [("recursive", 30)] * 2
    assert len(Forecaster(horizon=4, season=12, window=30, max_steps=40, strategy="direct", time_limit=5).fit(panel)
               .selection["candidates"]) == 2
    assert f.window == 30 and f.max_steps == 40 and f.hidden_size in (16, 48)
    assert all(c["steps_run"] <= 40 for c in f.selection["candidates"])
    fixed = Forecaster(horizon=4, season=12, window=30, hidden_size=8, max_steps=20).fit(panel)
    assert fixed.selection is None and (fixed.window, fixed.hidden_size, fixed.max_steps) == (30, 8, 20)
    unfitted = Forecaster(horizon=4, season=12, hidden_size=8).settings()
    assert unfitted["window"] is None and unfitted["max_steps"] is None and unfitted["hidden_size"] == 8


def test_nothing_to_hold_out_uses_the_defaults_and_says_so():
    lines = []
    f = Forecaster(horizon=6, hidden_size=4, max_steps=None, time_limit=5).fit(np.arange(10.0), echo=lines.append)
    assert f.max_steps == 500 and "nothing to hold out" in f.selection["why"] and "nothing to hold out" in lines[0]


def test_time_budgets_and_clocks_are_checked(panel):
    for bad in (0, -1, math.nan, math.inf, "60"):
        with pytest.raises(UserError, match="time_limit: expected a finite positive number or None") as e:
            Forecaster(horizon=2, time_limit=bad)
        assert "\n" not in str(e.value)
    with pytest.raises(UserError, match="time_clock: expected one of"):
        Forecaster(horizon=2, time_clock="gpu")
    assert Forecaster(horizon=2).time_limit == DEFAULT_TIME_LIMIT
    from gatedrnn.forecast import ForecastConfig

    for bad in (0, -5.0, math.inf):
        with pytest.raises(UserError, match="time_limit: expected a finite positive number"):
            ForecastConfig(dataset="x", time_limit=bad).validate()
    with pytest.raises(UserError, match="time_clock: expected one of"):
        ForecastConfig(dataset="x", time_clock="gpu").validate()
    f = Forecaster(horizon=4, season=12, window=24, hidden_size=8, time_limit=3, time_clock="cpu").fit(panel[:2])
    assert f.selection["time_clock"] == "cpu" and f.max_steps >= 1


def test_candidates_and_the_score():
    f = Forecaster(horizon=1)
    assert [c["window"] for c in candidates(f, 200, 4)] == [8, 8, 24, 24]     # not the 2 values of 2 x horizon
    assert [c["window"] for c in candidates(Forecaster(horizon=30), 100, 4)] == [50, 50]
    # one series: the recursive strategy too, with half the windows (u and 2u)
    one = [(c["strategy"], c["window"]) for c in candidates(Forecaster(horizon=30), 300, 1)]
    assert one == [("direct", 60)] * 2 + [("direct", 120)] * 2 + [("recursive", 30)] * 2 + [("recursive", 60)] * 2
    assert {c["strategy"] for c in candidates(Forecaster(horizon=30, strategy="direct"), 300, 1)} == {"direct"}
    assert origins(Forecaster(horizon=30), 1) == [0, 7, 14, 21] and origins(Forecaster(horizon=30), 4) == [0]
    assert origins(Forecaster(horizon=1), 2) == [0, 1]
    assert scaled_mae([np.array([2.0])], np.array([[1.0]]), [np.array([0.0, 1.0, 2.0])], None) == 1.0
    assert math.isfinite(scaled_mae([np.zeros(2)], np.ones((1, 2)), [np.zeros(5)], None))


def test_predict_run_records_the_chosen_settings_and_reruns_them_bit_for_bit(tmp_path, capsys, seasonal):
    import json

    from gatedrnn.cli import main

    csv = tmp_path / "s.csv"
    csv.write_text("value\n" + "\n".join(f"{v:.6f}" for v in seasonal(80)) + "\n")
    first, second = tmp_path / "a", tmp_path / "b"
    common = ["--predict", "4", "--no-plot", "--batch-size", "16"]
    assert main(["forecast", "--dataset", str(csv), "--season", "12", *common, "--time-limit", "4",
                 "--out", str(first)]) == 0
    said = capsys.readouterr().out
    assert "settings search: the last 4 values of 1 series held out" in said and "chose {" in said
    cfg = json.loads((first / "config.json").read_text())
    f = Forecaster.load(first / "forecaster")
    assert (cfg["window"], cfg["hidden_size"], cfg["max_steps"]) == (f.window, f.hidden_size, f.max_steps)
    assert cfg["strategy"] == f.strategy and f.strategy in ("direct", "recursive")
    assert f.selection["chosen"] == {"window": f.window, "hidden_size": f.hidden_size, "max_steps": f.max_steps,
                                     "strategy": f.strategy}
    assert main(["forecast", "--config", str(first / "config.json"), *common, "--out", str(second)]) == 0
    assert "settings search" not in capsys.readouterr().out
    g = Forecaster.load(second / "forecaster")
    assert g.selection is None and all(np.array_equal(a, b) for a, b in zip(f.models[0].params, g.models[0].params))
    assert (first / "future.csv").read_text() == (second / "future.csv").read_text()


def test_from_config_one_set_of_fields():
    from gatedrnn.forecast import ForecastConfig

    f = Forecaster.from_config(ForecastConfig(dataset="x", season=12, window=20, hidden_size=8, max_steps=30), 18)
    assert (f.horizon, f.season, f.window, f.hidden_size, f.max_steps, f.auto) == (18, 12, 24, 8, 30, ())
    g = Forecaster.from_config(ForecastConfig(dataset="x", season=1, time_limit=7.0, time_clock="cpu"), 3)
    assert g.season is None and g.auto == ("window", "hidden_size", "max_steps", "strategy") and g.time_limit == 7.0
    assert g.time_clock == "cpu" and g.settings()["window"] is None
