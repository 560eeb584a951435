"""gatedrnn export --c of a Forecaster(model="esrnn"): C99 compiled with -Werror, push/forecast equal to the
forecaster (predict, then its stream) to < 1e-5 x max(1, |y|) over 1,000 pushes; every member (seeds, snapshots) in
one file pair and their median, as predict takes it; strings escaped."""

import ctypes

import numpy as np
import pytest

from gatedrnn.cli import main
from gatedrnn.deploy.c99_esrnn import check_esrnn_c, export_esrnn_c
from gatedrnn.deploy.c99_esrnn_members import continuation
from gatedrnn.deploy.c99_run import compile_c, find_cc
from gatedrnn.forecast import Forecaster

needs_cc = pytest.mark.skipif(find_cc() is None, reason="no C compiler")


def panel(n=3, T=72, m=6, shift=0.0):
    rng = np.random.default_rng(0)
    t = np.arange(T)
    return [np.exp(rng.normal(size=T) * 0.05) * (10 + 3 * np.sin(2 * np.pi * t / m) + i) + shift for i in range(n)]


CASES = {
    "two seasons, lstm": dict(season=6, season2=12, cell="lstm", ys=panel()),
    "additive, no season, gru": dict(season=None, cell="gru", seasonality="additive", ys=panel(shift=-11.0)),
}


@needs_cc
@pytest.mark.parametrize("case", list(CASES))
def test_c_equals_the_forecaster_over_1000_pushes(case, tmp_path):
    kw = dict(CASES[case])
    ys = kw.pop("ys")
    f = Forecaster(model="esrnn", horizon=4, hidden_size=6, max_steps=8, batch_size=3, **kw).fit(ys)
    export_esrnn_c(f, tmp_path, prefix="hw", origin='a "quoted" */ path')
    assert check_esrnn_c(f, tmp_path, "hw")["max_diff"] < 1e-5
    lib = ctypes.CDLL(str(compile_c([tmp_path / "hw.c"], tmp_path / "libhw2.so")))
    state = ctypes.create_string_buffer(lib.hw_state_bytes())
    push = lib.hw_push
    push.argtypes = [ctypes.c_void_p, ctypes.c_double]
    assert lib.hw_init(state, 2) == 0 and lib.hw_init(state, 3) == -1
    lib.hw_init(state, 2)
    for v in f.panel.values[2]:
        assert push(state, float(v)) == 0
    out = np.empty(4 * 5)
    assert lib.hw_forecast(state, out.ctypes.data_as(ctypes.c_void_p)) == 0
    want = f.final_forecast()[2].reshape(-1)                     # predict's quantiles of series 2
    assert np.max(np.abs(out - want) / np.maximum(1.0, np.abs(want))) < 1e-5
    assert push(state, float("nan")) == -1
    if f.seasonality == "multiplicative":
        assert push(state, 0.0) == -1


def _run_c(folder, prefix, series, values):
    """The compiled export in ``folder`` after ``values`` pushed into ``series``: its forecast (horizon x Q, flat)."""
    lib = ctypes.CDLL(str(compile_c([folder / f"{prefix}.c"], folder / f"lib{prefix}_run.so")))
    state = ctypes.create_string_buffer(getattr(lib, f"{prefix}_state_bytes")())
    push = getattr(lib, f"{prefix}_push")
    push.argtypes = [ctypes.c_void_p, ctypes.c_double]
    assert getattr(lib, f"{prefix}_init")(state, series) == 0
    assert all(push(state, float(v)) == 0 for v in values)
    out = np.empty(4 * 5)                                            # horizon 4 x 5 quantiles
    assert getattr(lib, f"{prefix}_forecast")(state, out.ctypes.data_as(ctypes.c_void_p)) == 0
    return out


def _close(got, want):
    return np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want))) < 1e-5


@needs_cc
def test_three_members_in_one_file_pair_equal_predict_over_1000_pushes(tmp_path):
    f = Forecaster(model="esrnn", horizon=4, season=6, season2=12, hidden_size=6, max_steps=8, batch_size=3,
                   n_models=3).fit(panel())
    assert len(f.models) == 3
    one = [f.forecast_values([f.panel.values[1]], [1], [m])[0] for m in f.models]
    assert not np.allclose(one[0], one[1], rtol=1e-3)                # the members differ: the median matters
    export_esrnn_c(f, tmp_path, prefix="ens")
    assert "#define ENS_MEMBERS 3" in (tmp_path / "ens.h").read_text()
    assert check_esrnn_c(f, tmp_path, "ens")["max_diff"] < 1e-5      # series 0: the members' steps, their median
    span = f.panel.values[1]
    assert _close(_run_c(tmp_path, "ens", 1, span), f.final_forecast()[1].reshape(-1))      # predict's quantiles
    more = continuation(span, 1000, seed=1)
    got = _run_c(tmp_path, "ens", 1, np.concatenate([span, more]))
    ys = [f.panel.values[0], np.concatenate([span, more]), f.panel.values[2]]
    want = f.forecast_after(ys, [v.size for v in ys], 4)[1]          # predict on the history grown by 1,000 values
    assert _close(got, want.reshape(-1))


def test_the_cli_exports_seeds_and_snapshots(tmp_path, capsys):
    f = Forecaster(model="esrnn", horizon=4, season=6, hidden_size=4, max_steps=6, n_models=2, snapshots=2,
                   batch_size=3, seasonality="additive").fit(panel(shift=-11.0))
    assert len(f.models) == 4                                      # an even count: the two middle ones' mean
    f.save(tmp_path / "g")
    assert main(["export", str(tmp_path / "g"), "--c", str(tmp_path / "c")]) == 0
    assert "#define MODEL_MEMBERS 4" in (tmp_path / "c" / "model.h").read_text()
    said = capsys.readouterr().out
    if find_cc() is not None:
        diff = float(said.split("max difference ")[1].split(" ")[0])
        assert diff < 1e-5, said
        assert _close(_run_c(tmp_path / "c", "model", 2, f.panel.values[2]), f.final_forecast()[2].reshape(-1))
    assert main(["export", str(tmp_path / "g"), "--c", str(tmp_path / "c8"), "--int8"]) == 2     # float32 only
