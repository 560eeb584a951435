"""deploy/onnx.py on an input of zero steps: every plain graph (a bare stack, a regressor step by step or many to one,
a classifier with last pooling, a language model; every cell; with and without a start state) gives its per-step
outputs with zero steps and the start state, instead of aborting onnxruntime (its GRU over zero steps: "terminate
called without an active exception"), failing (the Scan of the min and fast cells) or giving the zero state where
the start state was fed (its LSTM and RNN). So does a block language model's graph (deploy/onnx_block.py: its Conv
failed). One to three steps still equal the NumPy forward."""

import json
import os
import subprocess
import sys

import pytest

from gatedrnn import CELLS

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

CHILD = r"""
import json, sys
import numpy as np
from gatedrnn import CELLS
from gatedrnn.backend import to_numpy
from gatedrnn.deploy.onnx import build_onnx, max_abs_diff, run_onnx
from gatedrnn.deploy.onnx_block import build_block_onnx
from gatedrnn.models import BlockLM, LanguageModel, SequenceRegressor
from gatedrnn.models.classifier import SequenceClassifier

B, D, H, OUT, VOCAB = 2, 3, 4, 2, 7
KINDS = {"stack": lambda c: CELLS[c](D, H, 2, seed=1), "steps": lambda c: SequenceRegressor(D, H, OUT, num_layers=2,
         cell=c, seed=1), "to_one": lambda c: SequenceRegressor(D, H, OUT, num_layers=2, cell=c, many_to_one=True,
         seed=1), "classifier": lambda c: SequenceClassifier(D, H, OUT, num_layers=2, cell=c, seed=1),
         "lm": lambda c: LanguageModel(VOCAB, D, H, 2, cell=c, seed=1),
         "block1": lambda c: BlockLM(VOCAB, 4, 2, cell=c, conv_kernel=1, ff_mult=2, seed=1),
         "block3": lambda c: BlockLM(VOCAB, 4, 2, cell=c, conv_kernel=3, ff_mult=2, seed=1)}


def inputs(kind, n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, VOCAB, (B, n)) if kind in ("lm", "block1", "block3") else rng.standard_normal((B, n, D)).astype(np.float32)


def start(model, cell, with_state):
    if isinstance(model, BlockLM):   # its h_n and (a conv of k > 1 taps) the conv's last k - 1 inputs
        st = model.blocks
        return None, [np.zeros((2, B, st.hidden_size), np.float32)] + [np.zeros((2, B, st.k - 1, st.d_model),
                                                                                np.float32)] * (st.k > 1)
    if not with_state:
        return None, [np.zeros((2, B, H), np.float32)] * (2 if cell == "lstm" else 1)
    h = (0.5 * np.random.default_rng(9).standard_normal((2, B, H))).astype(np.float32)
    return ((h, -h) if cell == "lstm" else h), ([h, -h] if cell == "lstm" else [h])


def expected_output(model, kind, state):
    if kind != "to_one":
        return [B, 0, OUT if kind in ("steps", "classifier") else H if kind == "stack" else VOCAB]
    return (state[0][-1] @ to_numpy(model.head.W).T + to_numpy(model.head.b)).tolist()   # the head of the start state


def case(cell, kind, with_state):
    model = KINDS[kind](cell).eval()
    proto = build_block_onnx(model) if isinstance(model, BlockLM) else build_onnx(model, with_state=with_state)
    feed, state = start(model, cell, with_state)
    out = run_onnx(proto, inputs(kind, 0, 0), feed)
    want = expected_output(model, kind, state)
    got = list(out[0].shape) if kind != "to_one" else out[0].tolist()
    ok_out = got == want if kind != "to_one" else bool(np.allclose(got, want, atol=1e-6))
    ok_state = len(out) == 1 + len(state) and all(np.array_equal(o, s) for o, s in zip(out[1:], state))
    diff = max(max_abs_diff(model, proto, inputs(kind, n, n), feed) for n in (1, 2, 3))
    return {"output": [got, want] if not ok_out else "ok", "state": "ok" if ok_state else [o.tolist() for o in out[1:]],
            "diff": diff}


report = {}
for cell, kind, with_state in json.loads(sys.argv[1]):
    try:
        report[f"{cell} {kind} {with_state}"] = case(cell, kind, with_state)
    except Exception as e:   # one line per case in the report; an abort ends the child with no report
        report[f"{cell} {kind} {with_state}"] = {"error": f"{type(e).__name__}: {str(e)[:300]}"}
print(json.dumps(report))
"""
CASES = [[c, k, False] for c in sorted(CELLS) for k in ("stack", "steps", "to_one", "classifier", "lm")]
CASES += [[c, k, True] for c in sorted(CELLS) for k in ("stack", "to_one")]
CASES += [[c, k, False] for c in ("mingru", "minlstm") for k in ("block1", "block3")]


def test_zero_steps_give_no_outputs_and_the_start_state_for_every_plain_graph():
    """Zero steps: per-step outputs of shape (batch, 0, ...), the start state (zeros, or h_0/c_0 when the graph takes
    them) as h_n/c_n, and for a many-to-one regressor the head of the start state's top layer (the NumPy forward
    has no last step there and refuses). Run in a child process: an abort kills the child, not pytest."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    run = subprocess.run([sys.executable, "-c", CHILD, json.dumps(CASES)], capture_output=True, text=True,
                         timeout=300, env=env)
    assert run.returncode == 0, f"the child ended with {run.returncode}: {run.stderr[-2000:]}"
    report = json.loads(run.stdout)
    assert len(report) == len(CASES)
    bad = {name: r for name, r in report.items() if "error" in r or r["output"] != "ok" or r["state"] != "ok"}
    assert not bad, bad
    assert all(r["diff"] < 1e-4 for r in report.values()), report


def test_the_guard_is_one_pad_and_a_where_per_state_and_can_be_left_out():
    """The guard's nodes (deploy/onnx_empty.py): one Pad of the input, one Where per layer's h_n (and c_n), one Slice
    of the top layer's outputs; ``zero_steps=False`` (a caller that always feeds one step or more) leaves them out."""
    from gatedrnn.deploy.onnx import build_onnx
    from gatedrnn.models import SequenceRegressor

    for cell, states in (("lstm", 2), ("gru", 1), ("mingru", 1)):
        model = SequenceRegressor(2, 3, 1, num_layers=2, cell=cell, seed=0)
        ops = [n.op_type for n in build_onnx(model).graph.node]
        bare = [n.op_type for n in build_onnx(model, zero_steps=False).graph.node]
        added = {op: ops.count(op) - bare.count(op) for op in set(ops)}
        assert {op: n for op, n in added.items() if n} == {"Shape": 1, "Less": 1, "Cast": 1, "Concat": 1, "Pad": 1,
                                                           "Where": 2 * states, "Slice": 1}, cell
        assert not {"Pad", "Where", "Less"} & set(bare)
