"""gatedrnn.forecast: baselines, the ARIMA order rule, the whole held-out experiment on a small series (the
Forecaster, moved forward without refitting), its config (flags, --config) and a re-run from the config.json it
writes; the retired single-series checkpoints are one line."""

import json

import numpy as np
import pytest

from gatedrnn.cli import main
from gatedrnn.errors import UserError
from gatedrnn.forecast import ForecastConfig, mae, naive_forecast, rmse, seasonal_naive_forecast
from gatedrnn.forecast.config import make_config
from gatedrnn.forecast.experiment import run
from gatedrnn.forecast.forecaster import Forecaster
from gatedrnn.models import SequenceRegressor
from gatedrnn.train.checkpoint import save_checkpoint


def test_metrics_and_naive_baselines():
    assert rmse([1, 2], [1, 4]) == pytest.approx(np.sqrt(2)) and mae([1, 2], [1, 4]) == 1
    hist = np.arange(10.0)
    assert naive_forecast(hist, 3).tolist() == [9, 9, 9]
    # period 4: the value one season before, repeated over a horizon longer than the season
    assert seasonal_naive_forecast(hist, 6, 4).tolist() == [6, 7, 8, 9, 6, 7]



def write_series(tmp_path, n=160, name="wave.csv"):
    t = np.arange(n)
    v = 10 + 0.05 * t + 3 * np.sin(2 * np.pi * t / 12)
    p = tmp_path / name
    p.write_text("t,value\n" + "".join(f"{i},{x:.5f}\n" for i, x in zip(t, v)))
    return p


def test_experiment_on_a_csv_beats_naive_and_saves_everything(tmp_path):
    p = write_series(tmp_path)
    cfg = ForecastConfig(dataset=str(p), column="value", season=12, hidden_size=8, window=24, holdout=24, horizon=12,
                         max_steps=150, arima=False, plot=False)
    lines = []
    r = run(cfg, out=tmp_path / "run", echo=lines.append)
    assert r.n_train == 136 and r.n_test == 24 and r.origins == [136, 148]
    assert [row["method"] for row in r.rows] == ["LSTM (8 units)", "naive (last value)", "seasonal naive (period 12)"]
    assert r.rows[0]["rmse"] < r.row("naive")["rmse"]
    assert any("LSTM vs naive: beats it" in line for line in lines)
    meta = json.loads((tmp_path / "run" / "model" / "meta.json").read_text())
    assert meta["forecaster"]["settings"]["window"] == 24 and meta["forecaster"]["settings"]["season"] == 12
    assert Forecaster.load(tmp_path / "run").settings()["hidden_size"] == 8
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert len(saved["forecasts"]["LSTM (8 units)"]) == 24
    assert saved["config"]["hidden_size"] == 8
    # the run's config.json re-runs it: `gatedrnn forecast --config RUN/config.json --out OTHER`, identical weights
    assert json.loads((tmp_path / "run" / "config.json").read_text()) == {**cfg.to_dict(), "strategy": "direct"}   # the strategy resolved
    assert main(["forecast", "--config", str(tmp_path / "run" / "config.json"), "--out", str(tmp_path / "again")]) == 0
    first, second = (np.load(tmp_path / d / "model" / "model.npz") for d in ("run", "again"))
    assert sorted(first.files) == sorted(second.files)
    assert all(np.array_equal(first[k], second[k]) for k in first.files)
    again = json.loads((tmp_path / "again" / "results.json").read_text())
    assert again["rows"] == saved["rows"] and again["config"] == saved["config"]


def test_config_file_then_flags_and_a_missing_dataset(tmp_path, capsys):
    toml = tmp_path / "f.toml"
    toml.write_text('dataset = "sunspots"\nhidden_size = 8\nclip = 0\narima = false\n')
    cfg = make_config(toml, {"hidden_size": 12, "cell": "gru"})
    assert (cfg.dataset, cfg.hidden_size, cfg.cell, cfg.clip, cfg.arima, cfg.max_steps) == ("sunspots", 12, "gru", 0, False, None)
    (tmp_path / "bad.json").write_text('{"dataset": "sunspots", "hidden": 8}')
    with pytest.raises(UserError, match="expected keys among"):
        make_config(tmp_path / "bad.json")
    assert main(["forecast", "--no-arima"]) == 2
    err = capsys.readouterr().err
    assert "dataset: expected sunspots, co2 or a CSV file" in err and err.count("\n") == 1


def test_too_short_a_series_and_bad_settings(tmp_path):
    p = write_series(tmp_path, n=40)
    msg = r"too short, expected at least 62 values \(32 to train on for a horizon of 30, \+ 30 held out\), got 40"
    with pytest.raises(UserError, match=msg):
        run(ForecastConfig(dataset=str(p), column="value", window=30, holdout=30, arima=False), echo=lambda s: None)
    with pytest.raises(UserError, match="horizon: expected at most the held-out length 8, got 9"):
        run(ForecastConfig(dataset=str(p), column="value", holdout=8, horizon=9, arima=False), echo=lambda s: None)
    with pytest.raises(UserError, match="cell: expected one of"):
        ForecastConfig(dataset="x", cell="tcn").validate()
    with pytest.raises(UserError, match="hidden_size: expected a positive integer or None, got 0"):
        ForecastConfig(dataset="x", hidden_size=0).validate()
    with pytest.raises(UserError, match="clip: expected a finite number >= 0"):
        ForecastConfig(dataset="x", clip=-1.0).validate()


def test_arima_rule_picks_d_by_the_adf_test_and_undoes_the_seasonal_difference(rng):
    pytest.importorskip("statsmodels", reason="the ARIMA baseline needs statsmodels (the forecast extra)")
    from gatedrnn.forecast.arima import arima_forecast, fit_arima

    ar = np.zeros(120)
    for t in range(1, 120):
        ar[t] = 0.6 * ar[t - 1] + rng.standard_normal()
    assert fit_arima(ar, None).order[1] == 0
    walk = np.cumsum(rng.standard_normal(120))
    choice = fit_arima(walk, None)
    assert choice.order[1] == 1 and choice.label.startswith("ARIMA(")
    # a fixed seasonal pattern plus noise: the seasonal difference carries the pattern forward
    season = np.tile([0.0, 5.0, 2.0, -3.0], 30) + 0.01 * rng.standard_normal(120)
    c = fit_arima(season[:112], 4)
    assert c.label.endswith("(0,1,0)[4]")
    f = arima_forecast(c, season[:112], 8)
    assert np.abs(f - season[112:]).max() < 0.2
    f2 = arima_forecast(c, season[:116], 4)         # a later origin: same parameters, data extended
    assert np.abs(f2 - season[116:]).max() < 0.2
    with pytest.raises(UserError, match="ARIMA: expected at least 10 training values after the seasonal difference "
                                        "at lag 4, got 6"):
        fit_arima(season[:10], 4)


def test_sunspots_recursive_beats_naive():
    """The README's sunspots row with explicit settings (the defaults' search does not find them: README)."""
    pytest.importorskip("statsmodels", reason="the sunspots series ships inside statsmodels (the forecast extra)")
    cfg = ForecastConfig(dataset="sunspots", strategy="recursive", window=60, hidden_size=16, max_steps=800,
                         arima=False, plot=False)
    r = run(cfg, echo=lambda s: None)
    assert r.n_test == 30 and r.horizon == 30 and len(r.origins) == 1
    assert r.rows[0]["rmse"] < r.row("naive")["rmse"]


def test_without_statsmodels_arima_is_refused_before_training(tmp_path, monkeypatch, capsys):
    import sys

    p = write_series(tmp_path)
    monkeypatch.setitem(sys.modules, "statsmodels", None)        # import statsmodels -> ImportError
    rc = main(["forecast", "--dataset", str(p), "--column", "value", "--out", str(tmp_path / "o")])
    captured = capsys.readouterr()
    assert rc == 2 and captured.err.count("\n") == 1 and "training" not in captured.out
    assert "the ARIMA baseline (--no-arima skips it) needs statsmodels, which is not installed" in captured.err
    assert not (tmp_path / "o").exists()


def test_a_retired_single_series_checkpoint_is_one_line_everywhere(tmp_path, capsys):
    """gatedrnn 0.1's recursive one-step forecaster (meta 'series'): refused by load, stream and export alike."""
    save_checkpoint(tmp_path / "old" / "model", SequenceRegressor(2, 4, 1, seed=0),
                    meta={"series": {"kind": "forecaster", "window": 30, "scaler": {"mean": 0.0, "std": 1.0}}})
    for argv in (["stream", str(tmp_path / "old")], ["export", str(tmp_path / "old"), "--c", str(tmp_path / "c")]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "the single-series forecaster of gatedrnn 0.1" in err and "removed in 0.2" in err
    assert not (tmp_path / "c").exists()
    with pytest.raises(UserError, match="re-run its gatedrnn forecast command"):
        Forecaster.load(tmp_path / "old")


def test_an_older_config_json_with_period_reads_as_season():
    assert ForecastConfig.from_dict({"dataset": "co2", "period": 52}).season == 52
