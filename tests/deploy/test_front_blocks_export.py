"""The exports of stacked conv blocks (issue 24: ``conv_layers`` 2 and 3, LayerNorm, residual): the C99 step on raw
samples equal to ``Stream`` (and the classifier's forward) over long inputs with each block's own k-1 buffer in the
state (constant memory), float32 and int8; the ONNX graph's logits after every frame equal to the stream's."""

import numpy as np
import pytest

from gatedrnn.deploy.c99 import write_sources
from gatedrnn.deploy.c99_front import front_sources
from gatedrnn.deploy.c99_front_run import FrontCModel, build_front, compare, raw_inputs, reference
from gatedrnn.deploy.c99_run import find_cc
from gatedrnn.models.classifier import SequenceClassifier

needs_cc = pytest.mark.skipif(find_cc() is None, reason="no C compiler (cc, gcc or clang) on this machine")
STEPS = 6000
STACKS = {"two": dict(conv=4, conv_kernel=3, conv_layers=2),
          "three": dict(norm="running", conv=3, conv_kernel=5, conv_layers=3, conv_norm="layer", conv_residual=True,
                        frame=4)}
SCALE = ([1.0, -2.0], [2.0, 0.5])


def _model(opts, pooling="mean", cell="gru", seed=3):
    m = SequenceClassifier(2, 8, 3, cell=cell, pooling=pooling, seed=seed, **opts).eval()
    for b in m.front.blocks:                 # LayerNorm away from its identity start: a real check of the C text
        if b.norm is not None:
            b.norm.weight[...] = np.linspace(0.5, 1.5, b.channels)
            b.norm.bias[...] = np.linspace(-0.3, 0.3, b.channels)
    return m


@needs_cc
@pytest.mark.parametrize("stack", list(STACKS))
def test_c_step_of_stacked_blocks_equals_stream_and_forward(stack, tmp_path):
    models = {f"{pooling}{int(int8)}": (_model(STACKS[stack], pooling, "lstm" if int8 else "gru"), int8,
                                       None if pooling == "mean" else SCALE)
              for pooling in ("last", "mean", "max") for int8 in (False, True)}
    for name, (m, int8, st) in models.items():
        header, source = front_sources(m, prefix=name, int8=int8, standardize=st, labels=["a", "b", "c"])
        write_sources(tmp_path, name, header, source)
        L, k = len(m.front.blocks), m.front.conv.k
        for i in range(L):                   # each block keeps its own k-1 inputs in the state, nothing grows
            assert f"float buf{i or ''}[{k - 1}][{m.front.channels}];" in header
    lib = build_front(tmp_path, list(models))
    for name, (m, int8, st) in models.items():
        xs = raw_inputs(m, STEPS, st, seed=1)
        c = FrontCModel(lib, tmp_path, name)
        ys, flags = c.run(xs)
        assert compare(m, ys, flags, reference(m, xs, int8=int8, standardize=st)) < 1e-5, name
        if not int8:
            z = xs if st is None else (xs - np.array(st[0])) / np.array(st[1])
            want, _ = m.forward(z[None].astype(np.float32))
            assert np.abs(ys[flags == 1][-1] - want[0]).max() < 1e-5, name
        before = c.state_bytes
        c.run(xs)                            # twice as many samples: the same state
        assert c.state_bytes == before


def test_onnx_of_stacked_blocks_equals_stream_after_every_frame():
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from gatedrnn.deploy.onnx import max_abs_diff, run_onnx
    from gatedrnn.deploy.onnx_front import build_front_onnx
    from gatedrnn.models.stream import Stream

    for opts, pooling in zip(STACKS.values(), ("mean", "max")):
        m = _model(opts, pooling, "lstm", seed=1)
        proto = build_front_onnx(m)
        x = np.random.default_rng(0).standard_normal((2, 1200, 2)).astype(np.float32)
        out = run_onnx(proto, x)[0]
        k = m.front.frame_size
        for b in range(2):
            ref = Stream(m).run(x[b])[k - 1::k][: 1200 // k]
            assert np.abs(out[b] - ref).max() < 1e-5
        assert max_abs_diff(m, proto, x) < 2e-5      # with the LSTM's memory cells (|c| > 1): float32 round-off
