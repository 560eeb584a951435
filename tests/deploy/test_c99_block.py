"""The C99 export of a block language model (deploy/c99_block.py, ``gatedrnn export BLOCK_RUN --c DIR``; issue 22):
compiled warning-free as C99, equal to ``Stream`` and to the parallel forward to < 1e-5 over 4,096 tokens for both
min cells, both norms and a conv of 1, 3 and 4 taps; a token outside the vocabulary refused with the state kept."""

import numpy as np
import pytest

from gatedrnn.deploy.c99_block import block_sources
from gatedrnn.deploy.c99_run import CModel, build, find_cc
from gatedrnn.models import BlockLM
from gatedrnn.models.stream import Stream

needs_cc = pytest.mark.skipif(find_cc() is None, reason="no C compiler (cc, gcc or clang) on this machine")
CASES = {"gru_layer_k4": ("mingru", "layer", 4), "lstm_rms_k3": ("minlstm", "rms", 3), "gru_rms_k1": ("mingru", "rms", 1)}


@needs_cc
def test_block_c_equals_stream_and_the_parallel_forward_over_4096_tokens(tmp_path):
    models = {name: BlockLM(17, 8, 2, cell=cell, norm=norm, conv_kernel=k, ff_mult=2, seed=i)
              for i, (name, (cell, norm, k)) in enumerate(CASES.items())}
    for name, m in models.items():
        header, source = block_sources(m, prefix=name, origin="*/ not code /*")
        (tmp_path / f"{name}.h").write_text(header)
        (tmp_path / f"{name}.c").write_text(source)
        assert "*/ not code" not in source
    lib = build(tmp_path, list(models))
    ids = np.random.default_rng(0).integers(0, 17, 4096)
    for name, m in models.items():
        c = CModel(lib, tmp_path, name)
        ys, refused = c.run(ids)
        parallel, _ = m.forward(ids[None])
        assert refused == 0
        assert np.abs(ys - Stream(m).run(ids)).max() < 1e-5, name
        assert np.abs(ys - parallel[0]).max() < 1e-5, name
        c.reset()
        c.run(ids[:1])
        _, refused = c.run(np.array([17, -1]))
        after, _ = c.run(ids[1:2])
        assert refused == 2 and np.abs(after - Stream(m).run(ids[:2])[1:]).max() < 1e-5


def test_cli_export_of_a_block_checkpoint(tmp_path, capsys):
    from gatedrnn.cli import main
    from gatedrnn.train.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "ck", BlockLM(11, 8, 1, ff_mult=2, seed=0))
    assert main(["export", str(tmp_path / "ck"), "--c", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "BlockLM, 1 blocks of MINGRU, d_model 8" in out[0] and (tmp_path / "c" / "model.c").exists()
    if find_cc() is not None:
        assert float(out[1].split("difference ")[1].split(";")[0]) < 1e-5
    assert main(["export", str(tmp_path / "ck"), "--c", str(tmp_path / "d"), "--int8"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--int8" in err[0] and not (tmp_path / "d").exists()
