"""M4's measures against hand-computed values on a tiny example, and Naive2 against its definition."""

import importlib.util
import math

import numpy as np
import pytest

from gatedrnn.errors import UserError
from gatedrnn.forecast.baselines import centred_moving_average, is_seasonal, naive2_forecast, seasonal_indices
from gatedrnn.forecast.metrics import coverage, mase, msis, owa, smape


def test_smape_mase_owa_msis_by_hand():
    train = np.array([1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0, 4.0])
    y, f = np.array([4.0, 2.0]), np.array([2.0, 2.0])
    # sMAPE = 200 / 2 * (|4-2| / (4+2) + 0) = 100 / 3
    assert smape(y, f) == pytest.approx(100 / 3)
    # seasonal naive at lag 2: |3-1|,|2-2|,|1-3|,|2-2|,|3-1|,|4-2| -> mean 8/6; MAE 1 -> MASE 0.75
    assert mase(y, f, train, 2) == pytest.approx(0.75)
    # lag 1: 1,1,1,1,1,1,1 -> scale 1, MASE 1
    assert mase(y, f, train, 1) == pytest.approx(1.0)
    assert owa(10.0, 1.0, 20.0, 4.0) == pytest.approx(0.5 * (0.5 + 0.25))
    lo, hi = np.array([3.0, 2.5]), np.array([5.0, 3.0])
    # widths 2, 0.5; y = 2 below lo = 2.5 by 0.5 -> + 2 / 0.05 * 0.5 = 20; mean (2 + 20.5) / 2 = 11.25, / (8/6)
    assert msis(y, lo, hi, train, 2) == pytest.approx(11.25 / (8 / 6))
    assert coverage(y, lo, hi) == 0.5


def test_naive2_follows_its_definition():
    m = 4
    t = np.arange(40)
    pattern = np.array([0.8, 1.1, 1.3, 0.8])
    x = (50 + 0.5 * t) * pattern[t % m]
    assert is_seasonal(x, m)
    ma = centred_moving_average(x, m)
    # 2x4 MA at t = 2: (x0/2 + x1 + x2 + x3 + x4/2) / 4
    assert ma[2] == pytest.approx((x[0] / 2 + x[1] + x[2] + x[3] + x[4] / 2) / 4) and math.isnan(ma[1])
    ratio = x / ma
    si = np.array([np.nanmean(ratio[j::m]) for j in range(m)])
    si = si / si.mean()
    assert np.allclose(seasonal_indices(x, m), si)
    f = naive2_forecast(x, 6, m)
    n = len(x)
    want = [x[-1] / si[(n - 1) % m] * si[(n - 1 + k) % m] for k in range(1, 7)]
    assert np.allclose(f, want)
    # no season found: the naive forecast
    noise = np.random.default_rng(0).standard_normal(60) + 10
    if not is_seasonal(noise, m):
        assert np.allclose(naive2_forecast(noise, 3, m), noise[-1])


def write_wide(path, series):
    width = max(len(v) for v in series.values())
    lines = [",".join(f'"V{i + 1}"' for i in range(width + 1))]
    for k, v in series.items():
        cells = [f"{x:.4f}" for x in v] + [""] * (width - len(v))
        lines.append(",".join([f'"{k}"'] + cells))
    path.write_text("\n".join(lines) + "\n")


def test_m4_hourly_command_on_tiny_files(tmp_path, monkeypatch, capsys):
    from gatedrnn.cli import main
    from gatedrnn.data.corpus import sha256_of
    from gatedrnn.forecast import m4

    t = np.arange(300)
    full = {f"H{k}": 100 + 10 * k + 20 * np.sin(2 * np.pi * t[:n] / 24) + 0.01 * np.cos(t[:n]) for k, n in ((1, 300), (2, 260), (3, 220))}
    (tmp_path / "m4").mkdir()
    write_wide(tmp_path / "m4" / "Hourly-train.csv", {k: v[:-48] for k, v in full.items()})
    write_wide(tmp_path / "m4" / "Hourly-test.csv", {k: v[-48:] for k, v in full.items()})
    files = {k: (rel, sha256_of(tmp_path / rel)) for k, (rel, _) in m4.FILES.items()}
    monkeypatch.setattr(m4, "FILES", files)
    assert [v.size for v in m4.read_wide(tmp_path / "m4" / "Hourly-train.csv").values()] == [252, 212, 172]
    rc = main(["forecast", "--dataset", "m4-hourly", "--data-dir", str(tmp_path), "--max-steps", "5", "--window", "48",
               "--hidden-size", "4", "--n-models", "2", "--out", str(tmp_path / "run")])
    out = capsys.readouterr().out
    assert rc == 0 and "gatedrnn lstm x2" in out and "lstm seed 1 alone" in out and "ES-RNN (Smyl, 1st overall)" in out
    assert (tmp_path / "run" / "forecasts.csv").read_text().count("\n") == 1 + 3 * 48
    assert m4.Forecaster.load(tmp_path / "run").predict()["y_hat"].shape == (3, 48)
    # a daily cycle (plus a tiny wiggle): seasonal naive is all but exact
    assert "snaive                               0.0" in out
    if importlib.util.find_spec("statsforecast") is None:      # refused before any training, nothing written
        assert main(["forecast", "--dataset", "m4-hourly", "--data-dir", str(tmp_path), "--baselines", "autoets",
                     "--out", str(tmp_path / "sf")]) == 2
        assert "needs statsforecast" in capsys.readouterr().err and not (tmp_path / "sf").exists()
    bad = dict(files, train=(files["train"][0], "0" * 64))
    monkeypatch.setattr(m4, "FILES", bad)
    assert main(["forecast", "--dataset", "m4-hourly", "--data-dir", str(tmp_path)]) == 2
    assert "expected sha256 " + "0" * 64 in capsys.readouterr().err
    with pytest.raises(UserError, match="--baselines: expected names among"):
        m4.run_m4(None, out=tmp_path, baselines=["ets"])
