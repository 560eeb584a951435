"""The ONNX export of low-rank FastGRNN/FastRNN classifiers (issue 27): the graph (the cells' Scan step, W and U
multiplied out) run by onnxruntime equals the network's forward at the last step and Stream at every step."""

import numpy as np
import pytest

from gatedrnn.models.classifier import SequenceClassifier
from gatedrnn.models.stream import Stream


@pytest.mark.parametrize("cell", ["fastgrnn", "fastrnn"])
def test_low_rank_classifier_onnx_equals_forward_and_stream(cell):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from gatedrnn.deploy.onnx import build_onnx

    model = SequenceClassifier(5, 16, 4, num_layers=2, cell=cell, seed=0, rank_ih=2, rank_hh=4).eval()
    sess = ort.InferenceSession(build_onnx(model).SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((3, 7, 5)).astype(np.float32)
    out = sess.run(None, {"input": x})[0]
    logits, _ = model.forward(x)
    np.testing.assert_allclose(out[:, -1], np.asarray(logits), atol=1e-5)
    np.testing.assert_allclose(out[0], np.asarray(Stream(model).run(x[0])), atol=1e-5)
