"""Any panel (issue 21): short series kept and forecast (padded, with a mask input), season=1 as no season,
constant, zero and negative series, and saves from before the mask still load."""

import json

import numpy as np
import pytest

from gatedrnn.errors import UserError
from gatedrnn.forecast import Forecaster
from gatedrnn.forecast.panel import last_windows

SMALL = {"horizon": 4, "season": 12, "window": 24, "hidden_size": 8, "max_steps": 60, "batch_size": 16}



def test_short_series_are_kept_padded_and_forecast(tmp_path, seasonal):
    ys = [seasonal(120), seasonal(20, 5, 1), seasonal(5, 3, 2), np.array([4.0])]
    f = Forecaster(**SMALL).fit(ys)
    assert f.mask and f.input_size == 4 and f.settings()["mask"] is True
    p = f.predict()
    assert p["y_hat"].shape == (4, 4) and np.isfinite(p["y_hat"]).all() and np.isfinite(p["hi-95"]).all()
    tails, starts = last_windows(f.panel.values, 24)
    assert starts.tolist() == [96, -4, -19, -23] and (tails[3] == 4.0).all() and (tails[2, :19] == ys[2][0]).all()
    f.save(tmp_path / "fc")
    back = Forecaster.load(tmp_path / "fc")
    assert back.mask and np.array_equal(back.predict()["y_hat"], p["y_hat"])
    assert [v.size for v in back.panel.values] == [120, 20, 5, 1]


def test_long_series_have_no_mask_and_mask_false_keeps_the_old_rule(seasonal):
    f = Forecaster(**SMALL).fit([seasonal(60), seasonal(40, 3, 1)])
    assert f.mask is False and f.input_size == 3
    with pytest.raises(UserError, match=r"series 1: too short, expected at least 28 values \(window 24 \+ horizon 4\)"):
        Forecaster(**SMALL, mask=False).fit([seasonal(60), seasonal(20)])
    with pytest.raises(UserError, match=r"y: expected a series with at least 5 values to train on") as e:
        Forecaster(**SMALL).fit([np.ones(4), np.ones(2)])
    assert "\n" not in str(e.value)
    with pytest.raises(UserError, match="series 1: expected at least one value, got none"):
        Forecaster(**SMALL).fit([seasonal(60), np.array([])])
    with pytest.raises(UserError, match="mask: expected None, True or False"):
        Forecaster(**SMALL, mask="yes")


def test_season_1_means_no_season(seasonal):
    a = Forecaster(**{**SMALL, "season": 1}).fit(seasonal(80))
    b = Forecaster(**{**SMALL, "season": None}).fit(seasonal(80))
    assert a.season is None and a.base == "naive" and a.input_size == 1
    assert np.array_equal(a.predict()["y_hat"], b.predict()["y_hat"])
    with pytest.raises(UserError, match="season: expected a positive integer or None, got 0"):
        Forecaster(season=0)


def test_constant_zero_and_negative_series(seasonal):
    ys = [np.full(60, 7.5), np.zeros(50), -seasonal(70), seasonal(70, -100.0)]
    f = Forecaster(**SMALL).fit(ys)
    p = f.predict()
    assert np.isfinite(p["y_hat"]).all() and np.isfinite(p["lo-95"]).all()
    assert np.allclose(p["y_hat"][0], 7.5, atol=0.05) and np.allclose(p["y_hat"][1], 0.0, atol=1e-6)
    assert (p["y_hat"][2] < 0).all() and (p["y_hat"][3] < -80).all()
    one = Forecaster(**SMALL).fit(np.zeros(40)).predict()
    assert np.allclose(one["y_hat"], 0.0, atol=1e-6) and (one["lo-95"] <= one["hi-95"]).all()


def test_a_save_from_before_the_mask_still_loads(tmp_path, seasonal):
    f = Forecaster(**SMALL).fit([seasonal(60), seasonal(50, 2, 1)])
    f.save(tmp_path / "old")
    meta = tmp_path / "old" / "model" / "meta.json"
    doc = json.loads(meta.read_text())
    for k in ("mask", "time_limit", "time_clock"):       # what a save written before issue 21 lacks
        del doc["forecaster"]["settings"][k]
    meta.write_text(json.dumps(doc))
    back = Forecaster.load(tmp_path / "old")
    assert back.mask is False and np.array_equal(back.predict()["y_hat"], f.predict()["y_hat"])


def test_the_onnx_export_refuses_the_mask_input_in_one_line(seasonal):
    f = Forecaster(**SMALL).fit([seasonal(60), seasonal(10)])
    from gatedrnn.deploy.forecaster_onnx import check_exportable

    with pytest.raises(UserError, match="Forecaster ONNX export: expected a forecaster without the mask input"):
        check_exportable(f)
