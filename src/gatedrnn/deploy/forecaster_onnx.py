"""ONNX export of a whole ``forecast.Forecaster``: raw recent values in, forecasts in the series' units out.

``build_forecaster_onnx(f)`` is one graph doing what ``Forecaster.quantile_forecast(tails, starts)`` does, so
that onnxruntime alone serves the forecaster (``gatedrnn export FORECASTER_FOLDER --onnx FILE`` writes it)::

    inputs   y      float64 (batch, window)  the last ``window`` raw values of each series, oldest first
             start  int64   (batch,)         with a season only: the index in its series of y's first value
                                             (only ``start mod season`` matters: the season phase of y[:, 0])
    outputs  quantiles  float64 (batch, horizon, Q)  every quantile level (metadata ``quantiles``), sorted
             y_hat, lo-80, hi-80, lo-95, hi-95  float64 (batch, horizon)  the columns of ``Forecaster.predict``

Inside, in float64: the window's level (mean) and scale (standard deviation, floored at 1e-3 of the level's size
and at 1e-8: ``features.normalise``), the normalised window and sin/cos of each step's season position
(``features.inputs``), cast to float32 for the networks (``deploy.onnx.build_onnx``, one per ensemble member,
names prefixed ``m0/``, ``m1/`` ...); their outputs cast back to float64, the median over the members, the base
(``features.base_values``: seasonal naive, naive or none, taken from the normalised window) added, the scale and
level put back, and the quantile axis sorted (``TopK``). The batch dimension is symbolic. Only the networks run
in float32, as in gatedrnn: the two differ by float32 rounding inside the networks (about 1e-6 of the window's
scale), so forecasts agree far below 1e-4 relative even for series with a large level, which float32
normalisation would not give (a level of 1e7 has a float32 spacing of 1).

The model's ``metadata_props`` state ``window``, ``season``, ``horizon``, ``quantiles``, ``outputs``, ``inputs``
(the layout above), ``base``, ``n_models`` and ``cell``. A forecaster with covariates is refused (one line): its
inputs are not this graph's. A recursive forecaster (``strategy="recursive"``) has the same inputs and outputs; its
one-step network runs in an ONNX ``Loop`` over the horizon (``deploy/forecaster_onnx_loop.py``; metadata
``strategy``).

What the graph takes from the forecast side (the base's positions, the output columns, the hybrid's refusal, how a
saved folder loads) comes through the forecaster's export adapter (``deploy.adapters.ForecasterFacts``, handed over
by ``forecast/export_adapter.py``): deploy imports no application.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy

from gatedrnn.atomic import write_bytes_atomic
from gatedrnn.deploy.adapters import ForecasterFacts, facts_of
from gatedrnn.deploy.forecaster_checks import check_outputs, recursive_note
from gatedrnn.deploy.forecaster_onnx_loop import recursive_quantiles
from gatedrnn.deploy.onnx import OPSET, _Graph, build_onnx, checked_model
from gatedrnn.deploy.onnx_esrnn import export_esrnn_onnx_folder
from gatedrnn.errors import UserError, require, show

F64, I64 = numpy.float64, numpy.int64


def check_exportable(f) -> None:
    """One line when ``f`` is not a fitted forecaster without covariates and without the mask input whose networks
    output what its strategy needs (what the graph computes)."""
    if not getattr(f, "models", None):
        raise UserError("Forecaster ONNX export: expected a fitted forecaster (fit or load first), got none")
    if getattr(f, "covariates", None):
        raise UserError(f"Forecaster ONNX export: expected a forecaster without covariates, got covariates "
                        f"{list(f.covariates)[:5]}")
    strategy = getattr(f, "strategy", "direct")
    if strategy not in ("direct", "recursive"):
        raise UserError(f"Forecaster ONNX export: expected the direct or the recursive strategy, got {show(strategy)}")
    if getattr(f, "mask", False):
        raise UserError("Forecaster ONNX export: expected a forecaster without the mask input (fitted on series "
                        "all at least window + horizon long, or mask=False), got mask=True")
    check_outputs(f, "Forecaster ONNX export")


def input_layout(f) -> str:
    text = f"y: float64 (batch, {f.window}), the last {f.window} raw values of each series, oldest first"
    if f.season:
        text += (f"; start: int64 (batch,), the index in its series of y's first value (only start mod {f.season}"
                 f" matters: the season position of y[:, 0])")
    return text


def _index(g: _Graph, name: str, k: int) -> str:
    """A scalar int64 constant (``_Graph.const`` makes arrays of at least one dimension): Gather drops the axis."""
    g.inits.append(g.numpy_helper.from_array(numpy.array(k, dtype=I64), name))
    return name


def _normalise(g: _Graph) -> tuple[str, str, str]:
    """``features.normalise`` and the normalised window -> (level (batch, 1), scale (batch, 1), z (batch, window))."""
    level = g.node("ReduceMean", ["y"], ["level"], axes=[1], keepdims=1)
    d = g.node("Sub", ["y", level], ["centred"])
    var = g.node("ReduceMean", [g.node("Mul", [d, d], ["centred_sq"])], ["variance"], axes=[1], keepdims=1)
    std = g.node("Sqrt", [var], ["std"])
    size = g.node("Mul", [g.node("Abs", [level], ["level_abs"]), g.const("c_1e-3", F64(1e-3))], ["level_floor"])
    floor = g.node("Max", [size, g.const("c_1e-8", F64(1e-8))], ["scale_floor"])
    scale = g.node("Max", [std, floor], ["scale"])
    return level, scale, g.node("Div", [d, scale], ["z"])


def _features(g: _Graph, z: str, window: int, season) -> str:
    """``features.inputs``: (batch, window, 1 or 3) float32 -> the name of the networks' input."""
    ax2 = g.const("axis_2", numpy.array([2], dtype=I64))
    parts = [z]
    if season:
        start = g.node("Unsqueeze", ["start", g.const("axis_1", numpy.array([1], dtype=I64))], ["start_col"])
        pos = g.node("Add", [start, g.const("steps", numpy.arange(window, dtype=I64)[None])], ["position"])
        pos = g.node("Mod", [pos, g.const("season", numpy.array(season, dtype=I64))], ["season_pos"], fmod=0)
        pos = g.node("Cast", [pos], ["season_pos_f"], to=g.T.DOUBLE)
        phase = g.node("Div", [g.node("Mul", [pos, g.const("two_pi", F64(2 * math.pi))], ["phase_2pi"]),
                               g.const("season_f", F64(season))], ["phase"])
        parts += [g.node("Sin", [phase], ["phase_sin"]), g.node("Cos", [phase], ["phase_cos"])]
    cols = [g.node("Unsqueeze", [g.node("Cast", [p], [f"{p}_f32"], to=g.T.FLOAT), ax2], [f"{p}_col"]) for p in parts]
    return g.node("Concat", cols, ["features"], axis=2) if len(cols) > 1 else g.node("Identity", cols, ["features"])


def _members(g: _Graph, f, x: str) -> str:
    """Every member's network on ``x`` -> the median of their float64 outputs, (batch, horizon * Q)."""
    outs = []
    for k, model in enumerate(f.models):
        net = require("onnx", "ONNX export", "onnx").compose.add_prefix(build_onnx(model, zero_steps=False), f"m{k}/")
        g.node("Identity", [x], [f"m{k}/input"])
        g.nodes.extend(net.graph.node)
        g.inits.extend(net.graph.initializer)
        y = g.node("Cast", [f"m{k}/output"], [f"m{k}/output_f64"], to=g.T.DOUBLE)
        outs.append(g.node("Unsqueeze", [y, g.const(f"m{k}/row_axis", numpy.array([0], dtype=I64))], [f"m{k}/row"]))
    if len(outs) == 1:
        return g.node("Squeeze", [outs[0], "m0/row_axis"], ["net_out"])
    K = len(outs)
    stacked = g.node("Concat", outs, ["members"], axis=0)
    ranked, _ = g.node("TopK", [stacked, g.const("n_members", numpy.array([K], dtype=I64))],
                       ["members_sorted", "members_order"], axis=0, largest=0, sorted=1)
    lo = g.node("Gather", [ranked, _index(g, "mid_lo", (K - 1) // 2)], ["mid_lo_v"], axis=0)
    if K % 2:
        return g.node("Identity", [lo], ["net_out"])
    hi = g.node("Gather", [ranked, _index(g, "mid_hi", K // 2)], ["mid_hi_v"], axis=0)
    return g.node("Mul", [g.node("Add", [lo, hi], ["mid_sum"]), g.const("half", F64(0.5))], ["net_out"])


def sorted_quantiles(g: _Graph, f, idx, steps: int, net: str, level: str, scale: str, z: str) -> str:
    """The networks' ``steps`` x Q outputs ``net`` with the base added (``idx``: its window position per step ahead,
    or None), the units put back and the quantiles sorted -> ``quantiles`` (batch, steps, Q)."""
    Q = len(f.quantiles)
    q = g.node("Reshape", [net, g.const("q_shape", numpy.array([-1, steps, Q], dtype=I64))], ["net_q"])
    if idx is not None:
        base = g.node("Gather", [z, g.const("base_index", idx)], ["base"], axis=1)
        q = g.node("Add", [q, g.node("Unsqueeze", [base, "axis_2"], ["base_col"])], ["with_base"])
    s3 = g.node("Unsqueeze", [scale, "axis_2"], ["scale_3"])
    l3 = g.node("Unsqueeze", [level, "axis_2"], ["level_3"])
    raw = g.node("Add", [g.node("Mul", [q, s3], ["scaled"]), l3], ["raw"])
    return g.node("TopK", [raw, g.const("n_quantiles", numpy.array([Q], dtype=I64))], ["quantiles", "quantile_order"],
                  axis=2, largest=0, sorted=1)[0]


def _outputs(g: _Graph, f, facts: ForecasterFacts) -> None:
    """The ``quantiles`` output (batch, horizon, Q) and one output per column of ``predict``."""
    Q = len(f.quantiles)
    g.outputs.append(g.value("quantiles", ["batch", f.horizon, Q], g.T.DOUBLE))
    for name, k in facts.columns(f):
        g.node("Gather", ["quantiles", _index(g, f"col_{name}", k)], [name], axis=2)
        g.outputs.append(g.value(name, ["batch", f.horizon], g.T.DOUBLE))


def step_graph(g: _Graph, f) -> tuple[str, str, str, str]:
    """The window ``y`` (and ``start``) normalised and through every member -> (median outputs, level, scale, z)."""
    level, scale, z = _normalise(g)
    return _members(g, f, _features(g, z, f.window, f.season)), level, scale, z


def metadata(f, facts: ForecasterFacts) -> dict:
    return {"gatedrnn.model": "Forecaster", "cell": str(f.cell), "window": str(f.window),
            "season": str(f.season) if f.season else "none", "horizon": str(f.horizon),
            "quantiles": json.dumps(f.quantiles), "base": f.base, "n_models": str(len(f.models)),
            "strategy": str(f.strategy),
            "outputs": json.dumps(["quantiles"] + [name for name, _ in facts.columns(f)]), "inputs": input_layout(f)}


def build_forecaster_onnx(f, facts: ForecasterFacts | None = None):
    """-> ``onnx.ModelProto`` of the fitted forecaster ``f`` (module docstring), checked by ``onnx.checker``;
    ``facts``: its export adapter's (by default the one registered for its class)."""
    facts = facts or facts_of(f, "Forecaster ONNX export")
    facts.refuse_export(f, "export --onnx", "its ONNX export is the step graph of deploy/onnx_esrnn.py")
    check_exportable(f)
    onnx = require("onnx", "ONNX export", "onnx")
    from onnx import TensorProto, helper, numpy_helper

    g = _Graph(helper, numpy_helper, TensorProto)
    g.inputs.append(g.value("y", ["batch", f.window], TensorProto.DOUBLE))
    if f.season:
        g.inputs.append(g.value("start", ["batch"], TensorProto.INT64))
    idx = facts.base_positions(f)
    if f.strategy == "recursive":              # one step in a Loop's body, run horizon times
        recursive_quantiles(g, f, lambda b: sorted_quantiles(b, f, None if idx is None else idx[:1], 1, *step_graph(b, f)))
    else:
        sorted_quantiles(g, f, idx, f.horizon, *step_graph(g, f))
    _outputs(g, f, facts)
    return checked_model(onnx, g, "gatedrnn_forecaster", metadata(f, facts))


def export_forecaster_onnx(f, path, facts: ForecasterFacts | None = None) -> Path:
    """Write the forecaster's graph to ``path`` (temporary file, then rename); returns the path."""
    return write_bytes_atomic(path, build_forecaster_onnx(f, facts).SerializeToString())


def run_forecaster_onnx(path_or_proto, y, start=None) -> dict:
    """Run an exported forecaster in onnxruntime: ``y`` (batch, window) raw values, ``start`` (batch,) the index
    of each row's first value in its series (with a season). Returns {output name: array}."""
    ort = require("onnxruntime", "running an ONNX model", "onnx")
    src = path_or_proto.SerializeToString() if hasattr(path_or_proto, "SerializeToString") else str(path_or_proto)
    sess = ort.InferenceSession(src, providers=["CPUExecutionProvider"])
    feed: dict[str, numpy.ndarray] = {"y": numpy.asarray(y, dtype=F64)}
    if any(i.name == "start" for i in sess.get_inputs()):
        if start is None:
            raise UserError("run_forecaster_onnx: expected start (the index of each window's first value), got none")
        feed["start"] = numpy.asarray(start, dtype=I64).reshape(-1)
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, feed)))


def max_rel_diff(f, path_or_proto, tails, starts) -> float:
    """Largest |onnxruntime - quantile_forecast| / |quantile_forecast| over every quantile of every row."""
    ours = f.quantile_forecast(numpy.asarray(tails, dtype=F64), numpy.asarray(starts))
    theirs = run_forecaster_onnx(path_or_proto, tails, starts)["quantiles"]
    return float(numpy.max(numpy.abs(theirs - ours) / numpy.maximum(numpy.abs(ours), 1e-12)))


def export_forecaster_folder(facts: ForecasterFacts, ck: Path, target: Path, echo=print) -> dict:
    """``gatedrnn export`` of a checkpoint ``ck`` written by ``Forecaster.save`` (loaded by ``facts``, its
    adapter's): every member (``ck``'s folder holds ``model``, ``model-1`` ...) in one graph, checked in onnxruntime
    on the saved tails of its series before it is written: a difference that is not a finite number is an error
    and nothing is written."""
    f = facts.load_folder(ck)
    if f.model == "esrnn":                       # the hybrid's own step graph (deploy/onnx_esrnn.py)
        return export_esrnn_onnx_folder(f, target, echo=echo)
    proto = build_forecaster_onnx(f, facts)
    diff, note = None, "note: onnxruntime is not installed, so the export was not run (pip install -e \".[onnx]\")"
    if importlib.util.find_spec("onnxruntime") is not None:
        panel = f.panel
        if panel is None:
            raise RuntimeError("Forecaster.load returned a forecaster without its series")
        tails = numpy.stack([v[-f.window:] for v in panel.values])
        starts = numpy.array([v.size - f.window for v in panel.values])
        diff = max_rel_diff(f, proto, tails, starts)
        if not math.isfinite(diff):
            raise UserError(f"Forecaster ONNX export of {ck.parent}: expected onnxruntime's forecasts to match "
                            f"Forecaster.quantile_forecast, got a max relative difference of {diff} (nothing written)")
        note = (f"onnxruntime vs Forecaster.quantile_forecast on the last window of its {len(tails)} series: max "
                f"relative difference {diff:.2e}")
    path = write_bytes_atomic(target, proto.SerializeToString())
    size = path.stat().st_size
    echo(f"wrote {path} ({size:,} bytes): Forecaster, {str(f.cell).upper()} {f.hidden_size} units x {f.num_layers}"
         f", {len(f.models)} member(s), window {f.window}, season {f.season or 'none'}, horizon {f.horizon}{recursive_note(f)}; raw "
         f"values in, forecasts in the series' units out; opset {OPSET}; onnx.checker passed")
    echo(note)
    return {"path": path, "bytes": size, "max_rel_diff": diff}
