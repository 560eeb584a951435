"""Low-rank FastGRNN/FastRNN in the fixed-point C export (issue 27): W = W1 W2 and U = U1 U2 stay two int16
factors and the step computes them as two products ((x W1) in an int32 Q16 scratch, then times W2), bit-exact
against the Python reference of the same integer arithmetic over 10,000 steps, close to the float model, with
fewer multiplies and weights than the dense product; `gatedrnn export --fixed q15` of a low-rank classifier."""


import numpy as np
import pytest

from gatedrnn.deploy.c99_fixed import fixed_sources
from gatedrnn.deploy.c99_fixed_run import build_fixed
from gatedrnn.deploy.c99_run import find_cc
from gatedrnn.deploy.fixed_stream import fixed_model
from gatedrnn.layers import make_recurrent
from gatedrnn.models import SequenceRegressor
from gatedrnn.models.classifier import SequenceClassifier

STEPS = 10_000
STANDARDIZE = (np.array([1.0, -2.0, 0.5, 0.0, 3.0]), np.array([2.0, 0.5, 1.5, 1.0, 0.25]))
needs_cc = pytest.mark.skipif(find_cc() is None, reason="no C compiler (cc, gcc or clang) on this machine")


def _models(cell, fixed_c):
    return {
        "clf": (SequenceClassifier(5, 16, 4, num_layers=2, cell=cell, seed=6, rank_ih=2, rank_hh=4), STANDARDIZE),
        "reg": (SequenceRegressor(5, 12, 2, cell=cell, seed=1), None),
        "stack": (make_recurrent(cell, 5, 12, 1, seed=5, rank_hh=3), None),
        "sparse": (fixed_c.sparse(SequenceClassifier(5, 64, 3, cell=cell, seed=2, rank_ih=3, rank_hh=40), keep=0.3),
                   STANDARDIZE),
    }


def test_the_factors_replace_the_product_in_the_fixed_model():
    model = SequenceClassifier(5, 16, 4, cell="fastgrnn", seed=0, rank_ih=2, rank_hh=4)
    fm = fixed_model(model, STANDARDIZE)
    (layer,) = fm.layers
    assert [(f[0], f[3].shape, f[5].shape) for f in layer.factors] == [("x", (5, 2), (2, 16)), ("h", (16, 4), (4, 16))]
    assert layer.blocks == [] and fm.rank == 4
    dense = fixed_model(SequenceClassifier(5, 16, 4, cell="fastgrnn", seed=0), STANDARDIZE)
    assert dense.rank == 0 and all(not layer.factors for layer in dense.layers)
    _, _, info = fixed_sources(fm)
    _, _, full = fixed_sources(dense)
    assert info["macs"] == 2 * (5 + 16) + 4 * (16 + 16) + 16 * 4 < full["macs"] == 5 * 16 + 16 * 16 + 16 * 4
    assert info["weight_bytes"] < full["weight_bytes"]


@needs_cc
@pytest.mark.parametrize("cell", ["fastgrnn", "fastrnn"])
def test_low_rank_fixed_c_is_bit_exact_over_10000_steps(cell, tmp_path, fixed_c):
    models = _models(cell, fixed_c)
    fms, _ = fixed_c.write_all(models, tmp_path)                  # no float, no math.h, no decimal point
    assert "_dot32(" in (tmp_path / "clf.c").read_text() and "int32_t t[4];" in (tmp_path / "clf.h").read_text()
    assert "_dot32_csr8(" in (tmp_path / "sparse.c").read_text()          # a sparse second factor, int32 input
    assert "_dot32" not in (tmp_path / "reg.c").read_text()               # no factors, no wide kernel
    fixed_c.assert_bit_exact(build_fixed(tmp_path, list(models)), models, fms, STEPS, seed=4)
    for name in ("clf", "stack"):
        model, st = models[name]
        check = fixed_c.check(fms[name], model, tmp_path / f"check_{name}", name, st)
        assert check["mismatches"] == 0 and check["max_abs_diff"] < 2e-2, (name, check)


def test_cli_export_fixed_of_a_low_rank_classifier(tmp_path, capsys):
    from gatedrnn.cli import main
    from gatedrnn.train.checkpoint import save_checkpoint

    meta = {"classifier": {"classes": ["a", "b", "c"], "mean": list(STANDARDIZE[0]), "std": list(STANDARDIZE[1])}}
    save_checkpoint(tmp_path / "ck", SequenceClassifier(5, 8, 3, cell="fastgrnn", seed=0, rank_ih=2, rank_hh=3),
                    meta=meta)
    assert main(["export", str(tmp_path / "ck"), "--c", str(tmp_path / "c"), "--fixed", "q15"]) == 0
    out = capsys.readouterr().out
    assert "_dot32(" in (tmp_path / "c" / "model.c").read_text()
    if find_cc() is not None:
        assert "bit-exact" in out and "multiplies per step" in out
        macs = int(out.split(" multiplies per step")[0].split()[-1].replace(",", ""))
        assert macs == 2 * (5 + 8) + 3 * (8 + 8) + 8 * 3
