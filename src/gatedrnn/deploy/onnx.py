"""ONNX export with ONNX's own recurrent operators (``LSTM``, ``GRU``, ``RNN``), built with ``onnx.helper``.

``export_onnx(model, path)`` writes a ``SequenceRegressor`` (input -> recurrent layers -> Linear head), a
``LanguageModel`` (token ids -> ``Gather`` from the embedding -> layers -> Linear) or a bare stack, and checks
the graph with ``onnx.checker``. Needs the ``onnx`` extra (``pip install -e ".[onnx]"``); ``onnxruntime``
is only needed to run the result (``run_onnx``, ``max_abs_diff``).

The graph, batch first like gatedrnn (dimensions ``batch`` and ``seq`` are symbolic)::

    input (batch, seq, input_size) float | (batch, seq) int64 ids -> Gather(embedding)
      -> Transpose to (seq, batch, features)             ONNX recurrent ops take layout=0: seq-major
      -> per layer: the cell's operator -> Y (seq, 1, batch, hidden) -> Squeeze(axis 1)
      -> Transpose back -> MatMul(W^T) + bias -> output (batch, seq, out)   [many-to-one: (batch, out) from Y_h]
    outputs also h_n (and c_n), (num_layers, batch, hidden), like gatedrnn's final state;
    with ``with_state=True`` inputs h_0 (and c_0) of that shape start the sequence (to continue a stream).

How each cell maps is ``deploy/cells/``' table, keyed by the cell's registry name (``onnx_cell``): an
operator (``op``), its gate order (ONNX's block k is the cell's block ``gate_order[k]``: gate orders differ) and
extra attributes (``attrs``); the layer class says whether it has a c state (``has_cell``). ``B`` is
``[Wb; Rb]`` = ``[b_ih; b_hh]`` reordered the same way. A cell that no ONNX recurrent operator fits (minGRU,
minLSTM: no recurrent matrix, a candidate activation ONNX does not list) writes its own full-sequence nodes
(``OnnxCell.nodes``; ``deploy/onnx_min.py``: an ONNX ``Scan``). Opset 17.

An input of zero steps gives per-step outputs of shape (batch, 0, ...), the start state (zeros, or h_0 and c_0) as
h_n and c_n and, many to one, the head of the start state: no recurrent node runs over zero steps (onnxruntime's GRU
aborts the process there), the layers get one zero step padded in and the graph takes it back
(``deploy/onnx_empty.py``); on one step or more every output is what it was without that guard.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy

from gatedrnn.atomic import write_bytes_atomic
from gatedrnn.deploy.cells import onnx_cell
from gatedrnn.deploy.onnx_empty import ZeroSteps
from gatedrnn.errors import UserError, require

OPSET = 17
IR_VERSION = 8   # what onnxruntime >= 1.13 reads; opset 17 needs IR >= 8


def _require_onnx():
    return require("onnx", "ONNX export", "onnx")


def _reorder(a: numpy.ndarray, order, H: int) -> numpy.ndarray:
    return numpy.concatenate([a[k * H:(k + 1) * H] for k in order], axis=0)


class _Graph:
    """The lists an ONNX graph is made of, and the two ways of adding to them."""

    def __init__(self, helper, numpy_helper, tensor_proto):
        self.helper, self.numpy_helper, self.T = helper, numpy_helper, tensor_proto
        self.inits, self.nodes, self.inputs, self.outputs = [], [], [], []

    def const(self, nm, arr):
        self.inits.append(self.numpy_helper.from_array(numpy.ascontiguousarray(arr), nm))
        return nm

    def node(self, op, ins, outs, **attrs):
        self.nodes.append(self.helper.make_node(op, ins, outs, name=f"{op}_{len(self.nodes)}", **attrs))
        return outs[0] if len(outs) == 1 else outs

    def value(self, name, shape, elem=None):
        return self.helper.make_tensor_value_info(name, self.T.FLOAT if elem is None else elem, shape)


def _inputs(g: _Graph, embed, rnn, with_state: bool) -> str:
    """The graph's inputs (ids through the embedding, or features; h_0, c_0) -> the seq-major input name."""
    from gatedrnn.backend import to_numpy

    if embed is not None:
        g.inputs.append(g.value("input", ["batch", "seq"], g.T.INT64))
        W = g.const("embedding.weight", to_numpy(embed.W).astype(numpy.float32))
        x = g.node("Gather", [W, "input"], ["embedded"], axis=0)
    else:
        g.inputs.append(g.value("input", ["batch", "seq", rnn.input_size]))
        x = "input"
    if with_state:
        state_shape = [rnn.num_layers, "batch", rnn.hidden_size]
        g.inputs.append(g.value("h_0", state_shape))
        if rnn.layer_class.has_cell:
            g.inputs.append(g.value("c_0", state_shape))
    return g.node("Transpose", [x], ["seq_major"], perm=[1, 0, 2])


def _recurrent(g: _Graph, rnn, x: str, with_state: bool, steps: ZeroSteps | None = None):
    """One ONNX recurrent operator per layer -> (top layer's (seq, batch, H) output, h_n names, c_n names). With
    ``steps`` (``deploy/onnx_empty.py``), each layer's final state is its start state on an input of zero steps."""
    def kept(state: str, start: str | None) -> str:
        return state if steps is None else steps.keep(state, start)

    cls, H, f32 = rnn.layer_class, rnn.hidden_size, numpy.float32
    spec = onnx_cell(cls)
    if spec is None:
        raise UserError(f"ONNX export: expected layers with an ONNX operator, got {cls.__name__}")
    order, has_cell = spec.gate_order, cls.has_cell
    sd = rnn.state_dict()
    axis1 = None
    hs, cs = [], []
    for k in range(rnn.num_layers):
        if spec.nodes is not None:   # a cell no ONNX recurrent operator fits writes its own full-sequence nodes
            h0 = None
            if with_state:
                idx = g.const(f"layer_{k}", numpy.array([k], dtype=numpy.int64))
                h0 = g.node("Gather", ["h_0", idx], [f"h_0_l{k}"], axis=0)
            x, h_n = spec.nodes(rnn.layers[k], g, x, h0, f"l{k}")
            hs.append(kept(h_n, h0))
            continue
        W = _reorder(sd[f"weight_ih_l{k}"], order, H)[None].astype(f32)
        R = _reorder(sd[f"weight_hh_l{k}"], order, H)[None].astype(f32)
        B = numpy.concatenate([_reorder(sd[f"bias_ih_l{k}"], order, H),
                               _reorder(sd[f"bias_hh_l{k}"], order, H)])[None].astype(f32)
        ins = [x, g.const(f"W_l{k}", W), g.const(f"R_l{k}", R), g.const(f"B_l{k}", B), ""]
        if with_state:
            idx = g.const(f"layer_{k}", numpy.array([k], dtype=numpy.int64))
            ins.append(g.node("Gather", ["h_0", idx], [f"h_0_l{k}"], axis=0))
            if has_cell:
                ins.append(g.node("Gather", ["c_0", idx], [f"c_0_l{k}"], axis=0))
        outs = [f"Y_l{k}", f"h_n_l{k}"] + ([f"c_n_l{k}"] if has_cell else [])
        g.node(spec.op, ins, outs, hidden_size=H, **spec.attrs)
        hs.append(kept(outs[1], ins[5] if with_state else None))    # ins[5:]: this layer's h_0 (and c_0)
        if has_cell:
            cs.append(kept(outs[2], ins[6] if with_state else None))
        axis1 = axis1 or g.const("axis_1", numpy.array([1], dtype=numpy.int64))
        x = g.node("Squeeze", [outs[0], axis1], [f"out_l{k}"])   # (seq, 1, batch, H) -> (seq, batch, H)
    return x, hs, cs


def _output(g: _Graph, head, x: str, last_h: str, many_to_one: bool, H: int) -> None:
    """The head (MatMul + bias, on every step or on the last state) or the top layer's outputs, batch first."""
    from gatedrnn.backend import to_numpy

    if head is None:
        g.outputs.append(g.value(g.node("Transpose", [x], ["output"], perm=[1, 0, 2]), ["batch", "seq", H]))
        return
    Wt = g.const("head.weight_t", to_numpy(head.W).astype(numpy.float32).T)
    if many_to_one:
        top = g.node("Squeeze", [last_h, g.const("axis_0", numpy.array([0], dtype=numpy.int64))], ["last_h"])
    else:
        top = g.node("Transpose", [x], ["batch_major"], perm=[1, 0, 2])
    y = g.node("MatMul", [top, Wt], ["head_mm"])
    if head.b is not None:
        y = g.node("Add", [y, g.const("head.bias", to_numpy(head.b).astype(numpy.float32))], ["output"])
    else:
        y = g.node("Identity", [y], ["output"])
    out = ["batch", head.out_features] if many_to_one else ["batch", "seq", head.out_features]
    g.outputs.append(g.value(y, out))


def build_onnx(model, *, with_state: bool = False, name: str = "gatedrnn", zero_steps: bool = True):
    """-> ``onnx.ModelProto`` for ``model`` (see the module docstring); float32 weights. ``zero_steps``: the graph
    takes an input of zero steps (``deploy/onnx_empty.py``); False only for a caller that always feeds one step or
    more (a fixed window), whose graph then holds none of the guard's nodes."""
    onnx = _require_onnx()
    from onnx import TensorProto, helper, numpy_helper

    from gatedrnn.models.stream import model_parts

    embed, rnn, head = model_parts(model)
    cls = rnn.layer_class
    if onnx_cell(cls) is None:
        raise UserError(f"ONNX export: expected layers with an ONNX operator, got {cls.__name__}")
    g = _Graph(helper, numpy_helper, TensorProto)
    x = _inputs(g, embed, rnn, with_state)
    steps: ZeroSteps | None = None
    if zero_steps:
        steps, x = ZeroSteps.guard(g, x)
    x, hs, cs = _recurrent(g, rnn, x, with_state, steps)
    many_to_one = bool(getattr(model, "many_to_one", False))
    if steps is not None and not many_to_one:
        x = steps.trim(x)
    _output(g, head, x, hs[-1], many_to_one, rnn.hidden_size)
    return finish_graph(onnx, g, name, rnn, hs, cs, {"gatedrnn.model": type(model).__name__,
                                                     "gatedrnn.cell": str(cls.name)})


def finish_graph(onnx, g, name: str, rnn, hs: list, cs: list, props: dict):
    """The end of a recurrent network's graph: the final states ``h_n`` (and ``c_n``) as outputs, then
    ``checked_model``."""
    state_shape = [rnn.num_layers, "batch", rnn.hidden_size]
    for out, parts in (("h_n", hs), ("c_n", cs)):
        if parts:
            g.node("Concat", parts, [out], axis=0)
            g.outputs.append(g.value(out, state_shape))
    return checked_model(onnx, g, name, props)


def checked_model(onnx, g, name: str, props: dict):
    """Every exported graph's last step: the model of ``g`` at ``OPSET`` with ``props`` as its metadata, checked by
    ``onnx.checker``."""
    helper = g.helper
    graph = helper.make_graph(g.nodes, name, g.inputs, g.outputs, initializer=g.inits)
    proto = helper.make_model(graph, producer_name="gatedrnn", opset_imports=[helper.make_opsetid("", OPSET)],
                              ir_version=IR_VERSION)
    helper.set_model_props(proto, props)
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export_onnx(model, path, *, with_state: bool = False) -> Path:
    """Write ``model`` as ONNX to ``path`` (temporary file, then rename); returns the path."""
    proto = build_onnx(model, with_state=with_state)
    return write_bytes_atomic(path, proto.SerializeToString())


def write_checked(proto, target, model, inputs, what: str, on: str, over: str, echo) -> dict:
    """How every network export ends: with onnxruntime installed, ``max_abs_diff`` of ``model`` and ``proto`` on
    ``inputs()`` (``(x, state)``) before anything is written (not finite: one line); then ``proto`` written whole to
    ``target``, and said: ``what`` it is, the difference ``on`` what input ``over`` which outputs (or a note without
    onnxruntime). -> ``{"path", "bytes", "max_abs_diff"}`` (None without onnxruntime)."""
    import importlib.util

    diff = None
    if importlib.util.find_spec("onnxruntime") is not None:
        diff = max_abs_diff(model, proto, *inputs())
        if not math.isfinite(diff):
            raise UserError(f"export check: expected onnxruntime and gatedrnn to agree on a random input, got a "
                            f"difference of {diff} (the model's outputs are not finite there: weights too large for "
                            f"float32?)")
    path = write_bytes_atomic(target, proto.SerializeToString())
    size = path.stat().st_size
    echo(f"wrote {path} ({size:,} bytes): {what}, opset {OPSET}; onnx.checker passed")
    if diff is None:
        echo("note: onnxruntime is not installed, so the export was not run (pip install -e \".[onnx]\")")
    else:
        echo(f"onnxruntime vs gatedrnn on {on}: max abs difference {diff:.2e} over {over}")
    return {"path": path, "bytes": size, "max_abs_diff": diff}


def run_onnx(path_or_proto, x, state=None) -> list:
    """Run an exported model in onnxruntime on ``x`` (and a start ``state``); returns its outputs as a list."""
    ort = require("onnxruntime", "running an ONNX model", "onnx")
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
        raise UserError(f"run_onnx: the model expects inputs {names}, got none for {missing}")
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
    if hasattr(model, "pooling"):   # a classifier (pooling "last"): the graph gives the logits after every step
        theirs[0] = theirs[0][:, -1]
    return max(float(numpy.max(numpy.abs(to_numpy(a).astype(numpy.float64) - numpy.asarray(b, dtype=numpy.float64))))
               for a, b in zip(ours, theirs))
