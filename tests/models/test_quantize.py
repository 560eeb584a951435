"""int8 weights: symmetric per-output-unit quantisation, the quantised Stream, and the 4x smaller weights."""

import numpy as np
import pytest

from gatedrnn.errors import UserError
from gatedrnn.layers import CELLS
from gatedrnn.models import LanguageModel, SequenceRegressor
from gatedrnn.models.quantize import QuantizedStream, dequantize, float_weight_bytes, quantize_columns, quantize_stream, weight_bytes
from gatedrnn.models.stream import Stream


def test_quantize_columns_is_symmetric_per_column(rng):
    W = rng.standard_normal((7, 5)) * np.array([1e-3, 0.1, 1.0, 10.0, 0.0])
    q, scale = quantize_columns(W)
    assert q.dtype == np.int8 and scale.dtype == np.float32 and scale.shape == (5,)
    assert np.all(np.abs(q[:, :4]).max(axis=0) == 127) and np.all(q[:, 4] == 0) and scale[4] == 0
    assert q.min() >= -127
    err = np.abs(dequantize(q, scale) - W)
    assert np.all(err <= scale * 0.5 + 1e-6 * np.abs(W).max(axis=0))
    assert np.array_equal(quantize_columns(-W)[0], -q)                    # symmetric
    with pytest.raises(UserError, match="int8 quantisation: expected finite weights, got NaN or Inf"):
        quantize_columns(np.array([[1.0, np.nan]]))


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_quantized_stream_stays_close_to_the_float_stream(cell, rng):
    model = SequenceRegressor(3, 16, 2, num_layers=2, cell=cell, seed=0)
    xs = rng.standard_normal((300, 3)).astype(np.float32)
    y, yq = Stream(model).run(xs), QuantizedStream(model).run(xs)
    assert 0 < np.abs(y - yq).max() < 0.05
    # its weights are the dequantised int8 weights, the biases untouched
    s = QuantizedStream(model)
    part = s.quantized["layers"][0]
    W = s._weights[0]
    D = model.rnn.input_size
    assert np.array_equal(W[:D], dequantize(*part["x"])) and np.array_equal(W[-1], part["b"])


def test_weights_are_about_four_times_smaller(rng):
    lm = LanguageModel(500, 64, 64, num_layers=2, seed=0)
    s = Stream(lm)
    ratio = float_weight_bytes(s) / weight_bytes(quantize_stream(s))
    assert 3.6 < ratio < 4.0          # the matrices 4x; float32 scales and biases besides
    ids = rng.integers(0, 500, 200)
    a = Stream(lm).run(ids.reshape(-1, 1))
    b = QuantizedStream(lm).run(ids.reshape(-1, 1))
    assert np.mean(a.argmax(-1) == b.argmax(-1)) > 0.9
