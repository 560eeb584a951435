"""gatedrnn export --c of a Forecaster(model="esrnn"): C99 compiled with -Werror, push/forecast equal to the
forecaster (predict, then its stream) to < 1e-5 x max(1, |y|) over 1,000 pushes; one member only; strings escaped."""

import ctypes

import numpy as np
import pytest

from gatedrnn.cli import main
from gatedrnn.deploy.c99_esrnn import check_esrnn_c, esrnn_c_sources, export_esrnn_c
from gatedrnn.deploy.c99_run import compile_c, find_cc
from gatedrnn.errors import UserError
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


def test_one_member_only_and_the_cli(tmp_path):
    f = Forecaster(model="esrnn", horizon=3, season=6, hidden_size=4, max_steps=3, n_models=2, batch_size=3)
    f.fit(panel())
    with pytest.raises(UserError, match="of one member, got 2"):
        esrnn_c_sources(f)
    g = Forecaster(model="esrnn", horizon=3, season=6, hidden_size=4, max_steps=3, batch_size=3).fit(panel())
    g.save(tmp_path / "g")
    assert main(["export", str(tmp_path / "g"), "--c", str(tmp_path / "c")]) == 0
    assert (tmp_path / "c" / "model.c").is_file()
    assert main(["export", str(tmp_path / "g"), "--onnx", str(tmp_path / "g.onnx")]) == 2
