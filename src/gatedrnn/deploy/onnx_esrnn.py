"""ONNX export of a ``Forecaster(model="esrnn")`` as a step graph: one new value per series and the state in, the next
``horizon`` forecasts and the new state out, so that onnxruntime alone runs the hybrid's stream (``f.stream()``)::

    inputs   y        float64 (batch,)         the next value of each series
             series   int64   (batch,)         which of the forecaster's series it is (0 .. n_series - 1)
             state    float64 (batch, STATE)   that series' state: all zeros before its first value
    outputs  quantiles   float64 (batch, horizon, Q)  the forecasts after y, each step's quantiles ascending
                                                      (metadata ``quantiles``); NaN before ``window`` values and
                                                      for a refused y
             state_next  float64 (batch, STATE)       the state after y: feed it back with the series' next value
             accepted    bool    (batch,)             false for a y that is not finite (or not positive under the
                                                      multiplicative form): its row's state_next is its state

The state is one row of numbers per series (metadata ``state_layout``: [name, offset, size] of each part): the
count of values seen, then per member (``m<k>/``: the ``n_models`` seeds x ``snapshots``) what
``models/esrnn_step.StepState`` holds: the level, the seasonal ring(s), the last ``window`` de-seasonalised values,
each dilated layer's phase states (``h<j>``, and ``c<j>`` for a cell with a memory) and the network's last output
and level. A series starts from zeros: on its first value the graph takes the member's initial seasonal indices
of ``series`` (per-series constants: alpha, gamma (gamma2), the initial seasons, the additive form's scales, held
in the graph). The smoothing runs in float64; each recurrent layer is the cell's own ONNX operator
(``deploy/onnx.build_onnx`` of its one-layer stack, float32, seq = 1, its state in, its state out, prefixed
``m<k>/l<j>/``), the layer's phase state read and written with ``GatherElements``/``ScatterElements``; the tanh
layer and the head run in float64. Every member's quantiles are sorted per step, their median taken (the middle
one, or the mean of the two middle ones) and sorted again: ``ESRNNStream.forecast``.

A refused value leaves its series' state as it was (``accepted`` false, its quantiles NaN), as the C export's
``push`` returns -1 and the stream raises its one line. ``export_esrnn_onnx_folder`` (``gatedrnn export FOLDER
--onnx FILE``) checks the graph in onnxruntime against every member's ``StepState`` and their median over
``PUSHES`` values of series 0 after its fitted span before anything is written.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy

from gatedrnn.atomic import write_bytes_atomic
from gatedrnn.backend import sigmoid, to_numpy
from gatedrnn.deploy.c99_esrnn_members import MembersReference, continuation
from gatedrnn.deploy.onnx import OPSET, _Graph, build_onnx, checked_model
from gatedrnn.errors import UserError, require

F64, I64 = numpy.float64, numpy.int64
PUSHES = 300


def state_layout(f) -> list[tuple[str, int, int]]:
    """[(name, offset, size)] of the parts of one series' state row (module docstring)."""
    parts = [("t", 1)]
    for k, model in enumerate(f.models):
        H = model.config["hidden_size"]
        parts += [(f"m{k}/level", 1), (f"m{k}/s", model.season or 1)]
        parts += [(f"m{k}/S", model.season2)] if model.season2 else []
        parts.append((f"m{k}/D", model.window))
        for j, layer in enumerate(_layers(model)):
            parts.append((f"m{k}/h{j}", layer.dilation * H))
            parts += [(f"m{k}/c{j}", layer.dilation * H)] if _has_c(layer) else []
        parts += [(f"m{k}/out", model.horizon * len(model.quantiles)), (f"m{k}/last", 1)]
    offsets = numpy.cumsum([0] + [n for _, n in parts])
    return [(name, int(a), n) for (name, n), a in zip(parts, offsets)]


def _layers(model) -> list:
    return [layer for block in model.blocks for layer in block]


def _has_c(layer) -> bool:
    return bool(layer.stack.layer_class.has_cell)


class _Step:
    """The graph of one step, built node by node: the shared inputs, then each member (``member``)."""

    def __init__(self, g: _Graph, f):
        self.g, self.f = g, f
        self.made: set[str] = set()
        self.layout = {name: (a, n) for name, a, n in state_layout(f)}
        self.W = f.models[0].window
        self.y = g.node("Unsqueeze", ["y", self.ints("axis1", [1])], ["y_col"])
        t = g.node("Cast", [self.part("t")], ["t_i"], to=g.T.INT64)
        self.t = t
        self.first = g.node("Equal", [t, self.ints("zero", [0])], ["first"])
        self.t_next = g.node("Add", [t, self.ints("one", [1])], ["t_next_i"])
        self.ready = g.node("GreaterOrEqual", [self.t_next, self.ints("window", [self.W])], ["ready"])
        self.pos = g.node("Sub", [self.t_next, "window"], ["pos"])          # the window's position (valid when ready)
        self.out: list[str] = [g.node("Cast", [self.t_next], ["t_next"], to=g.T.DOUBLE)]

    def ints(self, name: str, values) -> str:
        """An int64 constant, made once per name."""
        if name not in self.made:
            self.made.add(name)
            self.g.const(name, numpy.array(values, dtype=I64))
        return name

    def part(self, name: str) -> str:
        """The slice of ``state`` holding ``name``, (batch, size)."""
        a, n = self.layout[name]
        if f"{name}@in" in self.made:
            return f"{name}@in"
        self.made.add(f"{name}@in")
        return self.g.node("Slice", ["state", self.ints(f"{name}@a", [a]), self.ints(f"{name}@b", [a + n]),
                                     "axis1"], [f"{name}@in"])

    def table(self, name: str, values) -> str:
        """Per-series constants (n_series, k) gathered for each row's series -> (batch, k)."""
        arr = numpy.asarray(values, dtype=F64).reshape(self.f.models[0].n_series, -1)
        return self.g.node("Gather", [self.g.const(f"{name}@table", arr), "series"], [name], axis=0)

    def mod(self, a: str, m: int, name: str) -> str:
        return self.g.node("Mod", [a, self.ints(f"{name}@m", [m])], [name], fmod=0)

    def op(self, op: str, a: str, b: str, name: str) -> str:
        return self.g.node(op, [a, b], [name])


class _Space:
    """The network's space of member ``p`` (``esrnn_windows.Space``): log, or the value over the series' scale."""

    def __init__(self, st: _Step, mult: bool, scale: str | None, p: str):
        self.st, self.mult, self.scale, self.p = st, mult, scale, p

    def F(self, v: str, name: str) -> str:
        name = self.p + name
        return self.st.g.node("Log", [v], [name]) if self.mult else self.st.op("Div", v, str(self.scale), name)

    def inverse(self, u: str, scale3: str | None, name: str) -> str:
        name = self.p + name
        return self.st.g.node("Exp", [u], [name]) if self.mult else self.st.op("Mul", u, str(scale3), name)

    def strip(self, a: str, b: str, c: str, name: str) -> str:
        """a / (b c), or a - b - c."""
        name, op = self.p + name, self.st.op
        return op("Div", a, op("Mul", b, c, name + "@d"), name) if self.mult else op("Sub", op("Sub", a, b, name + "@d"), c, name)


def _ring(st: _Step, name: str, m: int, init) -> tuple[str, str, str]:
    """A seasonal ring (batch, m): the state's, or ``init`` of the series on its first value -> (ring, slot t % m,
    the season at t (batch, 1))."""
    cur = st.g.node("Where", [st.first, st.table(name + "@0", init), st.part(name)], [name + "@cur"])
    j = st.mod(st.t, m, name + "@j")
    return cur, j, st.g.node("GatherElements", [cur, j], [name + "@now"], axis=1)


def _smooth(st: _Step, model, p: str, sp: _Space) -> tuple[str, str, str | None]:
    """The Holt-Winters update of member ``p`` by ``y`` -> (level, seasons, second seasons or None); appends its
    state parts (level, seasons, D)."""
    g, es, n = st.g, model.es, model.n_series
    neutral = 1.0 if model.mult else 0.0
    one = g.const(p + "one", numpy.ones((1, 1)))
    s_cur, js, st_ = _ring(st, p + "s", model.season or 1,
                           to_numpy(es._initial(es.init_raw)) if model.season else numpy.full((n, 1), neutral))
    S = _ring(st, p + "S", model.season2, to_numpy(es._initial(es.init2_raw))) if model.season2 else None
    St = S[2] if S else g.const(p + "neutral", numpy.full((1, 1), neutral))
    alpha = st.table(p + "alpha", to_numpy(sigmoid(es.alpha_raw)))
    w = sp.strip(st.y, st_, St, "w")
    keep = st.op("Mul", st.op("Sub", one, alpha, p + "1-alpha"), st.part(p + "level"), p + "lev@keep")
    lev = g.node("Where", [st.first, w, st.op("Add", st.op("Mul", alpha, w, p + "lev@new"), keep, p + "lev@blend")],
                 [p + "lev"])

    def update(cur, j, now, gamma, against, key):
        gm = st.table(p + key + "@gamma", gamma)
        new = st.op("Add", st.op("Mul", gm, sp.strip(st.y, lev, against, key + "@strip"), p + key + "@new"),
                    st.op("Mul", st.op("Sub", one, gm, p + key + "@1-g"), now, p + key + "@keep"), p + key + "@blend")
        return g.node("ScatterElements", [cur, j, new], [p + key + "@next"], axis=1)

    gamma = to_numpy(sigmoid(es.gamma_raw)) if model.season else numpy.zeros(n)
    s_next = update(s_cur, js, st_, gamma, St, "s")
    D = st.op("Sub", sp.F(st.y, "Fy"), sp.F(st_, "Fs"), p + "D@s")
    S_next = None
    if S:
        S_next = update(S[0], S[1], S[2], to_numpy(sigmoid(es.gamma2_raw)), st_, "S")
        D = st.op("Sub", D, sp.F(St, "FS"), p + "D@S")
    D_next = g.node("ScatterElements", [st.part(p + "D"), st.mod(st.t, model.window, p + "D@j"), D], [p + "D@next"],
                    axis=1)
    st.out += [lev, s_next] + ([S_next] if S_next else []) + [D_next]
    return lev, s_next, S_next


def _recurrent_layer(st: _Step, layer, x: str, p: str, j: int, H: int) -> str:
    """Layer ``j`` of member ``p`` one step on ``x`` (batch, 1, D) float32 at phase pos % d -> its output (batch, 1,
    H); appends its states (h, c)."""
    g, d, tag = st.g, layer.dilation, f"{p}l{j}/"
    stack = build_onnx(layer.stack, with_state=True, zero_steps=False)     # a fixed length: no zero-step guard
    net = require("onnx", "ONNX export", "onnx").compose.add_prefix(stack, tag)
    slot = g.node("Unsqueeze", [st.mod(st.pos, d, tag + "slot"), "axis1"], [tag + "slot3"])
    idx = g.node("Expand", [slot, st.ints(tag + "expand", [1, 1, H])], [tag + "idx"])
    g.node("Identity", [x], [tag + "input"])
    keys = ("h", "c") if _has_c(layer) else ("h",)
    full = {}
    for key in keys:
        full[key] = g.node("Reshape", [st.part(f"{p}{key}{j}"), st.ints(f"{tag}{key}@shape", [-1, d, H])],
                           [f"{tag}{key}@3"])
        now = g.node("GatherElements", [full[key], idx], [f"{tag}{key}@now"], axis=1)
        g.node("Cast", [g.node("Transpose", [now], [f"{tag}{key}@t"], perm=[1, 0, 2])], [f"{tag}{key}_0"], to=g.T.FLOAT)
    g.nodes.extend(net.graph.node)
    g.inits.extend(net.graph.initializer)
    for key in keys:
        new = g.node("Cast", [g.node("Transpose", [f"{tag}{key}_n"], [f"{tag}{key}@b"], perm=[1, 0, 2])],
                     [f"{tag}{key}@new"], to=g.T.DOUBLE)
        put = g.node("ScatterElements", [full[key], idx, new], [f"{tag}{key}@put"], axis=1)
        flat = g.node("Reshape", [put, st.ints(f"{tag}{key}@flat", [-1, d * H])], [f"{tag}{key}@flat2"])
        st.out.append(g.node("Where", [st.ready, flat, st.part(f"{p}{key}{j}")], [f"{tag}{key}@next"]))
    return tag + "output"


def _network(st: _Step, model, p: str, sp: _Space, lev: str, D_next: str) -> tuple[str, str]:
    """Member ``p``'s network one step on its window (when ready) -> (its output (batch, horizon * Q), the level in
    the space), both kept from the state while not ready; appends its states."""
    g, W, H = st.g, model.window, model.config["hidden_size"]
    Ll = sp.F(lev, "Ll")
    idx = st.mod(st.op("Add", st.pos, st.ints(p + "steps", [list(range(W))]), p + "win@i"), W, p + "win@j")
    x = st.op("Sub", g.node("GatherElements", [D_next, idx], [p + "win"], axis=1), Ll, p + "x@64")
    h = g.node("Unsqueeze", [g.node("Cast", [x], [p + "x@32"], to=g.T.FLOAT), "axis1"], [p + "x"])
    j = 0
    for b, block in enumerate(model.blocks):
        z = h
        for layer in block:
            z = _recurrent_layer(st, layer, z, p, j, H)
            j += 1
        h = st.op("Add", z, h, f"{p}res{b}") if b > 0 else z
    top = g.node("Cast", [g.node("Squeeze", [h, "axis1"], [p + "top@32"])], [p + "top"], to=g.T.DOUBLE)
    for name, lin in (("hid", model.hidden), ("head", model.head)):
        Wt = g.const(f"{p}{name}@W", numpy.asarray(to_numpy(lin.W), dtype=F64).T)
        top = st.op("Add", st.op("MatMul", top, Wt, f"{p}{name}@mm"), g.const(f"{p}{name}@b", to_numpy(lin.b)),
                    f"{p}{name}")
        if name == "hid":
            top = g.node("Tanh", [top], [p + "a"])
    out = g.node("Where", [st.ready, top, st.part(p + "out")], [p + "out@next"])
    last = g.node("Where", [st.ready, Ll, st.part(p + "last")], [p + "last@next"])
    st.out += [out, last]
    return out, last


def _forecast(st: _Step, model, p: str, sp: _Space, rings: tuple, out: str, last: str) -> str:
    """Member ``p``'s forecasts after ``y`` (batch, horizon, Q), re-levelled, re-seasonalised, sorted per step."""
    g, hz, Q = st.g, model.horizon, len(model.quantiles)
    ahead = st.op("Add", st.t_next, st.ints(p + "ahead", [list(range(hz))]), p + "ahead@t")
    fut = None
    for ring, m, key in zip(rings, (model.season or 1, model.season2), ("s", "S")):
        if ring is None:
            continue
        at = g.node("GatherElements", [ring, st.mod(ahead, m, f"{p}fut{key}@j")], [f"{p}fut{key}@v"], axis=1)
        part = sp.F(at, f"fut{key}")
        fut = part if fut is None else st.op("Add", fut, part, p + "fut")
    axis2 = st.ints("axis2", [2])
    u = st.op("Add", g.node("Reshape", [out, st.ints("q_shape", [-1, hz, Q])], [p + "out@3"]),
              g.node("Unsqueeze", [last, "axis1"], [p + "last@3"]), p + "u@1")
    u = st.op("Add", u, g.node("Unsqueeze", [str(fut), axis2], [p + "fut@3"]), p + "u")
    scale3 = None if model.mult else g.node("Unsqueeze", [str(sp.scale), "axis1"], [p + "scale@3"])
    raw = sp.inverse(u, scale3, "raw")
    return g.node("TopK", [raw, st.ints("n_quantiles", [Q])], [p + "sorted", p + "order"], axis=2, largest=0,
                  sorted=1)[0]


def _median(st: _Step, each: list, Q: int) -> str:
    """The members' sorted forecasts -> their median per step and quantile, sorted per step (as ``predict``)."""
    g, K = st.g, len(each)
    if K == 1:
        return each[0]
    rows = [g.node("Unsqueeze", [fc, st.ints("axis0", [0])], [f"{fc}@row"]) for fc in each]
    ranked = g.node("TopK", [g.node("Concat", rows, ["members"], axis=0), st.ints("n_members", [K])],
                    ["members@sorted", "members@order"], axis=0, largest=0, sorted=1)[0]
    middle = g.node("Slice", [ranked, st.ints("mid@a", [(K - 1) // 2]), st.ints("mid@b", [K // 2 + 1]), "axis0"],
                    ["members@middle"])
    mid = g.node("ReduceMean", [middle], ["members@median"], axes=[0], keepdims=0)
    return g.node("TopK", [mid, "n_quantiles"], ["median@sorted", "median@order"], axis=2, largest=0, sorted=1)[0]


def _metadata(f, layout: list) -> dict:
    model = f.models[0]
    return {"gatedrnn.model": "ESRNNForecaster", "cell": str(f.cell), "window": str(model.window),
            "season": str(model.season or "none"), "season2": str(model.season2 or "none"), "horizon": str(f.horizon),
            "quantiles": json.dumps(list(model.levels)), "n_models": str(len(f.models)), "n_series": str(model.n_series),
            "seasonality": str(f.seasonality), "state_size": str(layout[-1][1] + layout[-1][2]),
            "state_layout": json.dumps([list(part) for part in layout]),
            "inputs": "y: float64 (batch,), series: int64 (batch,), state: float64 (batch, state_size), zeros to start",
            "outputs": json.dumps(["quantiles", "state_next", "accepted"])}


def build_esrnn_onnx(f):
    """-> ``onnx.ModelProto`` of the fitted ``Forecaster(model="esrnn")`` ``f`` (module docstring), checked by
    ``onnx.checker``."""
    if not getattr(f, "models", None) or getattr(f, "model", None) != "esrnn":
        raise UserError("ES-RNN ONNX export: expected a fitted Forecaster(model='esrnn') (fit or load first), got none")
    onnx = require("onnx", "ONNX export", "onnx")
    from onnx import TensorProto, helper, numpy_helper

    g = _Graph(helper, numpy_helper, TensorProto)
    layout = state_layout(f)
    size = layout[-1][1] + layout[-1][2]
    g.inputs += [g.value("y", ["batch"], TensorProto.DOUBLE), g.value("series", ["batch"], TensorProto.INT64),
                 g.value("state", ["batch", size], TensorProto.DOUBLE)]
    st = _Step(g, f)
    model0 = f.models[0]
    scale = None if model0.mult else st.table("scale", model0.scales)
    each = []
    for k, model in enumerate(f.models):
        p = f"m{k}/"
        sp = _Space(st, model.mult, scale, p)
        lev, s_next, S_next = _smooth(st, model, p, sp)
        out, last = _network(st, model, p, sp, lev, st.out[-1])
        each.append(_forecast(st, model, p, sp, (s_next, S_next), out, last))
    med = _median(st, each, len(model0.quantiles))
    ok = g.node("Not", [g.node("Or", [g.node("IsNaN", ["y"], ["y@nan"]), g.node("IsInf", ["y"], ["y@inf"])],
                               ["y@bad"])], ["y@finite"])
    if model0.mult:
        ok = g.node("And", [ok, g.node("Greater", ["y", g.const("y@zero", numpy.zeros(1))], ["y@positive"])], ["y@ok"])
    g.node("Identity", [ok], ["accepted"])
    ok2 = g.node("Unsqueeze", [ok, "axis1"], ["accepted@2"])
    show = g.node("Unsqueeze", [g.node("And", [st.ready, ok2], ["shown"]), "axis2"], ["shown@3"])
    g.node("Where", [show, med, g.const("nan", numpy.full((1, 1, 1), numpy.nan))], ["quantiles"])
    g.node("Where", [ok2, g.node("Concat", st.out, ["state@new"], axis=1), "state"], ["state_next"])
    g.outputs += [g.value("quantiles", ["batch", f.horizon, len(model0.quantiles)], TensorProto.DOUBLE),
                  g.value("state_next", ["batch", size], TensorProto.DOUBLE),
                  g.value("accepted", ["batch"], TensorProto.BOOL)]
    return checked_model(onnx, g, "gatedrnn_esrnn_step", _metadata(f, layout))


class OnnxStep:
    """An exported step graph in onnxruntime: ``push(values, series, state)`` -> (quantiles, state_next, accepted)."""

    def __init__(self, path_or_proto):
        ort = require("onnxruntime", "running an ONNX model", "onnx")
        src = path_or_proto.SerializeToString() if hasattr(path_or_proto, "SerializeToString") else str(path_or_proto)
        self.session = ort.InferenceSession(src, providers=["CPUExecutionProvider"])
        meta = self.session.get_modelmeta().custom_metadata_map
        self.state_size = int(meta["state_size"])

    def start(self, n: int = 1) -> numpy.ndarray:
        """The state of ``n`` series before their first value."""
        return numpy.zeros((n, self.state_size))

    def push(self, values, series, state) -> tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
        feed = {"y": numpy.asarray(values, dtype=F64).reshape(-1), "series": numpy.asarray(series, dtype=I64).reshape(-1),
                "state": numpy.asarray(state, dtype=F64)}
        quantiles, state_next, accepted = self.session.run(["quantiles", "state_next", "accepted"], feed)
        return quantiles, state_next, accepted


def check_esrnn_onnx(f, proto, pushes: int = PUSHES) -> float:
    """Series 0 through the graph (its fitted span, then ``pushes`` more values) and through every member's
    ``StepState``: the largest difference of the forecasts over max(1, |y|) after each of the new values."""
    step, ref = OnnxStep(proto), MembersReference(f, 0)
    state = step.start()
    for v in ref.span:
        _, state, _ = step.push([v], [0], state)
    worst = 0.0
    for v in continuation(ref.span, pushes):
        got, state, _ = step.push([v], [0], state)
        want = ref.push(v)
        worst = max(worst, float(numpy.max(numpy.abs(got[0] - want) / numpy.maximum(1.0, numpy.abs(want)))))
    return worst


def export_esrnn_onnx_folder(f, target: Path, echo=print) -> dict:
    """``gatedrnn export FOLDER --onnx FILE`` of a saved ``Forecaster(model="esrnn")``: the step graph, checked in
    onnxruntime (with it installed) before it is written: a difference that is not finite is one line, nothing
    written."""
    proto = build_esrnn_onnx(f)
    runs = importlib.util.find_spec("onnxruntime") is not None
    diff = check_esrnn_onnx(f, proto) if runs else None
    if diff is not None and not math.isfinite(diff):
        raise UserError(f"ES-RNN ONNX export: expected onnxruntime's forecasts to match the forecaster's stream, got a "
                        f"difference of {diff} (nothing written)")
    path = write_bytes_atomic(target, proto.SerializeToString())
    echo(f"wrote {path} ({path.stat().st_size:,} bytes): ES-RNN forecaster step graph, {len(f.models)} member(s) and "
         f"their median, {len(f.panel.ids)} series; y, series, state in -> quantiles, state_next, accepted out (a zero state "
         f"starts a series); opset {OPSET}; onnx.checker passed")
    echo("note: onnxruntime is not installed, so the export was not run (pip install -e \".[onnx]\")" if diff is None
         else f"onnxruntime vs the forecaster's stream over {PUSHES} values after series 0's span: max difference "
              f"{diff:.2e} x max(1, |y|)")
    return {"path": path, "bytes": path.stat().st_size, "max_diff": diff}
