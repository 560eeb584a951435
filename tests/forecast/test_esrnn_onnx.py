"""gatedrnn export --onnx of a Forecaster(model="esrnn"): a step graph (the new value, the series and its state in ->
the next horizon's quantiles and the new state out) that onnxruntime runs equal to the forecaster's predict and its
stream, every member (seeds, snapshots) in the graph and their median taken as predict takes it."""

import json

import numpy as np
import pytest

from gatedrnn.cli import main
from gatedrnn.deploy.c99_esrnn_members import continuation
from gatedrnn.forecast import Forecaster

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from gatedrnn.deploy.onnx_esrnn import OnnxStep, build_esrnn_onnx, state_layout  # noqa: E402  (needs onnx)


def panel(n=3, T=72, m=6, shift=0.0):
    rng = np.random.default_rng(0)
    t = np.arange(T)
    return [np.exp(rng.normal(size=T) * 0.05) * (10 + 3 * np.sin(2 * np.pi * t / m) + i) + shift for i in range(n)]


def close(got, want):
    return np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want))) < 1e-5


def test_the_step_graph_equals_predict_and_the_stream():
    f = Forecaster(model="esrnn", horizon=4, season=6, season2=12, hidden_size=6, max_steps=8, batch_size=3,
                   n_models=3).fit(panel())
    proto = build_esrnn_onnx(f)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["state_layout"])[0] == ["t", 0, 1] and meta["n_models"] == "3"
    step = OnnxStep(proto)
    assert step.state_size == sum(n for _, _, n in state_layout(f))
    Y, state = np.stack(f.panel.values), step.start(3)
    for t in range(Y.shape[1]):                                   # the three series side by side, from zeros
        q, state, ok = step.push(Y[:, t], [0, 1, 2], state)
        assert ok.all() and np.isnan(q).all() == (t < f.window - 1)
    assert close(q, f.final_forecast())                           # predict's quantiles of every series
    s, row = f.stream(), state[1:2]
    mid = sorted(f.quantiles).index(0.5)
    for v in continuation(Y[1], 300, seed=3):
        said = s.push(float(v), s.ids[1])
        q, row, _ = step.push([v], [1], row)
        assert close(q[0], s.forecast(1)) and close(q[0][:, mid], said["y_hat"])
    q, same, ok = step.push([np.nan, 0.0, -1.0, np.inf], [1, 1, 1, 1], np.repeat(row, 4, axis=0))   # refused
    assert not ok.any() and np.isnan(q).all() and (same == row).all()


def test_the_cli_exports_seeds_and_snapshots_as_onnx(tmp_path, capsys):
    f = Forecaster(model="esrnn", horizon=3, season=6, hidden_size=4, max_steps=6, n_models=2, snapshots=2,
                   batch_size=3, cell="gru", seasonality="additive").fit(panel(shift=-11.0))
    assert len(f.models) == 4                                      # an even count: the two middle ones' mean
    f.save(tmp_path / "g")
    assert main(["export", str(tmp_path / "g"), "--onnx", str(tmp_path / "g.onnx")]) == 0
    said = capsys.readouterr().out
    assert float(said.split("max difference ")[1].split(" ")[0]) < 1e-5, said
    step = OnnxStep(tmp_path / "g.onnx")
    state = step.start(1)
    for v in f.panel.values[2]:
        q, state, _ = step.push([v], [2], state)
    assert close(q[0], f.final_forecast()[2])
    q, same, ok = step.push([np.nan, -5.0], [2, 2], np.repeat(state, 2, axis=0))      # additive: -5 is a value
    assert ok.tolist() == [False, True] and (same[0] == state[0]).all() and np.isfinite(q[1]).all()
