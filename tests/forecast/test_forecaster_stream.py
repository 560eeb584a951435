"""``Forecaster.stream()`` (forecast/live.py) and ``gatedrnn stream FOLDER`` on a Forecaster folder
(deploy/forecast_pipe.py): after every pushed value, the next ``horizon`` forecasts equal ``predict`` on the same
history (< 1e-6 relative), in fixed memory; bad values, unknown ids and covariates are one line each."""

import copy
import io

import numpy as np
import pytest

from gatedrnn.cli import main
from gatedrnn.errors import UserError
from gatedrnn.forecast import Forecaster
from gatedrnn.forecast.features import to_panel

HORIZON, WINDOW = 4, 16


def series(n, level=100.0, seed=0):
    t = np.arange(n)
    return level + 10 * np.sin(2 * np.pi * t / 8) + 0.05 * t + np.random.default_rng(seed).standard_normal(n)


def fitted(y, season, n_models, cell="gru"):
    return Forecaster(cell=cell, horizon=HORIZON, season=season, window=WINDOW, hidden_size=6, max_steps=8,
                      batch_size=16, n_models=n_models).fit(y)


def predict_on(f, history):
    g = copy.copy(f)
    g.panel = to_panel(history)
    return g.predict()


def rel(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b)) / np.maximum(np.abs(b), 1e-12)))


@pytest.mark.parametrize("n_models", [1, 3])
@pytest.mark.parametrize("season", [None, 8])
def test_stream_equals_predict_on_the_same_history_one_series(season, n_models):
    y = series(90)
    f = fitted(y[:60], season, n_models)
    s = f.stream()
    size = s.nbytes
    for k in range(60, 90):
        out = s.push(y[k])
        if k % 7 == 0 or k == 89:
            want = predict_on(f, y[:k + 1])
            for col in ("y_hat", "lo-80", "hi-80", "lo-95", "hi-95"):
                assert rel(out[col], want[col]) < 1e-6, (k, col)
    assert s.nbytes == size and s.ring.shape == (1, WINDOW)


@pytest.mark.parametrize("season, n_models", [(None, 3), (8, 1)])
def test_stream_equals_predict_for_a_panel(season, n_models):
    ys = [series(70, 50.0, 1), series(80, 500.0, 2), series(65, 5.0, 3)]
    f = fitted([y[:-10] for y in ys], season, n_models, cell="lstm")
    s = f.stream()
    for k in range(10):                             # interleaved: series 2, 0, 1 each time
        for i in (2, 0, 1):
            out = s.push(ys[i][len(ys[i]) - 10 + k], str(i))
            assert out["y_hat"].shape == (HORIZON,)
    want = predict_on(f, ys)
    for i in range(3):
        got = s.forecast(str(i))
        assert rel(got["y_hat"], want["y_hat"][i]) < 1e-6 and rel(got["hi-95"], want["hi-95"][i]) < 1e-6


def test_bad_values_and_ids_are_one_line_and_leave_the_state():
    f = fitted([series(60, 50.0, 1), series(60, 80.0, 2)], 8, 1)
    s = f.stream()
    before = (s.ring.copy(), s.oldest.copy(), s.length.copy())
    for value, sid in ((float("nan"), "0"), (float("inf"), "1"), (1e300, "0"), ("12", "0"), (True, "0"),
                       (1.0, "nope"), (1.0, None)):
        with pytest.raises(UserError) as e:
            s.push(value, sid)
        assert "\n" not in str(e.value)
    for a, b in zip(before, (s.ring, s.oldest, s.length)):
        assert np.array_equal(a, b)
    s.push(60.0, "1")
    assert s.length.tolist() == [60, 61]


def test_a_forecaster_with_covariates_is_refused_in_one_line():
    pd = pytest.importorskip("pandas")
    n = 60
    df = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2020-01-01", periods=n, freq="h"), "y": series(n),
                       "x": np.sin(np.arange(n))})
    f = Forecaster(horizon=HORIZON, window=WINDOW, hidden_size=4, max_steps=2).fit(df)
    with pytest.raises(UserError, match="cannot know their future values") as e:
        f.stream()
    assert "\n" not in str(e.value)


def test_cli_streams_a_panel_folder_with_a_header_and_one_line_per_bad_input(tmp_path, monkeypatch, capsys):
    ys = [series(60, 50.0, 1), series(62, 90.0, 2)]
    f = fitted(ys, 8, 1)
    f.save(tmp_path / "fc")
    lines = "# new values\n0,51.5\n1, 88\nzz,3\n0,abc\n0,1e300\n7\n\n1,89.25\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(lines))
    assert main(["stream", str(tmp_path / "fc")]) == 2
    cap = capsys.readouterr()
    out = cap.out.splitlines()
    assert out[0] == "unique_id,ahead,y_hat,lo-80,hi-80,lo-95,hi-95"
    assert len(out) == 1 + 3 * HORIZON and [r.split(",")[:2] for r in out[1:3]] == [["0", "1"], ["0", "2"]]
    err = cap.err.splitlines()
    assert [e.split(":")[0] for e in err[:4]] == ["stdin line 4", "stdin line 5", "stdin line 6", "stdin line 7"]
    assert "4 of 7 refused" in err[-1] and len(err) == 5
    s = f.stream()
    s.push(51.5, "0")
    s.push(88.0, "1")
    last = s.push(89.25, "1")
    got = np.array([[float(v) for v in r.split(",")[2:]] for r in out[-HORIZON:]])
    assert rel(got[:, 0], last["y_hat"]) < 1e-9 and rel(got[:, -1], last["hi-95"]) < 1e-9


def test_cli_streams_one_series_from_plain_values(tmp_path, monkeypatch, capsys):
    y = series(80)
    fitted(y[:60], None, 1).save(tmp_path / "fc")
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(repr(float(v)) for v in y[60:])))
    assert main(["stream", str(tmp_path / "fc")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 + 20 * HORIZON
    want = predict_on(Forecaster.load(tmp_path / "fc"), y)
    got = np.array([float(r.split(",")[2]) for r in out[-HORIZON:]])
    assert rel(got, want["y_hat"]) < 1e-9


def test_a_short_series_streams_from_its_padded_window():
    ys = [series(80, 50.0, 1), series(12, 60.0, 2)]          # the second shorter than the window: padded
    f = Forecaster(cell="gru", horizon=HORIZON, season=8, window=WINDOW, hidden_size=6, max_steps=8, batch_size=16,
                   mask=True).fit(ys)
    s = f.stream()
    more = series(30, 60.0, 3)
    for k in range(30):
        out = s.push(more[k], "1")
        if k in (0, 5, 29):
            want = predict_on(f, [ys[0], np.concatenate([ys[1], more[:k + 1]])])
            assert rel(out["y_hat"], want["y_hat"][1]) < 1e-6 and rel(out["lo-95"], want["lo-95"][1]) < 1e-6
