"""The min cells (minGRU, minLSTM: ``layers/min_base.py``) as ONNX nodes over a whole sequence.

No ONNX recurrent operator has their form (ONNX's GRU always multiplies h by R, and their candidate
``g(p) = sigmoid(min(p, 0)) + max(p, 0)`` is none of its activations), so the export writes the graph itself:
MatMul + Add for the pre-activations of all steps, the cell's gate math for the keep gate a (its module in
``deploy/cells/``), ``Sigmoid(Min(p, 0)) + Relu(p)`` for g, and the recurrence ``h_t = a_t h_{t-1} + (1 - a_t) v_t``
as an ONNX ``Scan`` node (``onnx_scan``). ``g`` below is ``deploy.onnx``'s graph builder (``const``, ``node``,
``helper``, ``T``).
"""

from __future__ import annotations

import numpy

from gatedrnn.backend import to_numpy


def onnx_scan(g, a: str, b: str, h0: str | None, tag: str):
    """Add ONNX nodes computing the scan over seq-major ``a``, ``b`` (seq, batch, H) from ``h0`` ((1, batch, H),
    or None for zeros) -> (output (seq, batch, H), final state (1, batch, H)). ONNX's ``Scan`` operator runs a
    body graph per step with a state in and out: ``h = a_t * h + b_t``."""
    helper, T = g.helper, g.T
    if h0 is None:
        shape = g.node("Shape", [a], [f"{tag}_shape"])
        bh = g.node("Slice", [shape, g.const(f"{tag}_1", numpy.array([1], numpy.int64)),
                              g.const(f"{tag}_3", numpy.array([3], numpy.int64))], [f"{tag}_bh"])
        h0 = g.node("ConstantOfShape", [bh], [f"{tag}_h0"], value=helper.make_tensor("zero", T.FLOAT, [1], [0.0]))
    else:
        h0 = g.node("Squeeze", [h0, g.const(f"{tag}_axis0", numpy.array([0], numpy.int64))], [f"{tag}_h0"])
    v = [helper.make_tensor_value_info(n, T.FLOAT, None) for n in ("h_prev", "a_t", "b_t", "h_next", "y_t")]
    body = helper.make_graph([helper.make_node("Mul", ["a_t", "h_prev"], ["ah"]),
                              helper.make_node("Add", ["ah", "b_t"], ["h_next"]),
                              helper.make_node("Identity", ["h_next"], ["y_t"])], f"{tag}_step", v[:3], v[3:])
    hn, y = g.node("Scan", [h0, a, b], [f"{tag}_hn", f"{tag}_Y"], body=body, num_scan_inputs=2)
    return y, g.node("Unsqueeze", [hn, g.const(f"{tag}_axis0u", numpy.array([0], numpy.int64))], [f"{tag}_h_n"])


def min_nodes(gates):
    """-> ``nodes(layer, g, x, h0, tag)``: the pre-activations of all steps (MatMul + Add), the cell's keep gate
    (``gates(g, gate blocks, tag) -> a``), the candidate, then the scan (``onnx_scan``) -> (output (seq, batch, H),
    final state (1, batch, H))."""

    def nodes(layer, g, x: str, h0: str | None, tag: str):
        H = layer.hidden_size
        W, b = to_numpy(layer.Wx).astype(numpy.float32), to_numpy(layer.b_ih).astype(numpy.float32)
        blocks = []
        for j in range(layer.gates):
            mm = g.node("MatMul", [x, g.const(f"{tag}_W{j}", W[:, j * H:(j + 1) * H])], [f"{tag}_mm{j}"])
            blocks.append(g.node("Add", [mm, g.const(f"{tag}_b{j}", b[j * H:(j + 1) * H])], [f"{tag}_p{j}"]))
        one, zero = g.const(f"{tag}_one", numpy.float32(1.0)), g.const(f"{tag}_zero", numpy.float32(0.0))
        low = g.node("Sigmoid", [g.node("Min", [blocks[-1], zero], [f"{tag}_min"])], [f"{tag}_low"])
        v = g.node("Add", [low, g.node("Relu", [blocks[-1]], [f"{tag}_relu"])], [f"{tag}_v"])
        a = gates(g, blocks[:-1], tag)
        bt = g.node("Mul", [g.node("Sub", [one, a], [f"{tag}_1ma"]), v], [f"{tag}_bt"])
        return onnx_scan(g, a, bt, h0, tag)

    return nodes
