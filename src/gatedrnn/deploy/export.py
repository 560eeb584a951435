"""A checkpoint to ONNX, checked (what ``gatedrnn export CHECKPOINT --onnx FILE`` runs).

``export_checkpoint(checkpoint, onnx_path, with_state=False)`` loads the checkpoint
(``train.checkpoint.resolve_checkpoint``), writes it with ``deploy.onnx.export_onnx`` (checked by
``onnx.checker``), and when onnxruntime is installed runs gatedrnn and onnxruntime on one random input (batch 2,
16 steps; with a random start state for ``with_state``) and reports the largest difference over the outputs and
the final state. The output file may not lie inside the checkpoint folder, whose files it could overwrite.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy

from gatedrnn.deploy.onnx import OPSET, export_onnx, max_abs_diff
from gatedrnn.errors import UserError
from gatedrnn.models.stream import model_parts
from gatedrnn.train.checkpoint import load_checkpoint, resolve_checkpoint

BATCH, STEPS = 2, 16


def _check_target(onnx_path, checkpoint: Path) -> Path:
    out, ck = Path(onnx_path), checkpoint.resolve()
    if ck == out.resolve() or ck in out.resolve().parents:
        raise UserError(f"--onnx {out}: expected a path outside the checkpoint folder {checkpoint}, got one inside it")
    return out


def random_input(model, rnn, with_state: bool, seed: int = 0):
    """-> (x, state): ``BATCH`` x ``STEPS`` token ids or standard normal features, and a start state (or None)."""
    rng = numpy.random.default_rng(seed)
    if hasattr(model, "vocab_size"):
        x = rng.integers(0, model.vocab_size, size=(BATCH, STEPS))
    else:
        x = rng.standard_normal((BATCH, STEPS, rnn.input_size)).astype(numpy.float32)
    if not with_state:
        return x, None
    h = rng.standard_normal((rnn.num_layers, BATCH, rnn.hidden_size)).astype(numpy.float32) * 0.5
    return x, ((h, h * 0.5) if rnn.layer_class.has_cell else h)


def export_checkpoint(checkpoint, onnx_path, *, with_state: bool = False, echo=print) -> dict:
    """Export and check (see the module docstring); prints its lines through ``echo``. Returns ``{"path",
    "bytes", "max_abs_diff"}`` (``max_abs_diff`` None without onnxruntime)."""
    ck = resolve_checkpoint(checkpoint)
    target = _check_target(onnx_path, ck)
    model, _, _ = load_checkpoint(ck)
    _, rnn, _ = model_parts(model)
    path = export_onnx(model, target, with_state=with_state)
    size = path.stat().st_size
    echo(f"wrote {path} ({size:,} bytes): {type(model).__name__}, {str(rnn.name).upper()} {rnn.hidden_size} "
         f"units x {rnn.num_layers}, opset {OPSET}; onnx.checker passed")
    result = {"path": path, "bytes": size, "max_abs_diff": None}
    if importlib.util.find_spec("onnxruntime") is None:
        echo("note: onnxruntime is not installed, so the export was not run (pip install -e \".[onnx]\")")
        return result
    x, state = random_input(model, rnn, with_state)
    result["max_abs_diff"] = diff = max_abs_diff(model, path, x, state)
    echo(f"onnxruntime vs gatedrnn on a random input (batch {BATCH}, {STEPS} steps): max abs difference {diff:.2e} "
         f"over the outputs and the final state")
    return result
