"""The single-series harness's baselines (``--baselines``): statsforecast's AutoARIMA, AutoETS and AutoTheta fitted
once on the training part and forecast from every origin (``forward`` after the first), the one-line note when
statsforecast is missing, the selection rules, and one real statsforecast run (skipped where it is not installed)."""

import sys

import numpy as np
import pytest

from gatedrnn.cli import main
from gatedrnn.errors import UserError
from gatedrnn.forecast import ForecastConfig, baselines_sf
from gatedrnn.forecast.experiment import run, selection


def write_series(tmp_path, n=120):
    t = np.arange(n)
    v = 10 + 0.05 * t + 3 * np.sin(2 * np.pi * t / 12)
    p = tmp_path / "wave.csv"
    p.write_text("t,value\n" + "".join(f"{i},{x:.5f}\n" for i, x in zip(t, v)))
    return p


def small(p, **kw):
    return ForecastConfig(dataset=str(p), column="value", hidden_size=4, window=12, holdout=24, max_steps=20,
                          arima=False, plot=False, **kw)


class FakeModel:
    """statsforecast's model interface (``predict``, ``forward``), forecasting the last value; counts the calls."""

    def __init__(self):
        self.calls = []

    def predict(self, h):
        self.calls.append(("predict", h))
        return {"mean": np.full(h, self.y[-1])}

    def forward(self, y, h):
        self.calls.append(("forward", len(y), h))
        return {"mean": np.full(h, y[-1])}


def test_auto_without_statsforecast_keeps_the_table_and_says_how_to_add_them(tmp_path, monkeypatch):
    monkeypatch.setattr(baselines_sf, "available", lambda: False)
    lines = []
    r = run(small(write_series(tmp_path), season=12), echo=lines.append)
    assert [row["method"] for row in r.rows] == ["LSTM (4 units)", "naive (last value)", "seasonal naive (period 12)"]
    assert lines.count(baselines_sf.MISSING_NOTE) == 1 and "pip install 'gatedrnn[baselines]'" in baselines_sf.MISSING_NOTE
    assert set(r.seconds) >= {"train", "LSTM (4 units)", "naive (last value)"}


def test_named_statsforecast_baseline_without_it_is_refused_before_training(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "statsforecast", None)          # import statsforecast -> ImportError
    rc = main(["forecast", "--dataset", str(write_series(tmp_path)), "--column", "value", "--baselines",
               "naive,autoets", "--no-arima", "--out", str(tmp_path / "o")])
    captured = capsys.readouterr()
    assert rc == 2 and captured.err.count("\n") == 1 and "needs statsforecast" in captured.err
    assert "training" not in captured.out and not (tmp_path / "o").exists()


def test_statsforecast_rows_fit_once_and_forward_from_later_origins(tmp_path, monkeypatch):
    fitted = {}

    def fake_fit_one(method, train, season):
        m = FakeModel()
        m.y = np.asarray(train)
        fitted[method] = (m, len(train), season)
        return baselines_sf.SfModel(m, len(train), f"fake {method}")

    monkeypatch.setattr(baselines_sf, "available", lambda: True)
    monkeypatch.setattr(baselines_sf, "require_installed", lambda: None)
    monkeypatch.setattr(baselines_sf, "fit_one", fake_fit_one)
    lines = []
    r = run(small(write_series(tmp_path), season=12, horizon=12), echo=lines.append)
    names = [row["method"] for row in r.rows]
    assert names == ["LSTM (4 units)", "naive (last value)", "seasonal naive (period 12)", "AutoARIMA (statsforecast)",
                     "AutoETS (statsforecast)", "AutoTheta (statsforecast)"]
    assert r.origins == [96, 108] and all(m in r.seconds and r.seconds[m] >= 0 for m in names)
    # fitted once on the 96 training values with the CSV's period; predict at the first origin, forward at the next
    model, n, season = fitted["autoets"]
    assert (n, season) == (96, 12) and model.calls == [("predict", 12), ("forward", 108, 12)]
    # forecasting the last value from each origin, the fakes are the naive forecast
    assert r.row("AutoETS")["rmse"] == pytest.approx(r.row("naive")["rmse"])
    assert r.details["AutoARIMA (statsforecast)"] == "fake autoarima"
    table = "\n".join(lines)
    assert "seconds" in table and "LSTM vs AutoARIMA (statsforecast):" in table
    assert baselines_sf.MISSING_NOTE not in lines
    # a series without a period: season 1, and the cheap rows without seasonal naive
    r = run(small(write_series(tmp_path), baselines="autotheta"), echo=lambda s: None)
    assert [row["method"] for row in r.rows] == ["LSTM (4 units)", "naive (last value)", "AutoTheta (statsforecast)"]
    assert fitted["autotheta"][2] == 1


def test_selection_rules_and_bad_names(monkeypatch):
    monkeypatch.setattr(baselines_sf, "available", lambda: False)
    cfg = ForecastConfig(dataset="x")
    assert selection(cfg, 12) == (["naive", "snaive", "arima"], baselines_sf.MISSING_NOTE)
    assert selection(cfg, None)[0] == ["naive", "arima"]
    assert selection(ForecastConfig(dataset="x", arima=False), 12)[0] == ["naive", "snaive"]
    assert selection(ForecastConfig(dataset="x", baselines="naive2, arima"), 4) == (["naive", "naive2", "arima"], None)
    with pytest.raises(UserError, match="baselines: expected a series with a period for snaive"):
        selection(ForecastConfig(dataset="x", baselines="snaive"), None)
    with pytest.raises(UserError, match="baselines: expected comma-separated names among auto, naive"):
        ForecastConfig(dataset="x", baselines="naive,ets").validate()
    with pytest.raises(UserError, match="baselines: expected comma-separated names"):
        ForecastConfig(dataset="x", baselines=" , ").validate()


def test_statsforecast_for_real(tmp_path):
    pytest.importorskip("statsforecast", reason="statsforecast is the baselines extra (pip install 'gatedrnn[baselines]')")
    lines = []
    r = run(small(write_series(tmp_path), season=12, horizon=12, baselines="auto"), echo=lines.append)
    sf = [row for row in r.rows if row["method"].endswith("(statsforecast)")]
    assert [row["method"].split(" ")[0] for row in sf] == ["AutoARIMA", "AutoETS", "AutoTheta"]
    # a clean seasonal wave with a trend: every automatic method beats the naive forecast
    assert all(np.isfinite(row["rmse"]) and row["rmse"] < r.row("naive")["rmse"] for row in sf)
    assert r.details["AutoARIMA (statsforecast)"].startswith("ARIMA(")
    # fitted on the training part: predict from its end (the first origin), forward from a later one
    train, y = load_train(tmp_path), np.asarray(r.truth)
    m = baselines_sf.fit_one("autoets", train, 12)
    assert np.allclose(m.forecast(train, 12), r.forecasts["AutoETS (statsforecast)"][:12])
    assert np.allclose(m.forecast(np.r_[train, y[:12]], 12), r.forecasts["AutoETS (statsforecast)"][12:])


def load_train(tmp_path):
    return np.loadtxt(tmp_path / "wave.csv", delimiter=",", skiprows=1)[:96, 1]
