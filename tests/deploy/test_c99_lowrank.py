"""Low-rank FastGRNN/FastRNN in the float32 C export (issue 27): W = W1 W2 and U = U1 U2 are stored as their
factors and applied as two products, (v W1) W2, so the weights shrink with the ranks; the step equals Stream
over 10,000 steps (float32 rounding of the other order of products: < 1e-4); int8 weights quantise the product."""

import numpy as np
import pytest

from gatedrnn.deploy.c99 import c_sources, const_bytes, export_c
from gatedrnn.deploy.c99_run import check_export, find_cc
from gatedrnn.layers import make_recurrent
from gatedrnn.models.classifier import SequenceClassifier

STANDARDIZE = (np.array([1.0, -2.0, 0.5, 0.0, 3.0]), np.array([2.0, 0.5, 1.5, 1.0, 0.25]))
needs_cc = pytest.mark.skipif(find_cc() is None, reason="no C compiler (cc, gcc or clang) on this machine")


def test_the_factors_are_stored_instead_of_the_product():
    low = SequenceClassifier(5, 16, 4, cell="fastgrnn", seed=0, rank_ih=2, rank_hh=4)
    full = SequenceClassifier(5, 16, 4, cell="fastgrnn", seed=0)
    _, source = c_sources(low)
    _, dense = c_sources(full)
    assert "model_x0_f0a[10]" in source and "model_x0_f0b[32]" in source and "model_h0_f1a[64]" in source
    assert "model_x0_0_w" not in source and "model_h0_0_w" not in source       # no product stored
    assert const_bytes(dense) - const_bytes(source) == 4 * ((5 * 16 + 16 * 16) - (2 * 21 + 4 * 32))
    _, q = c_sources(low, int8=True)
    assert "_f0a" not in q and "model_x0_0_q" in q                            # int8: the product, quantised


@needs_cc
@pytest.mark.parametrize("cell", ["fastgrnn", "fastrnn"])
def test_low_rank_float_c_equals_stream_over_10000_steps(cell, tmp_path):
    models = {"clf": (SequenceClassifier(5, 16, 4, num_layers=2, cell=cell, seed=3, rank_ih=2, rank_hh=5),
                      STANDARDIZE),
              "stack": (make_recurrent(cell, 5, 12, 1, seed=5, rank_ih=3), None)}
    for name, (model, st) in models.items():
        folder = tmp_path / name
        export_c(model, folder, prefix=name, standardize=st)
        assert "float t[" in (folder / f"{name}.c").read_text()
        assert check_export(model, folder, name, standardize=st, steps=10_000) < 1e-4
    folder = tmp_path / "int8"
    model, st = models["clf"]
    export_c(model, folder, prefix="q", int8=True, standardize=st)
    assert check_export(model, folder, "q", int8=True, standardize=st, steps=1000) < 1e-4
