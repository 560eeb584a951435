"""The ONNX export of a block language model (deploy/onnx_block.py, ``gatedrnn export BLOCK_RUN --onnx FILE``;
issue 22): onnx.checker passes, and onnxruntime equals ``BlockLM.forward`` (logits, h_n, conv buffers) to < 1e-5
for both min cells, both norms and a conv of 1, 3 and 4 taps, also on sequences shorter than the conv."""

import numpy as np
import pytest

from gatedrnn.models import BlockLM

pytest.importorskip("onnx")
CASES = [("mingru", "layer", 4), ("minlstm", "rms", 3), ("mingru", "rms", 1)]


@pytest.mark.parametrize("cell, norm, k", CASES)
def test_block_onnx_equals_the_forward(cell, norm, k):
    pytest.importorskip("onnxruntime")
    from gatedrnn.deploy.onnx import max_abs_diff, run_onnx
    from gatedrnn.deploy.onnx_block import build_block_onnx

    m = BlockLM(17, 8, 2, cell=cell, norm=norm, conv_kernel=k, ff_mult=2, seed=k).eval()
    proto = build_block_onnx(m)
    for T in (2, 40):
        x = np.random.default_rng(T).integers(0, 17, (3, T))
        assert max_abs_diff(m, proto, x) < 1e-5
        outs = run_onnx(proto, x)
        assert [o.shape for o in outs] == [(3, T, 17), (2, 3, 16)] + ([(2, 3, k - 1, 8)] if k > 1 else [])


def test_cli_export_onnx_of_a_block_checkpoint(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    from gatedrnn.cli import main
    from gatedrnn.train.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "ck", BlockLM(11, 8, 1, ff_mult=2, seed=0))
    assert main(["export", str(tmp_path / "ck"), "--onnx", str(tmp_path / "m.onnx")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "BlockLM, 1 blocks of MINGRU" in out[0] and float(out[1].split("difference ")[1].split()[0]) < 1e-5
    assert main(["export", str(tmp_path / "ck"), "--onnx", str(tmp_path / "n.onnx"), "--with-state"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--with-state" in err[0] and not (tmp_path / "n.onnx").exists()
