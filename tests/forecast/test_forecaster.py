"""gatedrnn.forecast.Forecaster: one global quantile model over arrays, lists of series, a dated Series and a long
DataFrame; forecasts after each series' end with intervals; save / load; bad input as one UserError line."""

import numpy as np
import pytest

import gatedrnn
from gatedrnn.errors import UserError
from gatedrnn.forecast import Forecaster
from gatedrnn.forecast.features import Pinball, base_values

pd = pytest.importorskip("pandas", reason="the dated layouts need pandas (the forecast extra)")



def small(**kw):
    return Forecaster(**{"horizon": 12, "season": 12, "window": 24, "hidden_size": 12, "max_steps": 200, **kw})


def test_a_list_of_series_of_different_lengths_is_one_global_model(seasonal):
    ys = [seasonal(200, noise=0.1), seasonal(150, 10 + 50, 1, noise=0.1), seasonal(120, 10 + 100, 2, noise=0.1)]
    f = small().fit(ys)
    p = f.predict()
    assert set(p) == {"y_hat", "lo-80", "hi-80", "lo-95", "hi-95"} and p["y_hat"].shape == (3, 12)
    truth = [10 + a + 3 * np.sin(2 * np.pi * np.arange(n, n + 12) / 12) for n, a in ((200, 0), (150, 50), (120, 100))]
    naive = np.mean([np.abs(y[-1] - t).mean() for y, t in zip(ys, truth)])
    assert np.mean(np.abs(p["y_hat"] - np.array(truth))) < naive
    assert (p["lo-95"] <= p["lo-80"]).all() and (p["lo-80"] <= p["y_hat"]).all() and (p["y_hat"] <= p["hi-80"]).all()
    assert (p["hi-80"] <= p["hi-95"]).all()
    one = small(max_steps=20).fit(seasonal(60, noise=0.1)).predict(h=5)
    assert one["y_hat"].shape == (5,)


def test_dated_series_and_long_frame_give_timestamps_and_round_trip(tmp_path, seasonal):
    s = pd.Series(seasonal(80, noise=0.1), index=pd.date_range("2024-01-01", periods=80, freq="h"), name="load")
    p = small(max_steps=20).fit(s).predict(h=3)
    assert list(p.columns) == ["unique_id", "ds", "y_hat", "lo-80", "hi-80", "lo-95", "hi-95"]
    assert list(p["ds"]) == list(pd.date_range("2024-01-04 08:00", periods=3, freq="h"))
    df = pd.DataFrame({"unique_id": ["a"] * 60 + ["b"] * 70,
                       "ds": list(pd.date_range("2024-01-01", periods=60, freq="D")) +
                             list(pd.date_range("2023-06-01", periods=70, freq="D")),
                       "y": np.concatenate([seasonal(60, noise=0.1), seasonal(70, 10 + 5, noise=0.1)])})
    f = small(max_steps=20, n_models=2).fit(df)
    out = f.predict()
    assert out.shape == (24, 7) and out["ds"].iloc[12] == pd.Timestamp("2023-08-10")
    f.save(tmp_path / "fc")
    loaded = gatedrnn.load(tmp_path / "fc")                 # gatedrnn.load gives the Forecaster back (api.py)
    assert isinstance(loaded, Forecaster) and loaded.panel is not None and loaded.panel.ids == ["a", "b"]
    back = Forecaster.load(tmp_path / "fc").predict()
    assert np.allclose(back["y_hat"], out["y_hat"]) and (back["ds"] == out["ds"]).all()
    assert np.allclose(Forecaster.load(tmp_path / "fc").predict(ids=["b"])["hi-95"], out["hi-95"][12:])
    with pytest.raises(UserError, match=r"unique_id: expected ids the forecaster was fitted on, got \['c'\]"):
        f.predict(ids=["c"])


def test_bad_input_is_one_line(seasonal):
    f = small()
    cases = [
        (seasonal(12, noise=0.1), r"y: expected a series with at least 13 values to train on \(window 24 \+ horizon 12, padded"),
        (np.r_[seasonal(50, noise=0.1), np.nan], "series 0: expected finite values, got nan at position 50"),
        ([seasonal(50, noise=0.1), np.r_[seasonal(50, noise=0.1), np.inf]], "series 1: expected finite values, got inf"),
        (pd.Series(np.arange(40.0), index=pd.DatetimeIndex(["2024-01-01"] * 40), name="x"),
         "series x: expected unique timestamps"),
        (pd.Series(np.arange(40.0), index=pd.date_range("2024", periods=40, freq="h")[::-1], name="x"),
         "series x: expected timestamps in increasing order"),
        (pd.Series(np.arange(40.0), index=pd.DatetimeIndex(np.cumsum(np.arange(40)) * 10**9 + 1)),
         "expected regular timestamps whose frequency can be inferred"),
        (pd.DataFrame({"id": [1], "ds": [1], "y": [1.0]}), "DataFrame: expected columns unique_id, ds, y"),
        ("abc", "y: expected a 1-D array, a list of 1-D arrays"),
    ]
    for y, msg in cases:
        with pytest.raises(UserError, match=msg) as e:
            f.fit(y)
        assert "\n" not in str(e.value)
    with pytest.raises(UserError, match="h: expected at most the horizon 12"):
        small(max_steps=5).fit(seasonal(40, noise=0.1)).predict(h=13)
    with pytest.raises(UserError, match="expected a fitted forecaster"):
        small().predict()
    with pytest.raises(UserError, match="cell: expected one of"):
        Forecaster(cell="tcn")


def test_pinball_loss_and_its_gradient():
    loss = Pinball([0.1, 0.5, 0.9])
    y = np.array([[0.0, 1.0, 2.0]], dtype=np.float64)
    t = np.array([[1.0]])
    # u = t - y = (1, 0, -1): 0.1 * 1, 0, (0.9 - 1) * -1 = 0.1 -> mean 0.2 / 3
    assert loss.forward(y, t) == pytest.approx(0.2 / 3)
    assert np.allclose(loss.backward(), [[-0.1 / 3, 0.5 / 3, 0.1 / 3]])


def test_the_base_the_outputs_are_added_to():
    z = np.arange(10.0)[None]
    # season 4, horizon 6: the value one season back, then (k > 4) two seasons back
    assert base_values(z, 4, 6, "snaive").tolist() == [[6, 7, 8, 9, 6, 7]]
    assert base_values(z, None, 3, "snaive").tolist() == [[9, 9, 9]]
    assert base_values(z, 4, 2, "none").tolist() == [[0, 0]]
    with pytest.raises(UserError, match=r"window: expected at least 24 \(the seasonal naive base needs 2 season"):
        Forecaster(horizon=13, season=12, window=20)
    assert Forecaster(horizon=13, season=12, window=20, base="none").base == "none"


def test_predict_writes_the_future_csv(tmp_path):
    from gatedrnn.cli import main

    t = np.arange(120)
    p = tmp_path / "wave.csv"
    p.write_text("t,value\n" + "".join(f"{i},{10 + 3 * np.sin(2 * np.pi * i / 12):.5f}\n" for i in t))
    rc = main(["forecast", "--dataset", str(p), "--column", "value", "--season", "12", "--predict", "6",
               "--max-steps", "20", "--hidden-size", "4", "--out", str(tmp_path / "run")])
    rows = (tmp_path / "run" / "future.csv").read_text().splitlines()
    assert rc == 0 and rows[0] == "step,row,y_hat,lo-80,hi-80,lo-95,hi-95" and len(rows) == 7
    assert rows[1].startswith("1,120,")
    assert Forecaster.load(tmp_path / "run" / "forecaster").predict()["y_hat"].shape == (6,)
