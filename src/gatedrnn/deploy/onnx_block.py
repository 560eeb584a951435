"""A ``BlockLM`` (``--arch block``) as an ONNX graph (opset 17, ``onnx.helper``; issue 22): ``build_block_onnx(model)``.

    input (batch, seq) int64 token ids -> Gather(embedding)
      per block:  LayerNormalization (or RMSNorm as ReduceMean/Sqrt/Mul) -> Pad k-1 zeros in front -> Conv (depthwise,
                  group d: the causal conv) -> the min cell's own full-sequence nodes (``deploy/onnx_min.py``: the
                  pre-activations, the gate math and a ``Scan``) -> MatMul + bias (projection) -> residual Add
                  -> norm -> MatMul + bias -> GELU (tanh form, as nodes) or SiLU -> MatMul + bias -> residual Add
      -> norm -> MatMul + bias -> output (batch, seq, vocab) logits
    outputs also h_n (layers, batch, E d) and buffer (layers, batch, k-1, d): the state ``BlockLM.forward`` returns
    (each block's last hidden vector and its conv's last k-1 inputs), from the zero state.

All of it after the input runs in the else branch of an ``If`` on ``seq < 1``: an input of zero steps gives logits of
shape (batch, 0, vocab) and the zero state (h_n and buffer: the conv's last k-1 inputs are then its zero padding),
where the Conv and the Scan over zero steps would fail; on one step or more the outputs are what they were before.

``max_abs_diff`` of ``deploy/onnx.py`` compares all three with ``BlockLM.forward``.
"""

from __future__ import annotations

import numpy

from gatedrnn.backend import to_numpy
from gatedrnn.deploy.cells import own_nodes
from gatedrnn.deploy.onnx import _Graph, _require_onnx, checked_model
from gatedrnn.errors import UserError

F32 = numpy.float32


def _norm(g: _Graph, layer, x: str, tag: str) -> str:
    w = g.const(f"{tag}.weight", to_numpy(layer.weight).astype(F32))
    bias = getattr(layer, "bias", None)
    if bias is not None:
        return g.node("LayerNormalization", [x, w, g.const(f"{tag}.bias", to_numpy(bias).astype(F32))], [f"{tag}_y"],
                      axis=-1, epsilon=float(layer.eps))
    ms = g.node("ReduceMean", [g.node("Mul", [x, x], [f"{tag}_sq"])], [f"{tag}_ms"], axes=[-1], keepdims=1)
    r = g.node("Reciprocal", [g.node("Sqrt", [g.node("Add", [ms, g.const(f"{tag}.eps", F32(layer.eps))],
                                                     [f"{tag}_mse"])], [f"{tag}_rms"])], [f"{tag}_r"])
    return g.node("Mul", [g.node("Mul", [x, r], [f"{tag}_xr"]), w], [f"{tag}_y"])


def _linear(g: _Graph, layer, x: str, tag: str) -> str:
    y = g.node("MatMul", [x, g.const(f"{tag}.weight_t", to_numpy(layer.W).astype(F32).T)], [f"{tag}_mm"])
    if layer.b is None:
        return y
    return g.node("Add", [y, g.const(f"{tag}.bias", to_numpy(layer.b).astype(F32))], [f"{tag}_y"])


def _act(g: _Graph, act, x: str, tag: str) -> str:
    name = type(act).__name__
    if name == "SiLU":
        return g.node("Mul", [x, g.node("Sigmoid", [x], [f"{tag}_sig"])], [f"{tag}_y"])
    if name != "GELU":
        raise UserError(f"ONNX export of a block model: expected GELU or SiLU feed-forward blocks, got {name}")
    c = [g.const(f"{tag}_c{i}", F32(v)) for i, v in enumerate((0.044715, 0.7978845608028654, 1.0, 0.5))]
    cube = g.node("Mul", [g.node("Mul", [x, x], [f"{tag}_x2"]), x], [f"{tag}_x3"])
    inner = g.node("Add", [x, g.node("Mul", [cube, c[0]], [f"{tag}_k3"])], [f"{tag}_in"])
    t = g.node("Tanh", [g.node("Mul", [inner, c[1]], [f"{tag}_sc"])], [f"{tag}_t"])
    half = g.node("Mul", [g.node("Add", [t, c[2]], [f"{tag}_1t"]), c[3]], [f"{tag}_h"])
    return g.node("Mul", [x, half], [f"{tag}_y"])


def _conv(g: _Graph, conv, u: str, k: int, tag: str) -> tuple[str, str | None]:
    """The causal depthwise conv over (batch, seq, d) -> (its output (batch, seq, d), the last k-1 inputs (batch,
    k-1, d) or None for k = 1)."""
    d = conv.weight.shape[0]
    ut = g.node("Transpose", [u], [f"{tag}_ut"], perm=[0, 2, 1])
    pads = g.const(f"{tag}_pads", numpy.array([0, 0, k - 1, 0, 0, 0], dtype=numpy.int64))
    padded = g.node("Pad", [ut, pads], [f"{tag}_pad"], mode="constant")
    y = g.node("Conv", [padded, g.const(f"{tag}.weight", to_numpy(conv.weight).astype(F32)),
                        g.const(f"{tag}.bias", to_numpy(conv.bias).astype(F32))], [f"{tag}_conv"], group=d,
               kernel_shape=[k])
    out = g.node("Transpose", [y], [f"{tag}_y"], perm=[0, 2, 1])
    if k == 1:
        return out, None
    last = g.node("Slice", [padded, g.const(f"{tag}_s0", numpy.array([-(k - 1)], dtype=numpy.int64)),
                            g.const(f"{tag}_s1", numpy.array([2 ** 62], dtype=numpy.int64)),
                            g.const(f"{tag}_s2", numpy.array([2], dtype=numpy.int64))], [f"{tag}_last"])
    buf = g.node("Transpose", [last], [f"{tag}_buf"], perm=[0, 2, 1])
    return out, g.node("Unsqueeze", [buf, g.const(f"{tag}_ax0", numpy.array([0], dtype=numpy.int64))],
                       [f"{tag}_buf1"])


def _block(g: _Graph, block, x: str, k: int, i: int) -> tuple[str, str, str | None]:
    """Block i over (batch, seq, d) -> (its output, h_n (1, batch, H), buffer (1, batch, k-1, d) or None)."""
    tag = f"blocks.{i}"
    u, buf = _conv(g, block.conv, _norm(g, block.norm, x, f"{tag}.norm"), k, f"{tag}.conv")
    seq = g.node("Transpose", [u], [f"{tag}_seq"], perm=[1, 0, 2])
    r, h_n = own_nodes(block.rnn.layers[0], g, seq, None, f"b{i}")
    r = g.node("Transpose", [r], [f"{tag}_r"], perm=[1, 0, 2])
    x = g.node("Add", [x, _linear(g, block.proj, r, f"{tag}.proj")], [f"{tag}_res1"])
    ff = block.ff
    a = _act(g, ff.act, _linear(g, ff.fc1, _norm(g, ff.norm, x, f"{tag}.ff.norm"), f"{tag}.ff.fc1"), f"{tag}.act")
    return g.node("Add", [x, _linear(g, ff.fc2, a, f"{tag}.ff.fc2")], [f"{tag}_out"]), h_n, buf


def _network(g: _Graph, model) -> list[str]:
    """The embedding, the blocks and the head -> the names of the logits, h_n and (k > 1) the conv buffers."""
    st = model.blocks
    x = g.node("Gather", [g.const("embed.weight", to_numpy(model.embed.W).astype(F32)), "input"], ["embedded"], axis=0)
    hs, bufs = [], []
    for i, block in enumerate(st.blocks):
        x, h_n, buf = _block(g, block, x, st.k, i)
        hs.append(h_n)
        bufs.append(buf)
    y = _linear(g, model.out, _norm(g, st.norm, x, "norm"), "out")
    outs = [g.node("Identity", [y], ["steps_output"]), g.node("Concat", hs, ["steps_h_n"], axis=0)]
    return outs + ([g.node("Concat", bufs, ["steps_buffer"], axis=0)] if st.k > 1 else [])


def _no_steps(g: _Graph, batch: str, shapes: list[list]):
    """The then branch on zero steps: zeros of each of ``shapes`` (ints, and "batch" for the input's batch size)."""
    helper, i64 = g.helper, numpy.int64
    nodes, names = [], []
    for j, shape in enumerate(shapes):
        dims = [batch if d == "batch" else g.const(f"none_{j}_{n}", numpy.array([d], dtype=i64))
                for n, d in enumerate(shape)]
        nodes += [helper.make_node("Concat", dims, [f"none_shape{j}"], axis=0),
                  helper.make_node("ConstantOfShape", [f"none_shape{j}"], [f"none_{j}"],
                                   value=helper.make_tensor(f"none_zero{j}", g.T.FLOAT, [1], [0.0]))]
        names.append(f"none_{j}")
    return helper.make_graph(nodes, "no_steps", [], [g.value(n, None) for n in names])


def build_block_onnx(model, *, name: str = "gatedrnn"):
    """-> ``onnx.ModelProto`` of a ``BlockLM`` (see the module docstring), checked by ``onnx.checker``."""
    onnx = _require_onnx()
    from onnx import TensorProto, helper, numpy_helper

    st = model.blocks
    g = _Graph(helper, numpy_helper, TensorProto)
    g.inputs.append(g.value("input", ["batch", "seq"], TensorProto.INT64))
    batch = g.node("Shape", ["input"], ["input_batch"], start=0, end=1)
    seq = g.node("Shape", ["input"], ["input_seq"], start=1, end=2)
    empty = g.node("Less", [seq, g.const("one_step", numpy.array([1], dtype=numpy.int64))], ["no_steps"])
    start = len(g.nodes)
    outs = _network(g, model)
    body, g.nodes = g.nodes[start:], g.nodes[:start]
    shapes = [["batch", "seq", model.vocab_size], [st.num_layers, "batch", st.hidden_size],
              [st.num_layers, "batch", st.k - 1, st.d_model]][:len(outs)]
    names = ["output", "h_n", "buffer"][:len(outs)]
    g.node("If", [empty], names, else_branch=helper.make_graph(body, "steps", [], [g.value(n, None) for n in outs]),
           then_branch=_no_steps(g, batch, [[0 if d == "seq" else d for d in s] for s in shapes]))
    g.outputs += [g.value(n, s) for n, s in zip(names, shapes)]
    return checked_model(onnx, g, name, {"gatedrnn.model": type(model).__name__,
                                         "gatedrnn.cell": str(st.blocks[0].rnn.name)})
