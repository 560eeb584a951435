"""forecast/backtest.py: rolling-origin cut-offs and shapes, refit per cut-off or once, the forecasts of a cut-off
equal to a Forecaster fitted on the data up to it, the pandas layout with dates, and the scores."""

import numpy as np
import pytest

from gatedrnn.errors import UserError
from gatedrnn.forecast import Forecaster, backtest, backtest_scores, forecast_after


def wave(n, phase=0.0, seed=0):
    t = np.arange(n)
    return 10 + 2 * np.sin(2 * np.pi * t / 4 + phase) + 0.1 * np.random.default_rng(seed).standard_normal(n)


@pytest.fixture
def fits(monkeypatch):
    """How many times Forecaster.fit ran."""
    count = [0]
    fit = Forecaster.fit

    def counted(self, y, echo=None):
        count[0] += 1
        return fit(self, y, echo)

    monkeypatch.setattr(Forecaster, "fit", counted)
    return count


def test_cutoffs_and_shapes_on_a_tiny_array(fits, tiny):
    y = wave(30)
    cv = backtest(y, 3, n_windows=3, step=2, **tiny.backtest)
    assert cv["cutoff"].tolist() == [23, 25, 27]                     # 30 - 3 - 2 * 2, 30 - 3 - 2, 30 - 3
    assert set(cv) == {"cutoff", "y", "y_hat", "lo-80", "hi-80", "lo-95", "hi-95"}
    assert all(cv[k].shape == (3, 3) for k in cv if k != "cutoff")
    assert np.array_equal(cv["y"], np.stack([y[23:26], y[25:28], y[27:30]]))
    assert (cv["lo-95"] <= cv["lo-80"]).all() and (cv["lo-80"] <= cv["y_hat"]).all() and (cv["y_hat"] <= cv["hi-80"]).all()
    assert fits[0] == 3                                               # refit=True: one training per cut-off


def test_a_list_of_series_of_different_lengths_is_cut_at_each_end(fits, tiny):
    cv = backtest([wave(30), wave(26, 1.0, seed=1)], 2, n_windows=2, refit=False, **tiny.backtest)
    assert cv["cutoff"].tolist() == [[26, 28], [22, 24]]             # step defaults to h
    assert cv["y_hat"].shape == (2, 2, 2) and cv["y"][1, 1].tolist() == wave(26, 1.0, seed=1)[24:].tolist()
    assert fits[0] == 1                                               # refit=False: trained once


def test_forecasts_from_a_cutoff_equal_a_forecaster_fitted_up_to_it(tiny):
    y = wave(32)
    cv = backtest(y, 3, n_windows=2, step=3, **tiny.backtest)
    for k, c in enumerate(cv["cutoff"]):
        p = Forecaster(horizon=3, **tiny.backtest).fit(y[:c]).predict(3)
        for col in ("y_hat", "lo-95", "hi-80"):
            np.testing.assert_allclose(cv[col][k], p[col], rtol=1e-12)
    # refit=False: the network trained up to the first cut-off, fed the window before each later one
    once = backtest(y, 3, n_windows=2, step=3, refit=False, **tiny.backtest)
    f = Forecaster(horizon=3, **tiny.backtest).fit(y[:cv["cutoff"][0]])
    c = int(cv["cutoff"][1])
    by_hand = f.quantile_forecast(y[c - 6:c][None], np.array([c - 6]))[0, :, f.quantiles.index(0.5)]
    np.testing.assert_allclose(once["y_hat"][1], by_hand, rtol=1e-12)
    np.testing.assert_allclose(once["y_hat"][0], cv["y_hat"][0], rtol=1e-12)
    np.testing.assert_allclose(forecast_after(f, y, [c], 3)[0, :, f.quantiles.index(0.5)], by_hand, rtol=1e-12)


def test_pandas_layout_with_dates(tiny):
    pd = pytest.importorskip("pandas", reason="the long-DataFrame layout needs pandas")
    ds = pd.date_range("2024-01-01", periods=24, freq="h")
    df = pd.concat([pd.DataFrame({"unique_id": uid, "ds": ds[:n], "y": wave(n, ph)})
                    for uid, n, ph in (("a", 24, 0.0), ("b", 22, 1.0))])
    cv = backtest(df, 2, n_windows=2, step=1, forecaster=Forecaster(horizon=2, **tiny.backtest))
    assert list(cv.columns) == ["unique_id", "ds", "cutoff", "y", "y_hat", "lo-80", "hi-80", "lo-95", "hi-95"]
    assert len(cv) == 2 * 2 * 2 and cv["unique_id"].tolist() == ["a"] * 4 + ["b"] * 4
    a, b = cv[cv.unique_id == "a"], cv[cv.unique_id == "b"]
    assert a["cutoff"].tolist() == [ds[20]] * 2 + [ds[21]] * 2          # the last value seen: 24 - 2 - 1 - 1, ...
    assert a["ds"].tolist() == [ds[21], ds[22], ds[22], ds[23]]
    assert b["cutoff"].iloc[-1] == ds[19] and b["ds"].iloc[-1] == ds[21]
    assert a["y"].tolist() == [df.y.iloc[k] for k in (21, 22, 22, 23)]
    scores = backtest_scores(cv, df)
    assert [w["cutoff"] for w in scores["windows"]] == [None, None]   # the two series end at different hours
    assert set(scores["overall"]) == {"mae", "rmse", "smape", "mase", "coverage-80", "coverage-95"}


def test_too_short_a_series_is_one_line_naming_it(tiny):
    with pytest.raises(UserError, match=r"^series 1: too short for the backtest, expected at least 16 values \(9 to "
                                        r"train on before the first cut-off, then h 3 \+ \(3 - 1\) x step 2\), got 15$"):
        backtest([wave(30), wave(15)], 3, n_windows=3, step=2, **tiny.backtest)
    with pytest.raises(UserError, match=r"h: expected at most the forecaster's horizon 2, got 3"):
        backtest(wave(30), 3, horizon=2, **tiny.backtest)


def test_scores_by_hand():
    y = np.array([0.0, 2, 0, 2, 1, 3, 5, 7])
    cv = {"cutoff": np.array([4, 6]), "y": np.array([[1.0, 3], [5, 7]]), "y_hat": np.array([[1.0, 1], [5, 5]]),
          "lo-80": np.array([[0.0, 0], [4, 8]]), "hi-80": np.array([[2.0, 2], [6, 9]])}
    s = backtest_scores(cv, y)
    w0, w1 = s["windows"]
    assert w0["cutoff"] == 4 and w0["mae"] == 1 and w0["rmse"] == pytest.approx(np.sqrt(2))
    assert w0["mase"] == pytest.approx(1 / 2)                         # naive errors over 0 2 0 2: 2 on average
    assert w1["mase"] == pytest.approx(1 / 1.8)                       # over 0 2 0 2 1 3: 2 2 2 1 2
    assert w0["coverage-80"] == 0.5 and w1["coverage-80"] == 0.5
    assert w0["smape"] == pytest.approx(100 * (0 + 2 / 4))
    assert s["overall"]["mae"] == pytest.approx(1.0) and s["overall"]["coverage-80"] == 0.5
    assert np.isnan(backtest_scores(cv, y, season=2)["windows"][0]["mase"])   # 0 2 0 2 is periodic: no scale


def test_covariate_columns_go_with_the_cut_data_and_their_future_rows(tiny):
    pd = pytest.importorskip("pandas", reason="covariates are columns of a long DataFrame")
    t = np.arange(30)
    df = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2024-01-01", periods=30, freq="D"), "y": wave(30),
                       "x": np.cos(t)})
    for h, horizon in ((3, 3), (2, 4)):                # a horizon past h: the last covariate row carried on
        cv = backtest(df, h, n_windows=2, step=1, refit=False, forecaster=Forecaster(horizon=horizon, **tiny.backtest))
        c = 30 - h
        f = Forecaster(horizon=horizon, **tiny.backtest).fit(df.iloc[:c])
        p = f.predict(h, X_df=df.iloc[c:][["unique_id", "ds", "x"]])
        assert f.covariates == ["x"]
        np.testing.assert_allclose(backtest(df, h, forecaster=f)["y_hat"], p["y_hat"], rtol=1e-12)
        assert cv["y_hat"].shape == (2 * h,)
