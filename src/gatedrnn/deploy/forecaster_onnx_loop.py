"""The ONNX graph of a recursive ``forecast.Forecaster`` (``strategy="recursive"``): its one-step network run
``horizon`` times by an ONNX ``Loop``, as ``Forecaster.quantile_forecast`` does.

The Loop's body is the direct graph's computation for one step ahead (``deploy/forecaster_onnx.py``: the window
normalised, the season phase, every member, their median, the base, the units put back, the quantiles sorted),
with the window ``y`` (batch, window) and, with a season, ``start`` (batch,) carried from one iteration to the next:
after each step the window slides by one, the step's median (the 0.5 quantile, after the sort) appended as its
newest value, and ``start`` grows by one. The body's per-step quantiles (batch, Q) are the Loop's scan output,
(horizon, batch, Q), transposed to the graph's ``quantiles`` (batch, horizon, Q).

A Loop rather than the network unrolled ``horizon`` times: the graph holds one copy of the step whatever the
horizon (its size is that of the direct graph of horizon 1, plus a few nodes), where an unrolled graph grows with
the horizon (30 copies of every member's nodes for sunspots' horizon of 30), and it keeps the one-step body the
same code as the direct graph's. The body's names are prefixed ``step/`` (a subgraph must not shadow the outer
graph's names); its weights are the body's own initializers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy

from gatedrnn.errors import require

I64 = numpy.int64


def _scalar(g, name: str, value, dtype) -> str:
    """A 0-d constant (``_Graph.const`` keeps at least one dimension)."""
    g.inits.append(g.numpy_helper.from_array(numpy.array(value, dtype=dtype), name))
    return name


def _body(g, f, step: Callable[..., str]):
    """The Loop's body graph: (iteration, condition, y[, start]) -> (condition, next y[, next start], the step's
    sorted quantiles (batch, Q)); ``step(body)`` adds the one-step computation on ``y`` (and ``start``) and returns
    its sorted quantiles (batch, 1, Q)."""
    b = type(g)(g.helper, g.numpy_helper, g.T)
    T, W, seasonal = g.T, f.window, bool(f.season)
    b.inputs += [b.value("iteration", [], T.INT64), b.value("cond_in", [], T.BOOL),
                 b.value("y", ["batch", W], T.DOUBLE)]
    if seasonal:
        b.inputs.append(b.value("start", ["batch"], T.INT64))
    q = step(b)
    mid = _scalar(b, "mid", list(f.quantiles).index(0.5), I64)
    median = b.node("Gather", [q, mid], ["median"], axis=2)                       # (batch, 1)
    older = b.node("Slice", ["y", b.const("from_1", numpy.array([1], I64)), b.const("to_w", numpy.array([W], I64)),
                             b.const("on_axis_1", numpy.array([1], I64))], ["y_older"])
    outs = [b.node("Identity", ["cond_in"], ["cond_out"]), b.node("Concat", [older, median], ["y_next"], axis=1)]
    if seasonal:
        outs.append(b.node("Add", ["start", _scalar(b, "one", 1, I64)], ["start_next"]))
    outs.append(b.node("Squeeze", [q, b.const("squeeze_1", numpy.array([1], I64))], ["step_quantiles"]))
    elems = [T.BOOL, T.DOUBLE] + ([T.INT64] if seasonal else []) + [T.DOUBLE]
    b.outputs = [b.value(name, None, e) for name, e in zip(outs, elems)]
    body = g.helper.make_graph(b.nodes, "recursive_step", b.inputs, b.outputs, initializer=b.inits)
    return require("onnx", "ONNX export", "onnx").compose.add_prefix_graph(body, "step/")


def recursive_quantiles(g, f, step: Callable[..., str]) -> str:
    """Add the Loop over ``f.horizon`` steps to ``g`` (inputs ``y`` and, with a season, ``start``) -> the name of
    ``quantiles`` (batch, horizon, Q); ``step``: see ``_body``."""
    carried = ["y", "start"] if f.season else ["y"]
    trip = _scalar(g, "horizon_steps", f.horizon, I64)
    outs = g.node("Loop", [trip, "", *carried], [f"{c}_last" for c in carried] + ["steps_quantiles"],
                  body=_body(g, f, step))
    return g.node("Transpose", [outs[-1]], ["quantiles"], perm=[1, 0, 2])
