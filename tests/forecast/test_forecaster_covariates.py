"""Forecaster covariates (extra columns of a long DataFrame, known in advance, ``predict(X_df=...)``) and the
recursive strategy (a one-step network fed its own median forecast)."""

import numpy as np
import pytest

from gatedrnn.errors import UserError
from gatedrnn.forecast import Forecaster

pd = pytest.importorskip("pandas", reason="covariates come in a long DataFrame (the forecast extra)")

H = 4


def driven(n_series=3, n=120, seed=0):
    """y = 20 + 3 s + 10 x + noise, x random and known ahead: (train frame, future X_df, future y)."""
    rng = np.random.default_rng(seed)
    frames = []
    for s in range(n_series):
        x = rng.standard_normal(n + H)
        y = 20 + 3 * s + 10 * x + 0.3 * rng.standard_normal(n + H)
        frames.append(pd.DataFrame({"unique_id": f"s{s}", "ds": pd.date_range("2024-01-01", periods=n + H, freq="h"),
                                    "y": y, "x": x}))
    full = pd.concat(frames, ignore_index=True)
    train, future = full.groupby("unique_id").head(n), full.groupby("unique_id").tail(H)
    return train, future[["unique_id", "ds", "x"]], future["y"].to_numpy()


def small(**kw):
    return Forecaster(**{"horizon": H, "window": 8, "hidden_size": 16, "max_steps": 300, "base": "none", **kw})


def test_a_known_covariate_beats_the_model_without_it_and_round_trips(tmp_path):
    train, X_df, truth = driven(n_series=6)
    f = small(max_steps=400, lr=1e-2).fit(train)
    assert f.covariates == ["x"] and f.input_size == 3 and f.strategy == "direct"
    p = f.predict(X_df=X_df)
    without = small(max_steps=400, lr=1e-2, covariates=[]).fit(train).predict()
    mae, mae0 = (np.abs(q["y_hat"].to_numpy() - truth).mean() for q in (p, without))
    assert mae < 0.5 * mae0, (mae, mae0)          # measured: 3.07 against 9.85 (10 x: standard deviation 10)
    assert (p["lo-95"] <= p["y_hat"]).all() and (p["y_hat"] <= p["hi-95"]).all()
    f.save(tmp_path / "fc")
    back = Forecaster.load(tmp_path / "fc")
    assert back.covariates == ["x"] and np.allclose(back.cov_mean, f.cov_mean)
    q = back.predict(X_df=X_df.sample(frac=1, random_state=0))          # row order does not matter
    assert np.allclose(q["y_hat"], p["y_hat"]) and np.allclose(q["hi-80"], p["hi-80"])
    one = back.predict(h=2, ids=["s1"], X_df=X_df[X_df["unique_id"] == "s1"].head(2))     # steps 3-4: step 2's x
    assert one.shape == (2, 7) and (one["ds"] == p["ds"].iloc[4:6].to_numpy()).all()


def test_named_covariates_and_their_errors_are_one_line():
    train, X_df, _ = driven(n_series=2, n=40)
    train = train.assign(z=1.0, note="a")
    f = small(covariates=["x", "z"], max_steps=5).fit(train)
    assert f.covariates == ["x", "z"] and f.settings()["covariates"] == ["x", "z"]
    X = X_df.assign(z=2.0)
    cases = [
        (None, r"X_df: expected a DataFrame unique_id, ds, x, z over the 4 future steps of every series"),
        (X.drop(columns="z"), r"X_df: expected columns unique_id, ds, x, z, got .* \(missing \['z'\]\)"),
        (X.drop(index=X.index[2]), r"series s0: covariate 'x': expected a value at each of the 4 forecast steps "
                                   r"\(from 2024-01-02 16:00:00\), got no row at 2024-01-02 18:00:00"),
        (X.assign(x=np.where(X["unique_id"] == "s1", np.nan, X["x"])), "series s1: covariate 'x': .* got nan at"),
        (X.assign(z="high"), "series s0: covariate 'z' in X_df: expected numbers, got dtype"),
        (X[X["unique_id"] == "s0"], "series s1: X_df: expected the covariates of the 4 future steps"),
    ]
    for X_bad, msg in cases:
        with pytest.raises(UserError, match=msg) as e:
            f.predict(X_df=X_bad)
        assert "\n" not in str(e.value)
    bad_fits = [
        (small(), train, "series s0: covariate 'note': expected numbers, got an array of dtype object"),
        (small(covariates=["w"]), train, r"covariates: expected columns of the DataFrame .* got \['w'\]"),
        (small(covariates=["x"]), train["y"].to_numpy(), "covariates: expected a long DataFrame with the columns"),
        (small(covariates=["x"]), train.assign(x=np.r_[np.nan, train["x"].to_numpy()[1:]]),
         "series s0: covariate 'x': expected finite values, got nan at position 0"),
        (small(strategy="recursive"), train[["unique_id", "ds", "y", "x"]],
         r"covariates: expected none with strategy 'recursive'.*got \['x'\]"),
    ]
    for model, y, msg in bad_fits:
        with pytest.raises(UserError, match=msg):
            model.fit(y)
    with pytest.raises(UserError, match="X_df: expected none"):
        small(covariates=[], max_steps=5).fit(train).predict(X_df=X_df)
    with pytest.raises(UserError, match="covariates: expected none with strategy 'recursive'"):
        Forecaster(strategy="recursive", covariates=["x"])



def test_recursive_forecasts_any_h_and_equals_a_loop_of_one_step_forecasts(tmp_path, seasonal):
    ys = [seasonal(100, noise=0.1), seasonal(80, 10 + 5, 1, noise=0.1)]
    f = Forecaster(horizon=6, season=12, window=24, hidden_size=12, max_steps=150, strategy="recursive").fit(ys)
    assert f.output_horizon == 1 and f.models[0].config["output_size"] == 5
    p = f.predict(h=15)                                   # beyond the horizon: the recursion goes on
    assert p["y_hat"].shape == (2, 15)
    assert (p["lo-95"] <= p["lo-80"]).all() and (p["lo-80"] <= p["y_hat"]).all() and (p["hi-80"] <= p["hi-95"]).all()
    tails = np.stack([y[-24:] for y in ys])
    starts = np.array([y.size - 24 for y in ys])
    for k in range(15):                                   # by hand: one step, feed the median back, slide
        q = f.network_forecast(tails, starts)
        assert q.shape == (2, 1, 5)
        assert np.allclose(q[:, 0, 2], p["y_hat"][:, k]) and np.allclose(q[:, 0, 0], p["lo-95"][:, k])
        tails, starts = np.concatenate([tails[:, 1:], q[:, 0, 2:3]], axis=1), starts + 1
    truth = np.array([10 + a + 3 * np.sin(2 * np.pi * np.arange(n, n + 15) / 12) for n, a in ((100, 0), (80, 5))])
    assert np.abs(p["y_hat"] - truth).mean() < np.abs(np.stack([y[-1:] for y in ys]) - truth).mean()
    qf = f.quantile_forecast(np.stack([y[-24:] for y in ys]), np.array([76, 56]))     # the horizon's 6 steps
    assert qf.shape == (2, 6, 5) and np.allclose(qf[:, :, 2], p["y_hat"][:, :6])
    f.save(tmp_path / "rec")
    back = Forecaster.load(tmp_path / "rec")
    assert back.strategy == "recursive" and np.allclose(back.predict(h=15)["hi-80"], p["hi-80"])
    with pytest.raises(UserError, match=r"series 0: too short, expected at least 25 values \(window 24 \+ 1 step"):
        Forecaster(window=24, strategy="recursive", mask=False, hidden_size=4, max_steps=3).fit(seasonal(24, noise=0.1))
    with pytest.raises(UserError, match="strategy: expected one of"):
        Forecaster(strategy="seq2seq")


def test_without_covariates_the_network_is_unchanged(seasonal):
    """Values recorded before covariates and the recursive strategy were added: same weights, same forecasts."""
    ys = [seasonal(80, noise=0.1), seasonal(60, 10 + 5, 1, noise=0.1)]
    f = Forecaster(horizon=4, season=12, window=24, hidden_size=6, max_steps=30).fit(ys)
    p = f.predict()
    assert float(np.sum(f.models[0].params[0])) == pytest.approx(-2.807037353515625, abs=1e-5)
    assert np.allclose(p["y_hat"][0], [7.3966327612694105, 6.433143412173214, 6.817209264992795, 8.374794086917138],
                       rtol=1e-5)
    assert np.allclose(p["hi-95"][1], [15.551409717144251, 16.46402024272906, 17.633806183423452,
                                       17.980771602072565], rtol=1e-5)
    g = Forecaster(horizon=3, window=10, hidden_size=6, max_steps=30).fit(ys).predict()
    assert np.allclose(g["y_hat"][1], [13.610988851711864, 13.474088617489397, 13.036741015540546], rtol=1e-5)
