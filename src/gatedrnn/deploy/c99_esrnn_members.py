"""The members of a ``Forecaster(model="esrnn")`` in its C export (``deploy/c99_esrnn.py``): their constants, the
table that points at them, and the forecast that takes their median.

The members (``n_models`` seeds, each with its ``snapshots``) share the architecture, so the C holds one copy of
the code and, per member, only what differs: its per-series smoothing constants (alpha, gamma, gamma2, the
initial seasonal indices) and its network's float32 weights, each array named ``<prefix>_m<k>_<what>``. The
table ``<prefix>_members[k]`` (a ``<prefix>_weights`` of pointers, one field per array) is what the shared push
reads member k through. The additive form's fixed scales (one per series, the same for every member: the span's
mean absolute value) and the quantile levels are written once.

``<prefix>_forecast`` then does what ``ESRNNForecaster.forecast_values`` and ``ESRNNStream.forecast`` do: each
member's quantiles of a step re-levelled, re-seasonalised and sorted ascending; the median over the members of
each sorted position (the middle one, or the mean of the two middle ones for an even count, as ``numpy.median``);
the step's medians sorted again. One helper, ``<prefix>_insert`` (a value put into its place in an ascending
run), does all three sorts.
"""

from __future__ import annotations

import numpy

from gatedrnn.backend import sigmoid, to_numpy
from gatedrnn.deploy.c99 import c_array
from gatedrnn.models.esrnn_step import StepState, replay


def member_arrays(model, layers, mp: str) -> tuple[list[str], list[tuple[str, str]]]:
    """(C lines, [(C type, field)]) of one member ``model`` under the array prefix ``mp``: the smoothing constants,
    each layer's bias ``b<k>``, input ``wx<k>`` and recurrent ``wh<k>`` weights, the hidden tanh layer and the head."""
    es, n = model.es, model.n_series
    parts = [("double", "alpha", to_numpy(sigmoid(es.alpha_raw))),
             ("double", "gamma", to_numpy(sigmoid(es.gamma_raw)) if model.season else numpy.zeros(n))]
    if model.season:
        parts.append(("double", "s0", to_numpy(es._initial(es.init_raw))))
    if model.season2:
        parts += [("double", "gamma2", to_numpy(sigmoid(es.gamma2_raw))), ("double", "S0", to_numpy(es._initial(es.init2_raw)))]
    H = model.config["hidden_size"]
    for k, layer in enumerate(layers):
        W = numpy.asarray(to_numpy(layer.stack.layers[0].step_weights()), dtype=numpy.float64)
        D = layer.input_size
        parts += [("float", f"b{k}", W[D + H]), ("float", f"wx{k}", W[:D]), ("float", f"wh{k}", W[D:D + H])]
    for name, lin in (("hid", model.hidden), ("head", model.head)):
        parts += [("float", f"{name}_w", to_numpy(lin.W).T), ("float", f"{name}_b", to_numpy(lin.b))]
    lines: list[str] = []
    for ctype, field, values in parts:
        lines += c_array(ctype, f"{mp}_{field}", values)
    return lines, [(ctype, field) for ctype, field, _ in parts]


def weights_table(p: str, fields: list[tuple[str, str]], K: int) -> tuple[list[str], list[str]]:
    """(typedef lines, table lines): ``<p>_weights`` with a pointer per field and ``<p>_members[K]``."""
    typedef = ["/* one member's constants: its per-series smoothing and its network */", "typedef struct {"]
    typedef += [f"    const {ctype} *{field};" for ctype, field in fields] + [f"}} {p}_weights;"]
    rows = [f"    {{{', '.join(f'{p}_m{k}_{field}' for _, field in fields)}}}" for k in range(K)]
    return typedef, [f"static const {p}_weights {p}_members[{K}] = {{", ",\n".join(rows), "};"]


def forecast_lines(model, p: str, K: int) -> list[str]:
    """``<p>_insert`` and ``<p>_forecast``: every member's sorted quantiles, their median, sorted (module docstring)."""
    Q, H = len(model.quantiles), model.horizon
    F = (lambda v: f"log({v})") if model.mult else (lambda v: f"{v} / {p}_scale[s->series]")
    fut = F(f"m->s[(s->t + k) % {model.season or 1}]")
    if model.season2:
        fut += f" + {F(f'm->S[(s->t + k) % {model.season2}]')}"
    inv = "exp(u)" if model.mult else f"u * {p}_scale[s->series]"
    mid = f"col[{K // 2}]" if K % 2 else f"0.5 * (col[{K // 2 - 1}] + col[{K // 2}])"
    return [f"static void {p}_insert(double *v, int n, double x)",
            "{", "    /* v[0 .. n-1] ascending -> v[0 .. n] ascending with x in its place */", "    int r;",
            "    for (r = n; r > 0 && v[r - 1] > x; --r) v[r] = v[r - 1];", "    v[r] = x;", "}", "",
            f"int {p}_forecast(const {p}_state *s, double *out)", "{",
            f"    double each[{K}][{Q}], col[{K}];", "    int j, k, q;",
            f"    if (s->t < {model.window}) return -1;", f"    for (k = 0; k < {H}; ++k) {{",
            f"        double *o = out + (long)k * {Q};", f"        for (j = 0; j < {K}; ++j) {{",
            f"            const {p}_member *m = &s->m[j];", f"            const double fut = {fut};",
            f"            for (q = 0; q < {Q}; ++q) {{", f"                const double u = m->out[k * {Q} + q] + m->last + fut;",
            f"                {p}_insert(each[j], q, {inv});", "            }", "        }",
            f"        for (q = 0; q < {Q}; ++q) {{", f"            for (j = 0; j < {K}; ++j) {p}_insert(col, j, each[j][q]);",
            f"            {p}_insert(o, q, {mid});", "        }", "    }", "    return 0;", "}"]


def members_median(forecasts: list) -> numpy.ndarray:
    """The members' (horizon, Q) forecasts -> their median, sorted per step (what the C returns)."""
    if len(forecasts) == 1:
        return numpy.asarray(forecasts[0], dtype=numpy.float64)
    return numpy.sort(numpy.median(numpy.stack(forecasts), axis=0), axis=1)


def continuation(values, n: int, seed: int = 0) -> numpy.ndarray:
    """``n`` values continuing ``values``: its last half repeated, with 2 % noise (positive where it is)."""
    rng = numpy.random.default_rng(seed)
    base = numpy.resize(numpy.asarray(values, dtype=numpy.float64)[-max(len(values) // 2, 1):], n)
    return base * numpy.exp(rng.normal(size=n) * 0.02)


class MembersReference:
    """What an export of ``f`` must equal for series ``row``: every member's ``StepState`` run over its fitted span
    (``span``), then ``push(v)`` -> the members' median after one more value (``ESRNNStream.forecast``)."""

    def __init__(self, f, row: int):
        self.row, self.span = row, numpy.asarray(f.panel.values[row], dtype=numpy.float64)
        self.states = [StepState(m, m.scales) for m in f.models]
        for state in self.states:
            replay(state, [self.span], [row])

    def push(self, v: float) -> numpy.ndarray:
        for state in self.states:
            state.push([self.row], [float(v)])
        return members_median([state.forecast([self.row])[0] for state in self.states])
