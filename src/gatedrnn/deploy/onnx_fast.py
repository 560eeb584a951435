"""The fast cells (FastRNN, FastGRNN: ``layers/fast_base.py``) as ONNX nodes over a whole sequence.

No ONNX recurrent operator has their form (the shared W and U, the learned scalars, FastGRNN's (zeta, nu) mix;
ONNX's RNN has no leak, its GRU three blocks and no nu), so the export writes the graph itself: ``MatMul`` of all
steps' inputs by W, then a ``Scan`` whose body is one step: ``U h_prev`` and the cell's gate math (its module in
``deploy/cells/``: ``body(layer, node, const)``, from ``p_t`` (W x_t), ``rec`` (U h_prev) and ``h_prev`` to
``h_next``). ``g`` below is ``deploy.onnx``'s graph builder.
"""

from __future__ import annotations

import numpy

from gatedrnn.backend import to_numpy


def fast_nodes(body):
    """-> ``nodes(layer, g, x, h0, tag)``: the full-sequence nodes of a fast cell whose step is ``body`` ->
    (output (seq, batch, H), final state (1, batch, H))."""

    def nodes(layer, g, x: str, h0: str | None, tag: str):
        helper, nh, T = g.helper, g.numpy_helper, g.T
        f32 = numpy.float32
        P = g.node("MatMul", [x, g.const(f"{tag}_W", numpy.asarray(to_numpy(layer.dense("ih")), dtype=f32))],
                   [f"{tag}_P"])
        if h0 is None:
            shape = g.node("Shape", [P], [f"{tag}_shape"])
            bh = g.node("Slice", [shape, g.const(f"{tag}_1", numpy.array([1], numpy.int64)),
                                  g.const(f"{tag}_3", numpy.array([3], numpy.int64))], [f"{tag}_bh"])
            h0 = g.node("ConstantOfShape", [bh], [f"{tag}_h0"], value=helper.make_tensor("zero", T.FLOAT, [1], [0.0]))
        else:
            h0 = g.node("Squeeze", [h0, g.const(f"{tag}_axis0", numpy.array([0], numpy.int64))], [f"{tag}_h0"])
        steps: list = []

        def node(op, ins, out):
            steps.append(helper.make_node(op, ins, [out]))
            return out

        def const(name, value):
            arr = numpy.asarray(value, dtype=f32)
            steps.append(helper.make_node("Constant", [], [name], value=nh.from_array(arr, name)))
            return name

        node("MatMul", ["h_prev", const("U", to_numpy(layer.dense("hh")))], "rec")
        body(layer, node, const)
        node("Identity", ["h_next"], "y_t")
        v = [helper.make_tensor_value_info(n, T.FLOAT, None) for n in ("h_prev", "p_t", "h_next", "y_t")]
        graph = helper.make_graph(steps, f"{tag}_step", v[:2], v[2:])
        hn, y = g.node("Scan", [h0, P], [f"{tag}_hn", f"{tag}_Y"], body=graph, num_scan_inputs=1)
        return y, g.node("Unsqueeze", [hn, g.const(f"{tag}_axis0u", numpy.array([0], numpy.int64))], [f"{tag}_h_n"])

    return nodes
