"""The global Forecaster as a hostile user meets it (issue 20, items 5 to 8): finite answers or one UserError line
(huge values through the API, ``--predict`` and a saved folder; the ONNX export's check), inputs that would be
misread (ids that merge, ids missing, masks, complex numbers, flags a run ignores, a backtest scored against
another series, a saved meta that disagrees with its networks), tampered meta.json, arguments that would
allocate terabytes, and bounded work (a recursive h, the baselines' size rule)."""

import contextlib
import csv
import json
import math
import os
import signal
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gatedrnn.errors import UserError
from gatedrnn.forecast import Forecaster, backtest, backtest_scores
from gatedrnn.forecast.config import make_config

pd = pytest.importorskip("pandas")

# GATEDRNN_HOSTILE_SIZE=large fuzzes longer (500 examples per property); HOSTILE_EXAMPLES sets the number itself
EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", 500 if os.environ.get("GATEDRNN_HOSTILE_SIZE") == "large" else 30))
FAST = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def wave(n=40, level=50.0, amp=10.0):
    t = np.arange(n)
    return level + amp * np.sin(t / 3)


def one_line(exc) -> str:
    text = str(exc.value)
    assert "\n" not in text and text, text
    return text


@contextlib.contextmanager
def deadline(seconds):
    """Fail (instead of hanging) when the block runs longer than ``seconds``."""
    def stop(*_):
        raise TimeoutError(f"still running after {seconds} s")
    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="module")
def fitted(tiny):
    return Forecaster(**tiny.forecaster).fit([wave(), wave(50, 20.0)])


@pytest.fixture(scope="module")
def saved(fitted, tmp_path_factory):
    return fitted.save(tmp_path_factory.mktemp("fc") / "f")


def tampered(saved: Path, tmp_path: Path, change) -> Path:
    """A copy of the save folder whose meta.json 'forecaster' entry went through ``change`` (in place)."""
    import shutil

    dst = tmp_path / "t"
    shutil.copytree(saved, dst)
    meta_path = dst / "model" / "meta.json"
    meta = json.loads(meta_path.read_text())
    change(meta["forecaster"])
    meta_path.write_text(json.dumps(meta))
    return dst


# -- 5. finite answers or an error ------------------------------------------------------------------------------
@FAST
@given(exp=st.integers(0, 300), sign=st.sampled_from([1.0, -1.0]), layout=st.sampled_from(["array", "list", "frame"]),
       spike=st.booleans())
def test_any_magnitude_gives_finite_ordered_forecasts_or_one_line(exp, sign, layout, spike, tiny):
    y = sign * 10.0 ** exp * (1 + 0.1 * np.sin(np.arange(40) / 3))
    if spike:
        y = np.zeros(40)
        y[25] = sign * 10.0 ** exp
    data = {"array": y, "list": [y, wave()],
            "frame": pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2020", periods=40, freq="D"), "y": y})}[layout]
    try:
        f = Forecaster(**tiny.forecaster).fit(data)
        p = f.predict()
    except UserError as exc:
        assert "\n" not in str(exc)
        return
    for k in ("y_hat", "lo-80", "hi-80", "lo-95", "hi-95"):
        assert np.isfinite(np.asarray(p[k], dtype=float)).all(), (k, p[k])
    assert (np.asarray(p["lo-95"]) <= np.asarray(p["lo-80"])).all() and (np.asarray(p["lo-80"]) <= np.asarray(p["y_hat"])).all()
    assert (np.asarray(p["y_hat"]) <= np.asarray(p["hi-80"])).all() and (np.asarray(p["hi-80"]) <= np.asarray(p["hi-95"])).all()


def assert_finite_ordered(p):
    cols = [np.asarray(p[k], dtype=float) for k in ("lo-95", "lo-80", "y_hat", "hi-80", "hi-95")]
    assert all(np.isfinite(c).all() for c in cols), cols
    assert all((a <= b).all() for a, b in zip(cols, cols[1:])), cols


@FAST
@given(y=hnp.arrays(np.float64, 30, elements=st.floats(allow_nan=False, allow_infinity=False)),
       strategy=st.sampled_from(["direct", "recursive"]))
@example(y=np.r_[np.full(22, 1.4e154), 0.0, np.full(7, 1.4e154)], strategy="direct")
def test_arbitrary_finite_values_give_finite_ordered_forecasts_or_one_line(y, strategy, tiny):
    try:
        f = Forecaster(**{**tiny.forecaster, "strategy": strategy}).fit(y)
        p = f.predict(h=5 if strategy == "recursive" else None)
    except UserError as exc:
        assert "\n" not in str(exc)
        return
    assert_finite_ordered(p)


def test_huge_values_are_refused_at_fit_naming_the_value(tiny):
    with pytest.raises(UserError) as exc:
        Forecaster(**tiny.forecaster).fit(1e300 * (1 + 0.1 * np.sin(np.arange(40))))
    assert "1e+300" in one_line(exc) and "overflow" in one_line(exc)


def test_predict_on_a_csv_of_1e200_exits_2_and_writes_nothing(tmp_path, capture_cli):
    p = tmp_path / "big.csv"
    with open(p, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["value"])
        w.writerows([[f"{v:.17g}"] for v in 1e200 * (2 + np.sin(np.arange(60) / 3))])
    out = tmp_path / "out"
    rc, _, err = capture_cli(["forecast", "--dataset", str(p), "--predict", "3", "--max-steps", "2", "--hidden-size", "4",
                      "--window", "8", "--no-plot", "--out", str(out)])
    capture_cli.assert_one_error_line(rc, err, "forecast")
    assert "e+200" in err and not (out / "future.csv").exists()


def test_a_saved_tail_of_1e308_is_refused_at_load(saved, tmp_path):
    import gatedrnn

    def change(doc):
        doc["tails"][0][-1] = 1e308
    folder = tampered(saved, tmp_path, change)
    for load in (Forecaster.load, gatedrnn.load):
        with pytest.raises(UserError) as exc:
            load(folder)
        assert "tails" in one_line(exc) and "1e+308" in one_line(exc)


def test_the_onnx_export_of_such_a_folder_is_an_error_with_nothing_written(saved, tmp_path, capture_cli):
    pytest.importorskip("onnx")

    def change(doc):
        doc["tails"][1] = [1e300] * len(doc["tails"][1])
    folder = tampered(saved, tmp_path, change)
    target = tmp_path / "f.onnx"
    rc, out, err = capture_cli(["export", str(folder), "--onnx", str(target)])
    capture_cli.assert_one_error_line(rc, err, "export")
    assert "nan" not in out and not target.exists()


def test_covariates_far_outside_their_training_range_are_one_line(tiny):
    ds = pd.date_range("2020", periods=40, freq="D")
    x = np.sin(np.arange(40))
    df = pd.DataFrame({"unique_id": "a", "ds": ds, "y": wave() + x, "x": x})
    f = Forecaster(**tiny.forecaster).fit(df)
    future = pd.DataFrame({"unique_id": "a", "ds": pd.date_range(ds[-1], periods=4, freq="D")[1:], "x": 1e300})
    with pytest.raises(UserError) as exc:
        f.predict(X_df=future)
    assert "'x'" in one_line(exc)


# -- 6. silent misreadings ---------------------------------------------------------------------------------------
def frame(ids, n=40):
    rows = [(u, d, v) for u in ids for d, v in zip(pd.date_range("2020", periods=n, freq="D"), wave(n))]
    return pd.DataFrame(rows, columns=["unique_id", "ds", "y"])


@pytest.mark.parametrize("ids", [[1, "1"], ["a", None], ["a", math.nan], [2, 2.0 + 0.5, "2.5"]],
                         ids=["int-and-text", "none", "nan", "float-and-text"])
def test_ids_that_would_merge_or_vanish_are_one_line(ids, tiny):
    with pytest.raises(UserError) as exc:
        Forecaster(**tiny.forecaster).fit(frame(ids))
    assert "unique_id" in one_line(exc)


def test_masked_arrays_are_refused_at_every_entry_point(fitted, tiny):
    y = np.ma.masked_array(wave(), mask=np.arange(40) % 9 == 0)
    bt = dict(h=3, n_windows=1, window=8, hidden_size=4, max_steps=2, batch_size=4)
    calls = [lambda: Forecaster(**tiny.forecaster).fit(y), lambda: Forecaster(**tiny.forecaster).fit([y, wave()]),
             lambda: fitted.quantile_forecast(np.ma.masked_array(np.ones((1, 8)), mask=[[1] + [0] * 7]), [0]),
             lambda: backtest(y, **bt), lambda: backtest_scores(backtest(wave(), **bt), y)]
    for call in calls:
        with pytest.raises(UserError) as exc:
            call()
        assert "mask" in one_line(exc)


def test_complex_numbers_are_refused_at_every_entry_point(fitted, tiny):
    ds = pd.date_range("2020", periods=40, freq="D")
    x = np.sin(np.arange(40))
    df = pd.DataFrame({"unique_id": "a", "ds": ds, "y": wave() + x, "x": x})
    fc = Forecaster(**tiny.forecaster).fit(df)
    bt = dict(h=3, n_windows=1, window=8, hidden_size=4, max_steps=2, batch_size=4)
    cv = backtest(wave(), **bt)
    from gatedrnn.forecast.backtest import forecast_after
    calls = [lambda: fitted.quantile_forecast(np.ones((1, 8)) + 1j, [0]),
             lambda: fc.quantile_forecast(np.ones((1, 8)), [0], np.ones((1, 11, 1)) + 1j),
             lambda: forecast_after(fc, df.assign(x=x + 1j), [30], 3),
             lambda: backtest_scores({**cv, "y_hat": cv["y_hat"] + 1j}, wave())]
    for call in calls:
        with pytest.raises(UserError) as exc:
            call()
        assert "complex" in one_line(exc)


def test_flags_a_run_would_ignore_are_refused(tmp_path, capture_cli):
    for field in ({"horizon": 5}, {"holdout": 10}, {"season": 12}, {"column": "y"}):
        with pytest.raises(UserError) as exc:
            make_config(None, {"dataset": "m4-hourly", **field})
        assert list(field)[0] in one_line(exc)
    rc, _, err = capture_cli(["forecast", "--dataset", "m4-hourly", "--predict", "5", "--data-dir", str(tmp_path)])
    capture_cli.assert_one_error_line(rc, err, "forecast")
    assert "--predict" in err
    for argv, flag in ((["--predict", "5", "--horizon", "3"], "horizon"),):
        rc, _, err = capture_cli(["forecast", "--dataset", str(tmp_path / "absent.csv"), *argv, "--out", str(tmp_path / "o")])
        capture_cli.assert_one_error_line(rc, err, "forecast")
        assert flag in err


def test_a_saved_meta_with_other_quantiles_than_the_network_is_refused(saved, tmp_path):
    def change(doc):
        doc["settings"]["quantiles"] = [0.05, 0.2, 0.8, 0.95, 0.01, 0.99]
    with pytest.raises(UserError) as exc:
        Forecaster.load(tampered(saved, tmp_path, change))
    assert "quantiles" in one_line(exc)


def test_backtest_scores_refuses_another_series():
    y = wave(60)
    cv = backtest(y, h=3, n_windows=2, window=8, hidden_size=4, max_steps=2, batch_size=4)
    for other in (y * 2, y[:50], np.r_[0.0, y]):
        with pytest.raises(UserError) as exc:
            backtest_scores(cv, other)
        assert "cv was made from" in one_line(exc)
    assert np.isfinite(backtest_scores(cv, y)["overall"]["mae"])


# -- 7. tampered meta.json, bad arguments ------------------------------------------------------------------------
def _set(path, value):
    def change(doc):
        node = doc
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value
    return change


def _drop(path):
    def change(doc):
        node = doc
        for k in path[:-1]:
            node = node[k]
        if isinstance(node, dict):
            node.pop(path[-1], None)
        else:
            del node[path[-1]]
    return change


MUTATIONS = [_drop(("tails",)), _drop(("lengths",)), _drop(("settings", "window")), _drop(("ids",)),
             _set(("settings", "future_knob"), 1), _set(("newer_key",), {}), _set(("tails",), "abc"),
             _set(("lengths",), [40]), _set(("lengths",), ["40", 50]), _set(("ids",), ["0"]), _set(("ids",), 3),
             _set(("last_ds",), ["2020-01-01", "2020-01-02"]), _set(("kind",), "array"), _set(("kind",), 7),
             _set(("settings", "window"), "8"), _set(("settings", "n_models"), "2"), _set(("settings",), []),
             _set(("settings", "quantiles"), "abc"), _set(("settings", "seed"), -1), _set(("history",), 5),
             _set(("tails",), [[1.0] * 7, [1.0] * 8]), _set(("covariate_stats",), {"mean": [0], "std": [1]}),
             _set(("settings", "hidden_size"), 10**12), _set(("lengths",), [10**15, 50]), _set(("freq",), "D")]


JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                    max_leaves=8)
PATHS = [("settings", k) for k in ("cell", "horizon", "season", "window", "hidden_size", "num_layers", "n_models",
                                   "quantiles", "base", "strategy", "covariates", "lr", "unknown")] + \
        [(k,) for k in ("settings", "ids", "kind", "freq", "tails", "lengths", "last_ds", "history", "covariate_stats")] + \
        [("tails", 0), ("tails", 1, 3), ("lengths", 0), ("ids", 1), ("settings", "quantiles", 0)]


@FAST
@given(path=st.sampled_from(PATHS), value=JSON, drop=st.booleans())
def test_fuzzed_meta_is_one_line_or_loads_finite(saved, tmp_path_factory, path, value, drop):
    change = _drop(path) if drop and path[-1] != "unknown" else _set(path, value)
    folder = tampered(saved, tmp_path_factory.mktemp("m"), change)
    try:
        f = Forecaster.load(folder)
    except UserError as exc:
        assert "\n" not in str(exc), str(exc)
        return
    assert np.isfinite(f.predict()["y_hat"]).all()


def test_every_meta_mutation_is_refused_and_an_old_meta_still_loads(saved, tmp_path, fitted):
    for k, change in enumerate(MUTATIONS):
        with pytest.raises(UserError) as exc:
            Forecaster.load(tampered(saved, tmp_path / str(k), change))
        one_line(exc)

    def old(doc):                       # saved before the covariates and the recursive strategy existed
        del doc["settings"]["strategy"], doc["settings"]["covariates"]
    f = Forecaster.load(tampered(saved, tmp_path / "old", old))
    assert np.allclose(f.predict()["y_hat"], fitted.predict()["y_hat"])


@pytest.mark.parametrize("call", [
    lambda f, tiny: Forecaster(**tiny.forecaster).fit(pd.DataFrame({"unique_id": [], "ds": [], "y": []})),
    lambda f, _: f.predict(ids=[]),
    lambda f, _: f.predict(ids=1.5),
    lambda f, tiny: Forecaster(**tiny.forecaster).fit([[1.0, 2.0, 3.0] * 10, [1.0, [2.0, 3.0]] * 10]),
    lambda f, tiny: Forecaster(**{**tiny.forecaster, "quantiles": "abc"}),
    lambda f, tiny: Forecaster(**{**tiny.forecaster, "quantiles": 0.1}),
    lambda f, tiny: Forecaster(**{**tiny.forecaster, "hidden_size": 10**12}),
    lambda f, tiny: Forecaster(**{**tiny.forecaster, "batch_size": 10**12}),
    lambda f, _: f.quantile_forecast(np.ones((1, 5)), [0]),
], ids=["empty-frame", "no-ids", "float-id", "ragged", "quantiles-text", "quantiles-scalar", "hidden-1e12",
        "batch-1e12", "tails-shape"])
def test_bad_arguments_are_one_line(fitted, call, tiny):
    with pytest.raises(UserError) as exc:
        call(fitted, tiny)
    one_line(exc)


def test_config_sizes_are_bounded_before_allocating():
    for sizes in ({"hidden_size": 10**12}, {"hidden_size": 8192, "batch_size": 8192}):
        with pytest.raises(UserError) as exc:
            make_config(None, {"dataset": "sunspots", **sizes})
        assert "GiB" in one_line(exc) or "at most" in one_line(exc)


# -- 8. bounded work ---------------------------------------------------------------------------------------------
def test_a_recursive_h_of_ten_million_is_one_line_at_once(tiny):
    f = Forecaster(**{**tiny.forecaster, "strategy": "recursive"}).fit(wave())
    with deadline(20), pytest.raises(UserError) as exc:
        f.predict(h=10**7)
    assert "10000000" in one_line(exc)


def test_the_baselines_read_a_bounded_part_of_a_long_series(monkeypatch, capsys):
    """The size rule, checked by what the fits are given (statsmodels and statsforecast replaced by recorders)."""
    pytest.importorskip("statsmodels")
    import statsmodels.tsa.arima.model as arima_model
    import statsmodels.tsa.stattools as stattools

    import gatedrnn.forecast.baselines as baselines
    from gatedrnn.forecast.arima import arima_forecast, fit_arima
    from gatedrnn.forecast.baselines_sf import fit_one

    seen = []

    class Fitted:
        aic, nobs = 1.0, 0

        def apply(self, w):
            seen.append(len(w))
            return self

        def forecast(self, h):
            return np.zeros(h)

    class FakeArima:
        def __init__(self, w, **_):
            seen.append(len(w))

        def fit(self):
            return Fitted()

    monkeypatch.setattr(arima_model, "ARIMA", FakeArima)
    monkeypatch.setattr(stattools, "adfuller", lambda w, **_: seen.append(len(w)) or (0.0, 0.001))
    long = np.cumsum(np.random.default_rng(0).normal(size=200_000))
    choice = fit_arima(long, 24)
    arima_forecast(choice, np.r_[long, 1.0, 2.0], 5)

    class FakeSf:
        def __init__(self, **_):
            pass

        def fit(self, y):
            seen.append(len(y))
            return self

        def forward(self, y, h):
            seen.append(len(y))
            return {"mean": np.zeros(h)}

    fake = types.ModuleType("statsforecast.models")
    fake.AutoETS = FakeSf
    monkeypatch.setitem(sys.modules, "statsforecast.models", fake)
    fit_one("autoets", long, 24).forecast(np.r_[long, 1.0], 3)
    indices = baselines.seasonal_indices
    monkeypatch.setattr(baselines, "seasonal_indices", lambda x, m: seen.append(len(x)) or indices(x, m))
    baselines.naive2_forecast(long, 5, 24)
    assert seen and max(seen) <= 10_024, seen
    assert "note" in capsys.readouterr().out
