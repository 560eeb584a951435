"""benchmarks/forecast_origins.py at its small size: one fit per series, forecasts from every origin without
refitting, the tables with their marks; and its Forecaster forecasts are those of backtest(step=1, refit=False)."""

import numpy as np
import pytest

pytest.importorskip("statsmodels")


@pytest.fixture(scope="module")
def bench(bench_script):
    return bench_script("forecast_origins.py", "forecast_origins")


def test_small_size_scores_every_origin_and_prints_the_table(bench, capsys, tmp_path):
    out = tmp_path / "origins.json"
    results = bench.main(["--size", "small", "--series", "nile,co2", "--no-statsforecast", "--json", str(out)])
    text = capsys.readouterr().out
    assert "gatedrnn's own ARIMA" in text and "| nile (10, -) |" in text and "| co2 (12, 12) |" in text
    assert "RMSE: " in text and "MASE: " in text
    for name, doc in results.items():
        assert doc["origins"] == 5 and len(doc["forecaster"]) == 1
        assert set(doc["baselines"]) == ({"arima", "naive", "snaive"} if doc["season"] else {"arima", "naive"})
        for part in ("one-step", "multi-step"):
            for r in [*doc["forecaster"], *doc["baselines"].values()]:
                assert all(np.isfinite(r[part][m]) and r[part][m] >= 0 for m in ("rmse", "mae", "mase"))
    assert out.is_file()


def test_full_split_has_at_least_20_origins_each_with_h_values_after_it(bench):
    for n, h in ((300, 10), (300, 12), (100, 10)):
        origins = bench.origins_of(n, h, None)
        assert len(origins) >= 20 and origins[-1] + h == n and origins == list(range(origins[0], origins[-1] + 1))


def test_forecasts_without_refit_equal_the_backtest_and_predict(bench):
    from gatedrnn.forecast.backtest import backtest
    from gatedrnn.forecast.forecaster import Forecaster

    y = bench.load("nile")
    h, origins = 10, bench.origins_of(100, 10, 4)
    settings = {"horizon": h, "window": 20, "hidden_size": 8, "max_steps": 20, "seed": 0}
    f = Forecaster(**settings).fit(y[:origins[0]])
    paths = bench.forecaster_paths(f, y, origins, h)      # float32 sums differ with the batch size: 1e-6
    np.testing.assert_allclose(paths[0], f.predict()["y_hat"], rtol=1e-6)
    cv = backtest(y[:origins[-1] + h], h=h, n_windows=len(origins), step=1, refit=False, **settings)
    np.testing.assert_allclose(paths, cv["y_hat"], rtol=1e-6)


def test_marks_call_ties_wins_and_flag_differences_within_a_seed_sd(bench):
    assert bench.mark(1.0, 0.0, 1.0) == "win"
    assert bench.mark(1.2, 0.0, 1.0) == "LOSS"
    assert bench.mark(1.05, 0.1, 1.0) == "LOSS~"
    assert bench.mark(0.5, 0.1, 1.0) == "win"


def test_set_passes_a_forecaster_argument_and_refuses_unknown_ones(bench, capsys):
    results = bench.main(["--size", "small", "--series", "nile", "--no-statsforecast", "--set", "hidden_size=4",
                          "--set", "cell=gru"])
    assert results["nile"]["forecaster"][0]["chosen"]["hidden_size"] == 4
    assert "cell='gru'" in capsys.readouterr().out
    for bad in ("seed=3", "nonsense=1", "window"):
        with pytest.raises(SystemExit):
            bench.main(["--size", "small", "--set", bad])
