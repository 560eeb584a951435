"""The C99 export of a whole Forecaster (deploy/c99_forecaster.py, checked by deploy/c99_forecaster_run.py): it
compiles with ``cc -std=c99 -Wall -Wextra -pedantic -Werror`` and over 1,000 pushes matches ``predict`` on the same
windows within 1e-5 x max(1, |y|). CI runs a representative subset of cells x season (none, 24) x members (1, 3);
``GATEDRNN_SLOW=1`` runs the full grid. ``gatedrnn export FOLDER --c DIR [--int8]`` writes and checks it; a
forecaster with covariates is one line. A recursive forecaster's C (its one-step network looped over the horizon,
the median fed back) is held to the same bound."""

import os
import re

import numpy as np
import pytest

from gatedrnn.cli import main
from gatedrnn.deploy.c99_forecaster import forecaster_c_sources
from gatedrnn.deploy.c99_forecaster_run import check_forecaster_c
from gatedrnn.deploy.c99_run import find_cc
from gatedrnn.errors import UserError
from gatedrnn.forecast import Forecaster

needs_cc = pytest.mark.skipif(find_cc() is None, reason="no C compiler (cc, gcc or clang) on this machine")
SLOW = os.environ.get("GATEDRNN_SLOW") == "1"
GRID = [(cell, season, k) for cell in ("rnn", "gru", "lstm", "mingru", "minlstm") for season in (None, 24) for k in (1, 3)]
SUBSET = [("lstm", 24, 3), ("gru", None, 1), ("rnn", 24, 1), ("mingru", None, 3), ("minlstm", 24, 3)]


def panel(seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(160)
    return [lvl + amp * np.sin(2 * np.pi * t[:n] / 24) + 0.02 * lvl * rng.standard_normal(n)
            for lvl, amp, n in ((100.0, 10.0, 160), (5000.0, 800.0, 130), (2.0, 1.5, 140))]


def fitted(cell, season, k, **kw):
    return Forecaster(cell=cell, horizon=6, season=season, window=48, hidden_size=8, max_steps=15, batch_size=16,
                      n_models=k, **kw).fit(panel())


def export(f, folder, prefix="fc", int8=False):
    header, source = forecaster_c_sources(f, prefix=prefix, int8=int8, origin=str(folder))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{prefix}.h").write_text(header)
    (folder / f"{prefix}.c").write_text(source)
    return header, source


@needs_cc
@pytest.mark.parametrize("cell, season, k", GRID if SLOW else SUBSET)
def test_c_matches_predict_over_1000_pushes(cell, season, k, tmp_path):
    f = fitted(cell, season, k)
    header, source = export(f, tmp_path)
    assert "malloc" not in source and set(re.findall(r"#include <(\w+)\.h>", source + header)) == {"math"}
    got = check_forecaster_c(f, tmp_path, "fc", pushes=1000)
    assert got["max_diff"] < 1e-5, got


def test_covariates_are_refused_in_one_line(tmp_path):
    pd = pytest.importorskip("pandas")
    n = 80
    df = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2020-01-01", periods=n, freq="h"), "y": panel()[0][:n],
                       "x": np.cos(np.arange(n))})
    f = Forecaster(horizon=4, window=16, hidden_size=4, max_steps=2).fit(df)
    with pytest.raises(UserError, match="cannot know their future values") as e:
        forecaster_c_sources(f)
    assert "\n" not in str(e.value)
    f.save(tmp_path / "fc")
    assert main(["export", str(tmp_path / "fc"), "--c", str(tmp_path / "c")]) == 2
    assert not (tmp_path / "c" / "model.c").exists()


def test_the_origin_reaches_c_only_as_an_escaped_literal(tmp_path):
    f = fitted("gru", 24, 1)
    header, source = forecaster_c_sources(f, prefix="fc", origin='runs/x"; int evil(void); /* \\')
    assert "evil(void); /*" not in source and "\\042" in source


@needs_cc
@pytest.mark.parametrize("int8", [False, True])
def test_cli_export_c_of_a_forecaster_folder_writes_and_checks(int8, tmp_path, capsys):
    f = fitted("lstm", 24, 3)
    f.save(tmp_path / "fc")
    argv = ["export", str(tmp_path / "fc"), "--c", str(tmp_path / "c"), "--prefix", "m4h"] + (["--int8"] if int8 else [])
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "Forecaster, LSTM 8 units x 1, 3 member(s), window 48, season 24, horizon 6" in lines[0]
    diff = float(re.search(r"max difference (\S+) x", lines[1]).group(1))
    assert diff < (1e-2 if int8 else 1e-5), lines[1]
    assert (tmp_path / "c" / "m4h.h").exists() and "m4h_push" in (tmp_path / "c" / "m4h.h").read_text()
    assert main(argv) == 0                               # an earlier export's files may be replaced


@needs_cc
def test_a_bad_value_is_refused_by_push_and_the_state_is_untouched(tmp_path):
    from gatedrnn.deploy.c99_forecaster_run import CForecaster, check_values

    f = fitted("gru", 24, 1)
    export(f, tmp_path)
    c = CForecaster(tmp_path, "fc", f)
    xs, start = check_values(f, pushes=20)
    clean, bad = c.run(xs, start)
    assert bad == f.window - 1 and np.isnan(clean[:f.window - 1]).all() and np.isfinite(clean[f.window - 1:]).all()
    k = f.window + 5
    for junk in (np.nan, np.inf, 1e101):
        dirty, bad = c.run(np.insert(xs, k, junk), start)
        assert bad == f.window                              # the push refused; the forecast after it as before
        assert np.array_equal(np.delete(dirty, k, axis=0), clean, equal_nan=True) and np.array_equal(dirty[k], clean[k - 1])


@needs_cc
def test_a_model_with_the_short_series_mask_input_matches_predict(tmp_path):
    ys = panel()
    f = Forecaster(cell="gru", horizon=6, season=24, window=48, hidden_size=8, max_steps=15, batch_size=16,
                   mask=True).fit([ys[0], ys[1][:30]])
    assert f.input_size == 4                                 # value, sin, cos, mask
    export(f, tmp_path)
    assert check_forecaster_c(f, tmp_path, "fc", pushes=300)["max_diff"] < 1e-5


# -- the recursive strategy: a one-step network applied horizon times, its median fed back ----------------------------
# season 5 with a window of 48 and a horizon of 12: the season phase wraps within a forecast and starts off the window
RECURSIVE = [("lstm", 5, 3), ("gru", None, 1), ("rnn", 24, 1), ("mingru", None, 3), ("minlstm", 5, 1)]


def fitted_recursive(cell, season, k, horizon=12):
    return Forecaster(cell=cell, horizon=horizon, season=season, window=48, hidden_size=8, max_steps=15, batch_size=16,
                      n_models=k, strategy="recursive").fit(panel())


@needs_cc
@pytest.mark.parametrize("cell, season, k", GRID if SLOW else RECURSIVE)
def test_a_recursive_forecaster_c_matches_predict_over_1000_pushes(cell, season, k, tmp_path):
    f = fitted_recursive(cell, season, k)
    assert f.output_horizon == 1 and f.models[0].head.out_features == len(f.quantiles)
    header, source = export(f, tmp_path)
    assert "malloc" not in source and set(re.findall(r"#include <(\w+)\.h>", source + header)) == {"math"}
    assert "#define FC_HORIZON 12" in header and "double win[48];" in header and "fc_ahead(s, out + step * 5)" in source
    got = check_forecaster_c(f, tmp_path, "fc", pushes=1000)
    assert got["max_diff"] < 1e-5, got


@needs_cc
@pytest.mark.parametrize("int8", [False, True])
def test_cli_export_c_of_a_recursive_forecaster_folder_writes_and_checks(int8, tmp_path, capsys):
    f = fitted_recursive("gru", 5, 3, horizon=7)
    f.save(tmp_path / "fc")
    argv = ["export", str(tmp_path / "fc"), "--c", str(tmp_path / "c")] + (["--int8"] if int8 else [])
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "Forecaster, GRU 8 units x 1, 3 member(s), window 48, season 5, horizon 7 (recursive" in lines[0]
    diff = float(re.search(r"max difference (\S+) x", lines[1]).group(1))
    assert diff < (1e-2 if int8 else 1e-5), lines[1]
    assert "#define MODEL_HORIZON 7" in (tmp_path / "c" / "model.h").read_text()


def test_a_direct_forecaster_relabelled_recursive_is_refused_in_one_line():
    f = fitted("gru", None, 1)
    f.strategy = "recursive"                 # its network outputs 6 steps: it cannot be fed back one step at a time
    with pytest.raises(UserError, match=r"expected member 0 to output 5 values \(recursive strategy: 1 step\(s\) x 5 "
                                        r"quantiles\), got 30") as e:
        forecaster_c_sources(f)
    assert "\n" not in str(e.value)
