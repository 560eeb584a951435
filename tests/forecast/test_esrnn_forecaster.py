"""Forecaster(model="esrnn"): the hybrid ES-RNN inside the one forecasting engine, with the window model's contract:
fit / predict (the same columns, sorted quantiles), save / load (npz + JSON), backtest without refits (the fitted
state runs further), the settings search (max_steps by early stopping), stream == predict, the CLI's --model, and
its bad input in one line. Tiny panels: the whole file runs in seconds."""

import io
import json

import numpy as np
import pytest

import gatedrnn
from gatedrnn.cli import main
from gatedrnn.errors import UserError
from gatedrnn.forecast import ForecastConfig, Forecaster, backtest
from gatedrnn.forecast.esrnn_forecaster import ESRNNForecaster
from gatedrnn.models.esrnn import ESRNN

H, M = 6, 12
SMALL = dict(model="esrnn", horizon=H, season=M, hidden_size=8, batch_size=4, seed=0)


def panel(n=5, T=96, seed=0, shift=0.0):
    rng = np.random.default_rng(seed)
    t = np.arange(T)
    return [np.exp(rng.normal(size=T) * 0.05) * (10 + 3 * np.sin(2 * np.pi * t / M) + i) + shift for i in range(n)]


@pytest.fixture(scope="module")
def fitted():
    return Forecaster(max_steps=25, **SMALL).fit(panel())


def rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / max(1.0, float(np.max(np.abs(b)))))


def test_model_picks_the_class_and_the_window_model_stays_the_default():
    assert type(Forecaster(horizon=2)).__name__ == "Forecaster" and Forecaster(horizon=2).model == "window"
    f = Forecaster(**SMALL)
    assert isinstance(f, ESRNNForecaster) and isinstance(f, Forecaster) and f.model == "esrnn"
    assert f.settings()["max_steps"] is None and f.settings()["season2"] is None
    assert Forecaster(model="esrnn", horizon=48, season=24).season2 == 168      # hourly: the week as well
    with pytest.raises(UserError, match="model: expected one of"):
        Forecaster(model="arima")


def test_fit_predict_has_the_forecaster_columns_sorted(fitted):
    p = fitted.predict()
    assert sorted(p) == sorted(["y_hat", "lo-80", "hi-80", "lo-95", "hi-95"]) and p["y_hat"].shape == (5, H)
    assert (p["lo-95"] <= p["lo-80"]).all() and (p["lo-80"] <= p["y_hat"]).all()
    assert (p["y_hat"] <= p["hi-80"]).all() and (p["hi-80"] <= p["hi-95"]).all()
    assert fitted.predict(h=2, ids=["3"])["y_hat"].shape == (1, 2)
    with pytest.raises(UserError, match="at most the horizon"):
        fitted.predict(h=H + 1)


def test_predict_is_the_networks_forecast_of_the_whole_series(fitted):
    ys = panel()
    direct = fitted.models[0].forecast(np.stack(ys), np.arange(5))
    assert rel(fitted.predict()["y_hat"], direct[:, :, fitted.quantiles.index(0.5)]) < 1e-12


def test_dataframe_in_dataframe_out():
    pd = pytest.importorskip("pandas")
    ys = panel(2, 60)
    df = pd.DataFrame({"unique_id": np.repeat(["a", "b"], 60), "y": np.concatenate(ys),
                       "ds": np.tile(pd.date_range("2024-01-01", periods=60, freq="h"), 2)})
    out = Forecaster(max_steps=5, **SMALL).fit(df).predict()
    assert list(out.columns) == ["unique_id", "ds", "y_hat", "lo-80", "hi-80", "lo-95", "hi-95"] and len(out) == 2 * H
    assert str(out["ds"].iloc[0]) == "2024-01-03 12:00:00"


def test_save_load_roundtrip_without_pickle(fitted, tmp_path):
    fitted.save(tmp_path / "f")
    meta = json.loads((tmp_path / "f" / "model" / "meta.json").read_text())
    assert meta["kind"] == "forecaster" and meta["forecaster"]["settings"]["model"] == "esrnn"
    assert any(k.startswith("es.") for k in np.load(tmp_path / "f" / "model" / "model.npz", allow_pickle=False))
    for g in (Forecaster.load(tmp_path / "f"), gatedrnn.load(tmp_path / "f")):
        assert isinstance(g, ESRNNForecaster) and g.settings() == fitted.settings()
        assert all(np.array_equal(g.predict()[k], fitted.predict()[k]) for k in fitted.predict())


def test_members_seeds_and_last_epoch_snapshots_save_and_load(tmp_path):
    ys = [y - 11.0 for y in panel(3, 60)]                  # zeros and negatives: the additive form
    f = Forecaster(max_steps=12, n_models=2, snapshots=2, seasonality="additive", **SMALL).fit(ys)
    assert len(f.models) == 4 and [r["snapshots"] for r in f.history] == [1, 1]
    f.save(tmp_path / "e")
    g = Forecaster.load(tmp_path / "e")
    assert len(g.models) == 4 and np.array_equal(g.predict()["y_hat"], f.predict()["y_hat"])


def test_tampered_meta_is_one_line(fitted, tmp_path):
    fitted.save(tmp_path / "t")
    path = tmp_path / "t" / "model" / "meta.json"
    meta = json.loads(path.read_text())
    meta["forecaster"]["tails"][0][3] = -1.0
    path.write_text(json.dumps(meta))
    with pytest.raises(UserError, match="positive values for multiplicative"):
        Forecaster.load(tmp_path / "t")


def test_stream_equals_predict_and_is_o1(fitted):
    ys, rng = panel(), np.random.default_rng(5)
    s = fitted.stream()
    new = [np.exp(rng.normal(size=30) * 0.05) * (10 + i) for i in range(5)]
    for t in range(30):
        for i in range(5):
            out = s.push(float(new[i][t]), str(i))
    full = [np.concatenate([y, n]) for y, n in zip(ys, new)]
    want = fitted.forecast_after(full, [126] * 5, H)[4]      # predict on the same history, the fit unchanged
    assert rel(out["y_hat"], want[:, fitted.quantiles.index(0.5)]) < 1e-6
    assert rel(out["hi-95"], want[:, -1]) < 1e-6 and rel(out["lo-80"], want[:, 1]) < 1e-6
    net = ESRNN.forecast(fitted.models[0], np.stack(full), np.arange(5))[4]
    assert rel(out["y_hat"], net[:, fitted.quantiles.index(0.5)]) < 1e-6
    state = s.states[0]
    assert state.D.shape == (5, fitted.window) and [h.shape[0] for h in state.h] == [1, 4, 12]   # fixed memory
    with pytest.raises(UserError, match="positive"):
        s.push(0.0, "1")


def test_stream_refusal_leaves_the_state(fitted):
    s = fitted.stream()
    before = s.forecast(0).copy()
    for bad in (float("nan"), "x", 1e300):
        with pytest.raises(UserError):
            s.push(bad, "0")
    assert np.array_equal(s.forecast(0), before)


def test_backtest_without_refit_runs_the_fitted_state_further():
    ys = panel(4, 100)
    cv = backtest(ys, h=H, n_windows=3, refit=False, max_steps=10, **{k: v for k, v in SMALL.items() if k != "horizon"})
    assert cv["y_hat"].shape == (4, 3, H) and np.isfinite(cv["y_hat"]).all()
    f = Forecaster(max_steps=10, **SMALL).fit([y[:100 - 3 * H] for y in ys])
    assert rel(cv["y_hat"][:, 0], f.predict()["y_hat"]) < 1e-12               # the earliest cut-off: predict
    later = f.forecast_after(ys, [100 - H] * 4, H)[:, :, f.quantiles.index(0.5)]
    assert rel(cv["y_hat"][:, 2], later) < 1e-12
    s = f.stream()
    for t in range(100 - 3 * H, 100 - H):
        out = s.push(float(ys[2][t]), "2")
    assert rel(out["y_hat"], later[2]) < 1e-6                                  # a stream moves it the same way


def test_search_chooses_max_steps_by_early_stopping():
    lines = []
    f = Forecaster(time_limit=6, **SMALL).fit(panel(4, 90), echo=lines.append)
    chosen = f.selection["chosen"]
    cand = f.selection["candidates"][0]
    assert chosen["max_steps"] == cand["best_step"] == f.max_steps and cand["best_step"] <= cand["steps_run"]
    assert f.settings()["max_steps"] == f.max_steps and any("held out" in line for line in lines)


def test_no_season_and_bad_input_in_one_line():
    ys = panel(2, 50)
    f = Forecaster(model="esrnn", horizon=3, season=1, hidden_size=4, max_steps=4).fit(ys)
    assert f.season is None and f.predict()["y_hat"].shape == (2, 3)
    bad = [ys[0], np.where(np.arange(50) == 7, 0.0, ys[1])]
    with pytest.raises(UserError, match=r"series '1': expected positive values .*additive"):
        Forecaster(max_steps=2, **SMALL).fit(bad)
    with pytest.raises(UserError, match="series 0: expected finite values"):
        Forecaster(max_steps=2, **SMALL).fit([np.where(np.arange(50) == 3, np.nan, ys[0])])
    with pytest.raises(UserError, match="at least window 12 \\+ horizon 6"):
        Forecaster(max_steps=2, **SMALL).fit([ys[0][:15]])
    for kw in ({"strategy": "recursive"}, {"num_layers": 2}, {"covariates": ["x"]}):
        with pytest.raises(UserError, match="expected the default with model='esrnn'"):
            Forecaster(**SMALL, **kw)


def test_cli_flag_and_config_field():
    cfg = ForecastConfig(dataset="m4-hourly", model="esrnn").validate()
    assert isinstance(Forecaster.from_config(cfg, 48, 24), ESRNNForecaster)
    assert ForecastConfig(dataset="co2").validate().forecaster_settings()["model"] == "window"


def test_cli_streams_the_hybrid_folder(fitted, tmp_path, monkeypatch, capsys):
    fitted.save(tmp_path / "fc")
    monkeypatch.setattr("sys.stdin", io.StringIO("0,10.5\n3, 12\n3,-1\n"))
    assert main(["stream", str(tmp_path / "fc")]) == 2
    cap = capsys.readouterr()
    out = cap.out.splitlines()
    assert out[0] == "unique_id,ahead,y_hat,lo-80,hi-80,lo-95,hi-95" and len(out) == 1 + 2 * H
    s = fitted.stream()
    s.push(10.5, "0")
    last = s.push(12.0, "3")
    got = np.array([[float(v) for v in r.split(",")[2:]] for r in out[-H:]])
    assert rel(got[:, 0], last["y_hat"]) < 1e-9 and "stdin line 3" in cap.err


