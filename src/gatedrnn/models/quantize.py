"""int8 weights: post-training symmetric quantisation with one scale per output unit; activations and state stay
float32.

``quantize_columns(W) -> (q, scale)`` quantises a weight matrix in gatedrnn's internal layout (inputs, outputs),
one column per output unit (a column here is a row of PyTorch's (outputs, inputs) layout): ``scale_j =
max_i |W_ij| / 127`` (float32) and ``q_ij = round(W_ij / scale_j)`` in [-127, 127] (symmetric: -128 is not
used); a column of zeros gets scale 0. Weights beyond float32's range (a fused bias of two summed near 3e38)
are refused in one line; a scale whose rounding to float32 would put ``127 * scale`` past float32's largest
value is taken one float32 step smaller, so every scale and every dequantised weight is finite.
``dequantize(q, scale)`` is ``q * scale`` in float32, the weights the
quantised model computes with.

``quantize_stream(stream)`` quantises what a ``Stream`` computes with, the parts the C export writes too:

* each layer's fused step matrix ``[W_ih; W_hh; b]`` (``layer.step_weights()``) in two parts, its input rows
  and its recurrent rows, each per column; the bias row stays float32. The step matrix only rearranges and
  zero-fills columns and multiplies them by exact powers of two, so this is per-output-row quantisation of
  ``weight_ih`` and ``weight_hh`` themselves;
* the head's ``(hidden, outputs)`` matrix per column (per output unit), its bias float32;
* a language model's embedding table per row (per token: a row is what a step reads).

``QuantizedStream(model, batch=1)`` is a ``Stream`` whose weights are those dequantised int8 weights: the Python
reference that the C export's int8 variant is checked against, and how the accuracy cost of int8 is measured.
``weight_bytes(parts)`` counts the bytes of the weights (matrices, scales, biases) in either precision.
"""

from __future__ import annotations

import numpy

from gatedrnn.backend import to_numpy, xp
from gatedrnn.errors import UserError
from gatedrnn.models.stream import Stream, check_fits

QMAX = 127


def quantize_columns(W) -> tuple[numpy.ndarray, numpy.ndarray]:
    """-> (q int8 of W's shape, scale float32 (columns,)): symmetric, one scale per column (see the module
    docstring)."""
    W = numpy.asarray(W, dtype=numpy.float64)
    if not numpy.isfinite(W).all():
        raise UserError("int8 quantisation: expected finite weights, got NaN or Inf")
    check_fits("int8 quantisation: a weight matrix", W, numpy.float32)
    scale = (numpy.abs(W).max(axis=0, initial=0.0) / QMAX).astype(numpy.float32)
    # a scale rounded up to float32 can put QMAX * scale past float32's largest value: one step down keeps it inside
    over = QMAX * scale.astype(numpy.float64) > float(numpy.finfo(numpy.float32).max)
    scale = numpy.where(over, numpy.nextafter(scale, numpy.float32(0)), scale).astype(numpy.float32)
    safe = numpy.where(scale > 0, scale, 1.0).astype(numpy.float64)
    q = numpy.clip(numpy.rint(W / safe), -QMAX, QMAX).astype(numpy.int8)
    return q, scale


def dequantize(q, scale) -> numpy.ndarray:
    """``q * scale`` in float32 (exact products rounded once, as a float32 multiply in C rounds them)."""
    return (numpy.asarray(q, dtype=numpy.float64) * numpy.asarray(scale, dtype=numpy.float64)).astype(numpy.float32)


def quantize_layer(W, input_size: int, hidden_size: int) -> dict:
    """A fused step matrix ``(input_size + hidden_size + 1, N)`` -> ``{"x": (q, scale), "h": (q, scale), "b":
    float32 (N,)}``: input rows and recurrent rows per column, the bias row kept."""
    D, H = input_size, hidden_size
    W = numpy.asarray(W, dtype=numpy.float64)
    check_fits("int8 quantisation: a bias row (b_ih + b_hh)", W[D + H], numpy.float32)
    return {"x": quantize_columns(W[:D]), "h": quantize_columns(W[D:D + H]),
            "b": W[D + H].astype(numpy.float32)}


def dequantize_layer(part: dict) -> numpy.ndarray:
    """The inverse arrangement of ``quantize_layer``: the fused float32 matrix with dequantised weight rows."""
    return numpy.concatenate([dequantize(*part["x"]), dequantize(*part["h"]), part["b"][None]], axis=0)


def quantize_stream(stream: Stream) -> dict:
    """``{"layers": [quantize_layer ...], "head": {"w": (q, scale), "b"} or None, "embed": (q (V, E), scale
    (V,)) or None}`` from the float64 weights of ``stream``'s model (see the module docstring)."""
    layers = [quantize_layer(layer.step_weights(), layer.input_size, layer.hidden_size)
              for layer in stream.rnn.layers]
    head = None
    if stream.head is not None:
        W = numpy.asarray(to_numpy(stream.head.W), dtype=numpy.float64).T
        b = numpy.zeros(W.shape[1]) if stream.head.b is None else to_numpy(stream.head.b)
        head = {"w": quantize_columns(W), "b": numpy.asarray(b, dtype=numpy.float32)}
    embed = None
    if stream.embed is not None:
        q, scale = quantize_columns(numpy.asarray(to_numpy(stream.embed.W), dtype=numpy.float64).T)
        embed = (numpy.ascontiguousarray(q.T), scale)
    return {"layers": layers, "head": head, "embed": embed}


def weight_bytes(parts: dict) -> int:
    """Bytes of the weights in ``quantize_stream``'s dict: int8 matrices, float32 scales and biases."""
    n = 0
    for part in parts["layers"]:
        n += sum(q.nbytes + s.nbytes for q, s in (part["x"], part["h"])) + part["b"].nbytes
    if parts["head"] is not None:
        q, s = parts["head"]["w"]
        n += q.nbytes + s.nbytes + parts["head"]["b"].nbytes
    if parts["embed"] is not None:
        n += sum(a.nbytes for a in parts["embed"])
    return n


def float_weight_bytes(stream: Stream) -> int:
    """Bytes of the same weights in float32 (the fused step matrices, the head with its bias, the embedding)."""
    n = sum(layer.step_weights().size * 4 for layer in stream.rnn.layers)
    if stream.head is not None:
        n += (stream.head.in_features + 1) * stream.head.out_features * 4
    if stream.embed is not None:
        n += int(numpy.prod(stream.embed.W.shape)) * 4
    return n


class QuantizedStream(Stream):
    """A ``Stream`` computing with int8-quantised-then-dequantised weights (see the module docstring);
    ``self.quantized`` holds the int8 arrays and scales (``quantize_stream``)."""

    def refresh(self) -> None:
        super().refresh()
        self.quantized = parts = quantize_stream(self)
        self._weights = [xp.asarray(dequantize_layer(p), dtype=self.dtype) for p in parts["layers"]]
        if parts["head"] is not None:
            W = numpy.concatenate([dequantize(*parts["head"]["w"]), parts["head"]["b"][None]], axis=0)
            self._head_W = xp.asarray(W, dtype=self.dtype)
        if parts["embed"] is not None:
            q, scale = parts["embed"]
            self._embed_W = xp.asarray(dequantize(q.T, scale).T, dtype=self.dtype)
        self.input_limit = self._input_limit()
