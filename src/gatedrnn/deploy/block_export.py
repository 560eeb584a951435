"""``gatedrnn export CHECKPOINT --c DIR | --onnx FILE`` for a block language model (``--arch block``, a
``BlockLM``): its C99 (``deploy/c99_block.py``) written where ``deploy/targets.py`` allows and, when a C compiler is
found, compiled warning-free as C99 in a temporary folder and run against ``Stream`` (``BlockStream``) over 1000
random tokens; its ONNX graph (``deploy/onnx_block.py``), checked by ``onnx.checker`` and, when onnxruntime is
installed, run against ``BlockLM.forward`` on a random input (batch 2, 16 steps) before it is written.

``export_c_any`` and ``export_onnx_any`` are what the command runs: a ``BlockLM`` here, every other checkpoint by
``deploy.export`` as before. ``--int8`` and ``--with-state`` on a block model are one line each.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy

from gatedrnn.deploy.c99 import check_folder, check_prefix, write_sources
from gatedrnn.deploy.c99_block import block_sources
from gatedrnn.deploy.c99_run import CModel, build, compile_copy
from gatedrnn.deploy.export import export_c_checkpoint, export_checkpoint
from gatedrnn.deploy.onnx import write_checked
from gatedrnn.deploy.onnx_block import build_block_onnx
from gatedrnn.deploy.targets import c_targets, onnx_target
from gatedrnn.errors import UserError
from gatedrnn.models import BlockLM
from gatedrnn.models.io import load_checkpoint, resolve_checkpoint
from gatedrnn.models.stream import Stream

C_STEPS = 1000


def check_block_c(model, folder, prefix: str, *, steps: int = C_STEPS, cc: str | None = None) -> dict:
    """Compile the export in ``folder`` (in place), run it and ``Stream`` over ``steps`` random tokens ->
    ``{"max_abs_diff", "state_bytes"}`` (the C struct: carried state and scratch)."""
    lib = build(folder, [prefix], cc=cc, name=f"lib{prefix}.so")
    ids = numpy.random.default_rng(0).integers(0, model.vocab_size, size=steps)
    c = CModel(lib, folder, prefix)
    ys, refused = c.run(ids)
    ref = numpy.asarray(Stream(model).run(ids), dtype=numpy.float64)
    diff = float(numpy.max(numpy.abs(ys.astype(numpy.float64) - ref))) if refused == 0 else math.inf
    if not math.isfinite(diff):
        raise UserError(f"export check: expected the compiled C and gatedrnn to agree on random tokens, got a "
                        f"difference of {diff} (outputs not finite, or {refused} tokens refused)")
    return {"max_abs_diff": diff, "state_bytes": c.state_bytes}


def export_c_any(checkpoint, folder, *, int8: bool = False, prefix: str = "model", overwrite: bool = False,
                 echo=print) -> dict:
    """Export a checkpoint as C99 (see the module docstring) -> the dict the exporter returns (for a block model
    ``write_sources``' with ``"max_abs_diff"`` and ``"state_bytes"``, None without a C compiler)."""
    ck = resolve_checkpoint(checkpoint)
    model, _, _ = load_checkpoint(ck)
    if not isinstance(model, BlockLM):
        return export_c_checkpoint(checkpoint, folder, int8=int8, prefix=prefix, overwrite=overwrite, echo=echo)
    if int8:
        raise UserError("--int8: expected a network of LSTM/GRU/RNN-family layers (the int8 kernels), got a BlockLM "
                        "(export it in float32: drop --int8)")
    out = c_targets(folder, check_prefix(prefix), ck, overwrite=overwrite)
    header, source = block_sources(model, prefix=prefix, origin=str(ck))
    result = write_sources(check_folder(out), prefix, header, source)
    st = model.blocks
    echo(f"wrote {result['header']} and {result['source']} ({result['bytes']:,} bytes): BlockLM, {st.num_layers} "
         f"blocks of {str(st.blocks[0].rnn.name).upper()}, d_model {st.d_model}, recurrent width {st.hidden_size}, "
         f"conv kernel {st.k}, float32 weights ({result['weight_bytes']:,} bytes)")
    result.update(max_abs_diff=None, state_bytes=None)
    cc = compile_copy(result, lambda tmp, cc: check_block_c(model, tmp, prefix, cc=cc), echo)
    if cc is None:
        return result
    echo(f"compiled as C99 with {Path(cc).name} (-Wall -Wextra -pedantic -Werror); C vs gatedrnn's Stream over "
         f"{C_STEPS} random tokens: max abs difference {result['max_abs_diff']:.2e}; state {st.state_bytes():,} "
         f"bytes (each block's h and conv buffer), {result['state_bytes']:,} with the step's scratch")
    return result


def export_onnx_any(checkpoint, onnx_path, *, with_state: bool = False, overwrite: bool = False, echo=print) -> dict:
    """Export a checkpoint as ONNX (see the module docstring) -> ``{"path", "bytes", "max_abs_diff"}`` (None
    without onnxruntime)."""

    ck = resolve_checkpoint(checkpoint)
    model, _, _ = load_checkpoint(ck)
    if not isinstance(model, BlockLM):
        return export_checkpoint(checkpoint, onnx_path, with_state=with_state, overwrite=overwrite, echo=echo)
    if with_state:
        raise UserError("--with-state: expected a network of LSTM/GRU/RNN-family layers, got a BlockLM (its graph "
                        "starts from the zero state and returns h_n and buffer)")
    target = onnx_target(onnx_path, ck, overwrite=overwrite)
    st = model.blocks
    return write_checked(build_block_onnx(model), target, model,
                         lambda: (numpy.random.default_rng(0).integers(0, model.vocab_size, size=(2, 16)), None),
                         f"BlockLM, {st.num_layers} blocks of {str(st.blocks[0].rnn.name).upper()}, d_model {st.d_model}",
                         "a random input (batch 2, 16 steps)", "the logits, h_n and the conv buffers", echo)
