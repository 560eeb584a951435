"""Cells describe themselves: the registry, each cell's one-step update against its batch forward, its
forget-gate bias, and no cell named in deploy/ or cli/. Every test runs over ``CELLS``, so a new cell is
checked by adding its file."""

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gatedrnn
from gatedrnn.errors import UserError
from gatedrnn.layers import CELLS, make_recurrent
from gatedrnn.layers.recurrent import RecurrentLayer, RecurrentStack

SRC = Path(gatedrnn.__file__).resolve().parent


def test_the_registry_names_every_cell():
    assert sorted(CELLS) == ["fastgrnn", "fastrnn", "gru", "lstm", "mingru", "minlstm", "rnn"]
    assert gatedrnn.CELLS is CELLS and "CELLS" in gatedrnn.__all__
    for name, stack in CELLS.items():
        assert issubclass(stack, RecurrentStack) and issubclass(stack.layer_class, RecurrentLayer)
        assert stack.name == stack.layer_class.name == name


def test_the_registry_from_a_fresh_interpreter():
    out = subprocess.run([sys.executable, "-c", "import gatedrnn; print(sorted(gatedrnn.CELLS))"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['fastgrnn', 'fastrnn', 'gru', 'lstm', 'mingru', 'minlstm', 'rnn']"


def _step_by_step(layer, x, h0, c0):
    """Run the layer's one-step update over x (B, T, D) as Stream does: one matmul on [x, h, 1] per step."""
    B, T, D = x.shape
    H = layer.hidden_size
    W = layer.step_weights()
    assert W.dtype == np.float64 and W.shape == (D + H + 1, layer.step_width * H)
    row = np.zeros((B, D + H + 1))
    row[:, -1] = 1.0
    h = row[:, D:D + H]
    h[...] = h0
    c = None if c0 is None else c0.copy()
    g, tmp = np.empty((B, W.shape[1])), np.empty((B, H))
    out = np.empty((B, T, H))
    for t in range(T):
        row[:, :D] = x[:, t]
        np.matmul(row, W, out=g)
        layer.step_update(g, h, c, tmp)
        out[:, t] = h
    return out, h.copy(), c


@pytest.mark.parametrize("name", sorted(CELLS))
@pytest.mark.parametrize("with_state", [False, True])
def test_one_step_update_equals_the_batch_forward(name, with_state, rng):
    B, T, D, H = 3, 40, 5, 7
    stack = CELLS[name](D, H, 1, dtype=np.float64, seed=4)
    layer = stack.layers[0]
    for p in layer.params:                          # weights large enough that every gate matters
        p[...] = rng.standard_normal(p.shape) * 0.6
    x = rng.standard_normal((B, T, D))
    h0 = rng.standard_normal((B, H)) if with_state else np.zeros((B, H))
    c0 = (rng.standard_normal((B, H)) if with_state else np.zeros((B, H))) if layer.has_cell else None
    state = None
    if with_state:
        state = (h0[None], c0[None]) if layer.has_cell else h0[None]
    y, final = stack.forward(x, state)
    out, hT, cT = _step_by_step(layer, x, h0, c0)
    assert np.abs(out - y).max() < 1e-12
    if layer.has_cell:
        assert np.abs(hT - final[0][0]).max() < 1e-12 and np.abs(cT - final[1][0]).max() < 1e-12
    else:
        assert np.abs(hT - final[0]).max() < 1e-12


@pytest.mark.parametrize("name", sorted(CELLS))
def test_set_forget_bias_touches_only_a_forget_gate(name):
    stack = make_recurrent(name, 3, 4, 2, forget_bias=2.5, dtype=np.float64, seed=0)
    for layer in stack.layers:
        before = [p.copy() for p in layer.params]
        H, k = layer.hidden_size, layer.forget_gate
        if k is None:
            layer.set_forget_bias(-1.0)
            assert all(np.array_equal(a, b) for a, b in zip(before, layer.params))
            continue
        b_ih, b_hh = layer.b_ih.copy(), layer.b_hh.copy()   # b_hh is empty for the min cells (no recurrent weights)
        layer.set_forget_bias(-1.0)
        assert np.all(b_ih[k * H:(k + 1) * H] == 2.5) and np.all(b_hh[k * H:(k + 1) * H] == 0.0)
        assert np.all(layer.b_ih[k * H:(k + 1) * H] == -1.0) and np.all(layer.b_hh[k * H:(k + 1) * H] == 0.0)
        rest = np.r_[0:k * H, (k + 1) * H:layer.gates * H]
        assert np.array_equal(layer.b_ih[rest], b_ih[rest])
        assert np.array_equal(layer.b_hh[rest[rest < b_hh.size]], b_hh[rest[rest < b_hh.size]])
    with pytest.raises(UserError, match="forget_bias: expected a finite number"):
        stack.layers[0].set_forget_bias(float("nan"))


def test_make_recurrent_refuses_an_unknown_cell():
    with pytest.raises(UserError, match="cell: expected one of 'fastgrnn', 'fastrnn', 'gru', 'lstm', 'mingru', "
                                        "'minlstm', 'rnn', got 'mgu'"):
        make_recurrent("mgu", 2, 3)


def _string_constants(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node


@pytest.mark.parametrize("room", ["deploy", "cli"])
def test_no_cell_name_in_deploy_or_cli(room):
    names = set(CELLS) | {n.upper() for n in CELLS}
    emitters = SRC / "deploy" / "cells"      # the cells' C and ONNX, one module per cell (test_emitters_in_deploy.py)
    found = [f"{path.relative_to(SRC)}:{node.lineno} {node.value!r}"
             for path in sorted((SRC / room).rglob("*.py")) if not path.is_relative_to(emitters)
             for node in _string_constants(path)
             if node.value.strip().lower() in names or node.value in names]
    assert not found, found
