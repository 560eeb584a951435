"""deploy/onnx.py: the exported graph (ONNX's own LSTM/GRU/RNN operators) matches gatedrnn in onnxruntime."""

import sys

import numpy as np
import pytest

from gatedrnn import CELLS, LSTM
from gatedrnn.models import LanguageModel, SequenceRegressor

onnx = pytest.importorskip("onnx", reason="ONNX export needs the onnx extra: pip install 'gatedrnn[onnx]'")


def ort():
    return pytest.importorskip("onnxruntime", reason="running the export needs onnxruntime (the onnx extra)")


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("many_to_one", [False, True])
def test_regressor_matches_onnxruntime(cell, many_to_one, rng):
    ort()
    from gatedrnn.deploy.onnx import build_onnx, max_abs_diff

    model = SequenceRegressor(3, 24, 2, num_layers=2, cell=cell, many_to_one=many_to_one, seed=1)
    proto = build_onnx(model)
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count({"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}[cell]) == 2
    if cell == "gru":
        attrs = {a.name: a.i for n in proto.graph.node if n.op_type == "GRU" for a in n.attribute}
        assert attrs["linear_before_reset"] == 1
    for B, T in ((1, 1), (4, 37)):                 # batch and sequence length are symbolic
        x = rng.standard_normal((B, T, 3)).astype(np.float32)
        assert max_abs_diff(model, proto, x) < 1e-4


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_start_state_inputs(cell, rng):
    ort()
    from gatedrnn.deploy.onnx import build_onnx, max_abs_diff

    model = SequenceRegressor(2, 16, 1, num_layers=2, cell=cell, seed=0)
    h = (0.5 * rng.standard_normal((2, 3, 16))).astype(np.float32)
    state = (h, -h) if cell == "lstm" else h
    x = rng.standard_normal((3, 10, 2)).astype(np.float32)
    assert max_abs_diff(model, build_onnx(model, with_state=True), x, state) < 1e-4


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("tie", [False, True])
def test_language_model_gathers_from_the_embedding(cell, tie, rng):
    ort()
    from gatedrnn.deploy.onnx import build_onnx, max_abs_diff

    lm = LanguageModel(60, 20, 20, 2, cell=cell, tie_weights=tie, dropout=0.5, seed=0)
    proto = build_onnx(lm)
    assert proto.graph.node[0].op_type == "Gather"
    ids = rng.integers(0, 60, size=(2, 30))
    assert max_abs_diff(lm, proto, ids) < 1e-4


def test_export_writes_a_checked_file(tmp_path, rng):
    from gatedrnn.deploy.onnx import export_onnx, max_abs_diff

    stack = LSTM(4, 8, 1, seed=0)
    path = export_onnx(stack, tmp_path / "sub" / "m.onnx")
    assert path.is_file() and [p.name for p in path.parent.iterdir()] == ["m.onnx"]   # no temp file left
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    ort()
    x = rng.standard_normal((2, 5, 4)).astype(np.float32)
    assert max_abs_diff(stack, path, x) < 1e-4


def test_missing_onnx_is_a_clear_message(monkeypatch):
    from gatedrnn.deploy import onnx as exporter
    from gatedrnn.errors import MissingDependency

    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(MissingDependency, match=r'pip install -e "\.\[onnx\]"'):
        exporter.build_onnx(LSTM(2, 3, seed=0))
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(MissingDependency, match=r'running an ONNX model needs onnxruntime.*pip install -e "\.\[onnx\]"'):
        exporter.run_onnx("m.onnx", np.zeros((1, 1, 2), dtype=np.float32))


@pytest.mark.parametrize("name", sorted(CELLS))
def test_operator_and_gate_order_come_from_the_deploy_table(name):
    from gatedrnn.deploy.cells import onnx_cell
    from gatedrnn.deploy.onnx import build_onnx

    stack = CELLS[name](2, 3, 1, seed=0)
    cls = stack.layer_class
    spec = onnx_cell(cls)
    proto = build_onnx(stack)
    (op,) = [n for n in proto.graph.node if n.op_type == spec.op]
    attrs = {a.name: a.i for a in op.attribute}
    if spec.nodes is None:  # (a cell that writes its own nodes: test_min_cells.py)
        assert attrs == {"hidden_size": 3, **spec.attrs}
        assert sorted(spec.gate_order) == list(range(cls.gates))
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["gatedrnn.cell"] == name
    assert [o.name for o in proto.graph.output] == ["output", "h_n"] + (["c_n"] if cls.has_cell else [])
