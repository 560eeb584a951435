"""ONNX export with ONNX's own recurrent operators (``LSTM``, ``GRU``, ``RNN``), built with ``onnx.helper``.

``export_onnx(model, path)`` writes a ``SequenceRegressor`` (input -> LSTM/GRU/RNN layers -> Linear head), a
``LanguageModel`` (token ids -> ``Gather`` from the embedding -> layers -> Linear) or a bare stack, and checks
the graph with ``onnx.checker``. Needs the ``onnx`` extra (``pip install 'gatedrnn[onnx]'``); ``onnxruntime``
is only needed to run the result (``run_onnx``, ``max_abs_diff``).

The graph, batch first like gatedrnn (dimensions ``batch`` and ``seq`` are symbolic)::

    input (batch, seq, input_size) float | (batch, seq) int64 ids -> Gather(embedding)
      -> Transpose to (seq, batch, features)             ONNX recurrent ops take layout=0: seq-major
      -> per layer: LSTM/GRU/RNN -> Y (seq, 1, batch, hidden) -> Squeeze(axis 1)
      -> Transpose back -> MatMul(W^T) + bias -> output (batch, seq, out)   [many-to-one: (batch, out) from Y_h]
    outputs also h_n (and c_n), (num_layers, batch, hidden), like gatedrnn's final state;
    with ``with_state=True`` inputs h_0 (and c_0) of that shape start the sequence (to continue a stream).

Gate orders differ and are converted here (ONNX operator specification, opset 14+ / 22):

* LSTM: PyTorch/gatedrnn blocks (i, f, g, o) -> ONNX (i, o, f, c); ``B`` is ``[Wb; Rb]`` = ``[b_ih; b_hh]``.
  No peepholes.
* GRU: (r, z, n) -> ONNX (z, r, h), with ``linear_before_reset=1``: ONNX's default applies the reset gate
  before the recurrent product, ``h = tanh(W x + R (r * h) + ...)``; PyTorch's formulation, which gatedrnn
  follows, is ``tanh(W x + b_in + r * (R h + b_hn))``, and that is what ``linear_before_reset=1`` computes.
* RNN: one block, activation Tanh.
"""

from __future__ import annotations

from pathlib import Path

import numpy

from gatedrnn.atomic import write_bytes_atomic

OPSET = 17
IR_VERSION = 8   # what onnxruntime >= 1.13 reads; opset 17 needs IR >= 8

_ORDER = {"lstm": (0, 3, 1, 2), "gru": (1, 0, 2), "rnn": (0,)}
_OP = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}


def _require_onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("ONNX export needs the onnx package: pip install 'gatedrnn[onnx]'") from None
    return onnx


def _cell_of(rnn) -> str:
    from gatedrnn.layers.gru import GRULayer
    from gatedrnn.layers.lstm import LSTMLayer
    from gatedrnn.layers.rnn import RNNLayer

    cell = {LSTMLayer: "lstm", GRULayer: "gru", RNNLayer: "rnn"}.get(rnn.layer_class)
    if cell is None:
        raise ValueError(f"ONNX export: expected LSTM, GRU or RNN layers, got {rnn.layer_class.__name__}")
    return cell


def _reorder(a: numpy.ndarray, cell: str, H: int) -> numpy.ndarray:
    return numpy.concatenate([a[k * H:(k + 1) * H] for k in _ORDER[cell]], axis=0)


def build_onnx(model, *, with_state: bool = False, name: str = "gatedrnn"):
    """-> ``onnx.ModelProto`` for ``model`` (see the module docstring); float32 weights."""
    onnx = _require_onnx()
    from onnx import TensorProto, helper, numpy_helper

    from gatedrnn.backend import to_numpy
    from gatedrnn.models.stream import model_parts

    embed, rnn, head = model_parts(model)
    cell = _cell_of(rnn)
    L, H = rnn.num_layers, rnn.hidden_size
    many_to_one = bool(getattr(model, "many_to_one", False))
    f32 = numpy.float32
    inits, nodes = [], []

    def const(nm, arr):
        inits.append(numpy_helper.from_array(numpy.ascontiguousarray(arr), nm))
        return nm

    def node(op, ins, outs, **attrs):
        nodes.append(helper.make_node(op, ins, outs, name=f"{op}_{len(nodes)}", **attrs))
        return outs[0] if len(outs) == 1 else outs

    inputs = []
    if embed is not None:
        inputs.append(helper.make_tensor_value_info("input", TensorProto.INT64, ["batch", "seq"]))
        x = node("Gather", [const("embedding.weight", to_numpy(embed.W).astype(f32)), "input"], ["embedded"], axis=0)
    else:
        inputs.append(helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", "seq", rnn.input_size]))
        x = "input"
    state_shape = [L, "batch", H]
    if with_state:
        inputs.append(helper.make_tensor_value_info("h_0", TensorProto.FLOAT, state_shape))
        if cell == "lstm":
            inputs.append(helper.make_tensor_value_info("c_0", TensorProto.FLOAT, state_shape))
    x = node("Transpose", [x], ["seq_major"], perm=[1, 0, 2])
    sd = rnn.state_dict()
    axis1 = const("axis_1", numpy.array([1], dtype=numpy.int64))
    hs, cs = [], []
    for k in range(L):
        W = _reorder(sd[f"weight_ih_l{k}"], cell, H)[None].astype(f32)
        R = _reorder(sd[f"weight_hh_l{k}"], cell, H)[None].astype(f32)
        B = numpy.concatenate([_reorder(sd[f"bias_ih_l{k}"], cell, H), _reorder(sd[f"bias_hh_l{k}"], cell, H)])[None].astype(f32)
        ins = [x, const(f"W_l{k}", W), const(f"R_l{k}", R), const(f"B_l{k}", B), ""]
        if with_state:
            idx = const(f"layer_{k}", numpy.array([k], dtype=numpy.int64))
            ins.append(node("Gather", ["h_0", idx], [f"h_0_l{k}"], axis=0))
            if cell == "lstm":
                ins.append(node("Gather", ["c_0", idx], [f"c_0_l{k}"], axis=0))
        outs = [f"Y_l{k}", f"h_n_l{k}"] + ([f"c_n_l{k}"] if cell == "lstm" else [])
        attrs = {"hidden_size": H}
        if cell == "gru":
            attrs["linear_before_reset"] = 1
        node(_OP[cell], ins, outs, **attrs)
        hs.append(outs[1])
        if cell == "lstm":
            cs.append(outs[2])
        x = node("Squeeze", [outs[0], axis1], [f"out_l{k}"])   # (seq, 1, batch, H) -> (seq, batch, H)
    outputs = []
    if head is not None:
        Wt = const("head.weight_t", to_numpy(head.W).astype(f32).T)
        if many_to_one:
            top = node("Squeeze", [hs[-1], const("axis_0", numpy.array([0], dtype=numpy.int64))], ["last_h"])  # (batch, H)
        else:
            top = node("Transpose", [x], ["batch_major"], perm=[1, 0, 2])
        y = node("MatMul", [top, Wt], ["head_mm"])
        if head.b is not None:
            y = node("Add", [y, const("head.bias", to_numpy(head.b).astype(f32))], ["output"])
        else:
            y = node("Identity", [y], ["output"])
        out_shape = ["batch", head.out_features] if many_to_one else ["batch", "seq", head.out_features]
    else:
        y = node("Transpose", [x], ["output"], perm=[1, 0, 2])
        out_shape = ["batch", "seq", H]
    outputs.append(helper.make_tensor_value_info(y, TensorProto.FLOAT, out_shape))
    node("Concat", hs, ["h_n"], axis=0)
    outputs.append(helper.make_tensor_value_info("h_n", TensorProto.FLOAT, state_shape))
    if cell == "lstm":
        node("Concat", cs, ["c_n"], axis=0)
        outputs.append(helper.make_tensor_value_info("c_n", TensorProto.FLOAT, state_shape))
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=inits)
    proto = helper.make_model(graph, producer_name="gatedrnn", opset_imports=[helper.make_opsetid("", OPSET)],
                              ir_version=IR_VERSION)
    helper.set_model_props(proto, {"gatedrnn.model": type(model).__name__, "gatedrnn.cell": cell})
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export_onnx(model, path, *, with_state: bool = False) -> Path:
    """Write ``model`` as ONNX to ``path`` (temporary file, then rename); returns the path."""
    proto = build_onnx(model, with_state=with_state)
    return write_bytes_atomic(path, proto.SerializeToString())


def run_onnx(path_or_proto, x, state=None) -> list:
    """Run an exported model in onnxruntime on ``x`` (and a start ``state``); returns its outputs as a list."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise ImportError("running an ONNX model needs onnxruntime: pip install 'gatedrnn[onnx]'") from None
    src = path_or_proto.SerializeToString() if hasattr(path_or_proto, "SerializeToString") else str(path_or_proto)
    sess = ort.InferenceSession(src, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    feed = {"input": numpy.asarray(x, dtype=numpy.int64 if numpy.issubdtype(numpy.asarray(x).dtype, numpy.integer)
                                   else numpy.float32)}
    if state is not None:
        parts = state if isinstance(state, (tuple, list)) else (state,)
        for nm, a in zip(("h_0", "c_0"), parts):
            feed[nm] = numpy.asarray(a, dtype=numpy.float32)
    missing = [n for n in names if n not in feed]
    if missing:
        raise ValueError(f"run_onnx: the model expects inputs {names}, got none for {missing}")
    return sess.run(None, feed)


def max_abs_diff(model, path_or_proto, x, state=None) -> float:
    """Largest absolute difference between gatedrnn's ``forward`` and onnxruntime's outputs (all of them)."""
    from gatedrnn.backend import to_numpy

    was = model.training
    model.eval()
    try:
        y, st = model.forward(x, state)
    finally:
        model.train(was)
    ours = [y] + (list(st) if isinstance(st, (tuple, list)) else [st])
    theirs = run_onnx(path_or_proto, x, state)
    return max(float(numpy.max(numpy.abs(to_numpy(a).astype(numpy.float64) - numpy.asarray(b, dtype=numpy.float64))))
               for a, b in zip(ours, theirs))
