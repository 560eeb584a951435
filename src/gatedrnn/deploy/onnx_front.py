"""A sequence classifier with a front end (``models/front.py``) as one ONNX graph (opset 17, ``onnx.helper``):
``build_front_onnx(model)``, what ``gatedrnn export CK --onnx FILE`` writes for such a classifier.

    input (batch, seq, input_size) float: the samples (standardised, as the plain classifier's graph takes them)
      -> running norm: Cast to double, CumSum of x and x*x and of ones over seq, mean and variance so far,
         (x - mean) / sqrt(max(var, 0) + eps), Cast to float (``layers/running_norm.py``)
      -> conv, per block: MatMul + bias (pointwise), Pad k-1 zeros in front + depthwise Conv
         (``deploy/onnx_block.py``'s causal conv), LayerNormalization (``conv_norm="layer"``), x * Sigmoid(x), Add
         of the block's input (``conv_residual``)
      -> frames: Slice to a whole number of frames, Reshape (batch, seq // k, k * channels)
      -> Transpose to seq-major, the recurrent layers (``deploy/onnx.py``: ONNX's operators or the cell's own nodes)
      -> pooling "mean": CumSum over the frames / their count (the mean of the top states so far)
      -> pooling "max": a Scan over the frames keeping the element-wise Max of the top states so far (from -inf)
      -> MatMul + bias: output (batch, seq // k, classes), the logits after every frame (the last is the sequence's)
    outputs also h_n (and c_n), the recurrent state after the last frame.

All of it after the input runs in the else branch of an ``If`` on ``seq < k``: an input shorter than one frame
(no frame completes, as ``Stream`` and the C step give no logits before a frame is whole) gives logits of shape
(batch, 0, classes) and the zero state, where the recurrent operators, the causal Conv and the max pool's Scan
over zero steps would fail or abort the process (onnxruntime's GRU over an empty sequence: ``terminate called``).

``max_abs_diff`` of ``deploy/onnx.py`` compares the last frame's logits and the state with the classifier's
``forward``. The graph starts from the zero state: ``--with-state`` is one line (the front end's buffers are not
inputs). ``export_front_onnx`` is the command's side (checked before anything is written). A classifier without a
front end but with mean or max pooling is written here too, behind a pass-through front (frame 1).
"""

from __future__ import annotations

import numpy

from gatedrnn.deploy.cells import onnx_cell
from gatedrnn.deploy.onnx import _Graph, _output, _recurrent, _require_onnx, checked_model, write_checked
from gatedrnn.deploy.onnx_block import _act, _conv, _linear, _norm
from gatedrnn.errors import UserError
from gatedrnn.models.front import export_front, front_exported

I64 = numpy.int64


def _running_norm(g: _Graph, norm, x: str) -> str:
    T = g.T
    xd = g.node("Cast", [x], ["rn_x64"], to=T.DOUBLE)
    one = g.helper.make_tensor("rn_one", T.DOUBLE, [1], [1.0])
    n = g.node("CumSum", [g.node("ConstantOfShape", [g.node("Shape", [xd], ["rn_shape"])], ["rn_ones"], value=one),
                          g.const("rn_axis", numpy.array(1, dtype=I64))], ["rn_n"])
    s = g.node("CumSum", [xd, "rn_axis"], ["rn_sum"])
    sq = g.node("CumSum", [g.node("Mul", [xd, xd], ["rn_x2"]), "rn_axis"], ["rn_sumsq"])
    mean = g.node("Div", [s, n], ["rn_mean"])
    var = g.node("Sub", [g.node("Div", [sq, n], ["rn_ex2"]), g.node("Mul", [mean, mean], ["rn_m2"])], ["rn_var0"])
    var = g.node("Max", [var, g.const("rn_zero", numpy.array(0.0))], ["rn_var"])
    sd = g.node("Sqrt", [g.node("Add", [var, g.const("rn_eps", numpy.array(float(norm.eps)))], ["rn_ve"])], ["rn_sd"])
    z = g.node("Div", [g.node("Sub", [xd, mean], ["rn_xc"]), sd], ["rn_z"])
    return g.node("Cast", [z], ["rn_out"], to=T.FLOAT)


def _block(g: _Graph, block, x: str, tag: str) -> str:
    """One conv block (``models/front_blocks.py``): pointwise MatMul, causal depthwise Conv, LayerNorm, SiLU, Add."""
    u, _ = _conv(g, block.conv, _linear(g, block.proj, x, f"{tag}.proj"), block.conv.k, f"{tag}.conv")
    if block.norm is not None:
        u = _norm(g, block.norm, u, f"{tag}.norm")
    y = _act(g, block.act, u, f"{tag}.act")
    return g.node("Add", [y, x], [f"{tag}_res"]) if block.residual else y


def _frames(g: _Graph, x: str, k: int, C: int) -> str:
    """(batch, seq, C) -> (batch, seq // k, k C), the last seq % k steps dropped."""
    seq = g.node("Gather", [g.node("Shape", [x], ["fr_shape"]), g.const("fr_one", numpy.array([1], dtype=I64))],
                 ["fr_seq"], axis=0)
    kk = g.const("fr_k", numpy.array([k], dtype=I64))
    end = g.node("Mul", [g.node("Div", [seq, kk], ["fr_n"]), kk], ["fr_end"])
    whole = g.node("Slice", [x, g.const("fr_start", numpy.array([0], dtype=I64)), end, "fr_one"], ["fr_whole"])
    return g.node("Reshape", [whole, g.const("fr_to", numpy.array([0, -1, k * C], dtype=I64))], ["fr_out"])


def _mean_so_far(g: _Graph, y: str) -> str:
    """(frames, batch, H) seq-major -> the mean of the first 1, 2, ... frames."""
    one = g.helper.make_tensor("mp_one", g.T.FLOAT, [1], [1.0])
    axis = g.const("mp_axis", numpy.array(0, dtype=I64))
    n = g.node("CumSum", [g.node("ConstantOfShape", [g.node("Shape", [y], ["mp_shape"])], ["mp_ones"], value=one),
                          axis], ["mp_n"])
    return g.node("Div", [g.node("CumSum", [y, axis], ["mp_sum"]), n], ["mp_mean"])


def _max_so_far(g: _Graph, y: str) -> str:
    """(frames, batch, H) seq-major -> the element-wise max of the first 1, 2, ... frames: ONNX's ``Scan`` with the
    running max as its state, started at -inf (batch, H)."""
    helper, T = g.helper, g.T
    bh = g.node("Slice", [g.node("Shape", [y], ["mx_shape"]), g.const("mx_1", numpy.array([1], dtype=I64)),
                          g.const("mx_3", numpy.array([3], dtype=I64))], ["mx_bh"])
    m0 = g.node("ConstantOfShape", [bh], ["mx_m0"], value=helper.make_tensor("mx_low", T.FLOAT, [1], [-numpy.inf]))
    v = [helper.make_tensor_value_info(n, T.FLOAT, None) for n in ("mx_prev", "mx_t", "mx_next", "mx_out")]
    body = helper.make_graph([helper.make_node("Max", ["mx_prev", "mx_t"], ["mx_next"]),
                              helper.make_node("Identity", ["mx_next"], ["mx_out"])], "max_pool_step", v[:2], v[2:])
    return g.node("Scan", [m0, y], ["mx_last", "mx_max"], body=body, num_scan_inputs=1)[1]


def _short(g: _Graph, k: int) -> str:
    """-> the name of a (1,) bool: whether the input holds fewer than ``k`` samples (no whole frame)."""
    seq = g.node("Gather", [g.node("Shape", ["input"], ["sh_shape"]), g.const("sh_one", numpy.array([1], dtype=I64))],
                 ["sh_seq"], axis=0)
    return g.node("Less", [seq, g.const("sh_k", numpy.array([k], dtype=I64))], ["sh_short"])


def _no_frame(g: _Graph, classes: int, rnn, outs: list[str]):
    """The then branch: logits (batch, 0, classes) and the zero state (num_layers, batch, H) for the other ``outs``."""
    helper, T = g.helper, g.T
    i64 = [g.const(f"nf_{n}", numpy.array([v], dtype=I64))
           for n, v in (("0", 0), ("classes", classes), ("layers", rnn.num_layers), ("hidden", rnn.hidden_size))]
    nodes = [helper.make_node("Slice", ["sh_shape", i64[0], "sh_one"], ["nf_batch"]),
             helper.make_node("Concat", ["nf_batch", i64[0], i64[1]], ["nf_out_shape"], axis=0),
             helper.make_node("Concat", [i64[2], "nf_batch", i64[3]], ["nf_state_shape"], axis=0)]
    zero, names = helper.make_tensor("nf_zero", T.FLOAT, [1], [0.0]), [f"nf_{o}" for o in outs]
    nodes += [helper.make_node("ConstantOfShape", ["nf_out_shape" if o == "output" else "nf_state_shape"], [n],
                               value=zero) for o, n in zip(outs, names)]
    return helper.make_graph(nodes, "no_frame", [], [helper.make_tensor_value_info(n, T.FLOAT, None) for n in names])


def _network(g: _Graph, model, f) -> tuple[str, list, list]:
    """The front end, the frames, the recurrent layers, the pool and the head -> (logits, h_n names, c_n names)."""
    rnn = model.rnn
    x = "input"
    if f.norm is not None:
        x = _running_norm(g, f.norm, x)
    for i, block in enumerate(f.blocks):
        x = _block(g, block, x, "front" if i == 0 else f"front.block{i}")
    x = _frames(g, x, f.frame_size, f.channels)
    y, hs, cs = _recurrent(g, rnn, g.node("Transpose", [x], ["seq_major"], perm=[1, 0, 2]), False)
    if model.pooling == "mean":
        y = _mean_so_far(g, y)
    elif model.pooling == "max":
        y = _max_so_far(g, y)
    _output(g, model.head, y, hs[-1], False, rnn.hidden_size)
    return g.outputs.pop().name, hs, cs


def build_front_onnx(model, *, name: str = "gatedrnn"):
    """-> ``onnx.ModelProto`` of a classifier with a front end (see the module docstring), checked by
    ``onnx.checker``."""
    onnx = _require_onnx()
    from onnx import TensorProto, helper, numpy_helper

    if not front_exported(model):
        raise UserError(f"ONNX export of a front end: expected a SequenceClassifier with a front end or mean or max "
                        f"pooling, got {type(model).__name__}")
    f, rnn = export_front(model), model.rnn
    cls = rnn.layer_class
    if onnx_cell(cls) is None:
        raise UserError(f"ONNX export: expected layers with an ONNX operator, got {cls.__name__}")
    g = _Graph(helper, numpy_helper, TensorProto)
    g.inputs.append(g.value("input", ["batch", "seq", f.input_size]))
    short = _short(g, f.frame_size)
    start = len(g.nodes)
    out, hs, cs = _network(g, model, f)
    body, g.nodes = g.nodes[start:], g.nodes[:start]
    outs = ["output", "h_n"] + (["c_n"] if cs else [])
    for node in body:                        # the branch's outputs are named apart from the If's (the graph's)
        node.output[:] = ["fr_logits" if o == out else o for o in node.output]
    body += [helper.make_node("Concat", parts, [f"fr_{o}"], axis=0) for o, parts in (("h_n", hs), ("c_n", cs)) if parts]
    frames = helper.make_graph(body, "frames", [], [g.value(n, None) for n in ["fr_logits"] + [f"fr_{o}" for o in outs[1:]]])
    g.nodes.append(helper.make_node("If", [short], outs, name="If_short", else_branch=frames,
                                    then_branch=_no_frame(g, model.head.out_features, rnn, outs)))
    state = [rnn.num_layers, "batch", rnn.hidden_size]
    g.outputs += [g.value("output", ["batch", "seq", model.head.out_features])] + [g.value(o, state) for o in outs[1:]]
    return checked_model(onnx, g, name, {"gatedrnn.model": type(model).__name__, "gatedrnn.cell": str(cls.name),
                                         "gatedrnn.frame": str(f.frame_size)})


def check_input(model, batch: int = 2, seed: int = 0) -> numpy.ndarray:
    """A random input for the export's check: ``batch`` sequences of 8 frames and a part of one."""
    k = export_front(model).frame_size
    rng = numpy.random.default_rng(seed)
    return rng.standard_normal((batch, 8 * k + k // 2, export_front(model).input_size)).astype(numpy.float32)


def export_front_onnx(model, target, *, with_state: bool = False, echo=print) -> dict:
    """Build, check (when onnxruntime is installed) and write the graph to ``target`` -> ``{"path", "bytes",
    "max_abs_diff"}`` (None without onnxruntime)."""
    if with_state and model.front is None:
        raise UserError(f"--with-state: expected a classifier with last pooling, got {model.pooling} pooling (its "
                        "graph starts from the zero state and an empty pool)")
    if with_state:
        raise UserError("--with-state: expected a network without a front end, got a classifier with one (its graph "
                        "starts from the zero state and empty front-end buffers)")
    rnn, x = model.rnn, check_input(model)
    front = "without a front end" if model.front is None else f"with a front end (frame {model.front.frame_size})"
    return write_checked(build_front_onnx(model), target, model, lambda: (x, None),
                         f"SequenceClassifier {front}, "
                         f"{str(rnn.name).upper()} {rnn.hidden_size} units x {rnn.num_layers}, {model.pooling} "
                         f"pooling (input: the standardised samples; output: the logits after every frame)",
                         f"a random input (batch 2, {x.shape[1]} samples)", "the last frame's logits and the final "
                         "state", echo)

