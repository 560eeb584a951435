"""A checkpoint to ONNX or C99, checked (what ``gatedrnn export CHECKPOINT --onnx FILE | --c DIR`` runs).

``export_checkpoint(checkpoint, onnx_path, with_state=False)`` loads the checkpoint
(``models.io.resolve_checkpoint``), builds its graph (``deploy.onnx.build_onnx``, checked by
``onnx.checker``) and, when onnxruntime is installed, runs gatedrnn and onnxruntime on one random input (batch 2,
16 steps; with a random start state for ``with_state``) before the file is written: the largest difference over
the outputs and the final state is reported, and one that is not finite is an error with nothing written. Where
it may write is ``deploy/targets.py``'s rule: never a folder, a special file or a path inside the checkpoint
folder; an existing file only when an earlier export wrote it, or with ``overwrite``. A folder written by
``forecast.Forecaster.save`` is exported whole (its adapter, ``deploy/adapters.py``), every ensemble member with
the normalisation, the season features, the base and the de-normalisation in one graph
(``deploy.forecaster_onnx``: raw values in, forecasts in the series' units out), checked against
``Forecaster.quantile_forecast`` on its series' last windows.

``export_c_checkpoint(checkpoint, folder, int8=False, prefix="model")`` writes the model as C99 (``deploy/c99.py``;
a Classifier's labels and scaling
from its ``meta.json``, checked by ``classify.checks.read_meta``) and, when a C compiler is found, compiles it
warning-free as C99 in a temporary folder and reports the largest difference against ``Stream``
(``QuantizedStream`` for int8) over 1000 random steps. The folder follows the same rule (``deploy/targets.py``); a
model or cell the exporter does not support writes nothing. Labels and the checkpoint's path reach the C text only
as escaped string literals (``deploy/c_text.py``). A ``Forecaster`` folder is exported whole by
``deploy/c99_forecaster.py`` (a ring buffer, the per-window normalisation, the season, every member, the base:
``<prefix>_push(value)``, ``<prefix>_forecast(out)``), checked against ``Forecaster.predict`` over 1000 values
(``deploy/c99_forecaster_run.py``); one with covariates is refused in one line. A classifier with a front end, or
with mean or max pooling, goes to ``deploy/c99_front_run.py`` and ``deploy/onnx_front.py`` (``models.front.
front_exported``): the plain step reads the last state only.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy

from gatedrnn.deploy.adapters import adapter_for
from gatedrnn.deploy.c99 import check_prefix, describe, export_c
from gatedrnn.deploy.c99_front_run import export_front_c
from gatedrnn.deploy.c99_run import check_export, compile_copy
from gatedrnn.deploy.onnx import build_onnx, write_checked
from gatedrnn.deploy.onnx_front import export_front_onnx
from gatedrnn.deploy.targets import c_targets, onnx_target
from gatedrnn.errors import UserError
from gatedrnn.models.front import front_exported
from gatedrnn.models.io import load_checkpoint, resolve_checkpoint
from gatedrnn.models.stream import model_parts
from gatedrnn.train.sparsity import compressed_bytes

BATCH, STEPS = 2, 16


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


def export_checkpoint(checkpoint, onnx_path, *, with_state: bool = False, overwrite: bool = False,
                      echo=print) -> dict:
    """Export and check (see the module docstring); prints its lines through ``echo``. Returns ``{"path",
    "bytes", "max_abs_diff"}`` (``max_abs_diff`` None without onnxruntime; for a Forecaster ``max_rel_diff``)."""
    ck = resolve_checkpoint(checkpoint)
    model, meta, _ = load_checkpoint(ck)
    whole = adapter_for(meta).whole
    if whole is not None:                 # an application's object exported whole (deploy/adapters.py)
        target = onnx_target(onnx_path, whole.folder(ck), overwrite=overwrite)
        if with_state:
            raise UserError(f"--with-state: expected a network checkpoint, got {whole.what} ({whole.stateless})")
        return whole.onnx(ck, target, echo=echo)
    target = onnx_target(onnx_path, ck, overwrite=overwrite)
    if front_exported(model):     # a classifier with a front end or a running pool: deploy/onnx_front.py
        return export_front_onnx(model, target, with_state=with_state, echo=echo)
    _, rnn, _ = model_parts(model)
    proto = build_onnx(model, with_state=with_state)
    result = write_checked(proto, target, model, lambda: random_input(model, rnn, with_state),
                           f"{type(model).__name__}, {str(rnn.name).upper()} {rnn.hidden_size} units x {rnn.num_layers}",
                           f"a random input (batch {BATCH}, {STEPS} steps)", "the outputs and the final state", echo)
    result["compressed_bytes"] = compressed_bytes(model)
    echo(f"compressed size: {result['compressed_bytes']:,} bytes of float32 weights (each matrix dense or in "
         f"compressed sparse rows, whichever is smaller; the ONNX file holds them dense)")
    return result


def _finite_diff(diff: float, what: str) -> float:
    """The export's check, refused in one line when it is not a finite number (a model whose outputs overflow)."""
    if not math.isfinite(diff):
        raise UserError(f"export check: expected {what} and gatedrnn to agree on a random input, got a difference of "
                        f"{diff} (the model's outputs are not finite there: weights too large for float32?)")
    return diff


C_STEPS = 1000


def _printable(label) -> str:
    """A label for the terminal: as it is when printable, else escaped (no control sequence reaches the screen)."""
    text = str(label)
    return text if text.isprintable() else ascii(text)


def export_c_checkpoint(checkpoint, folder, *, int8: bool = False, prefix: str = "model", overwrite: bool = False,
                        echo=print) -> dict:
    """Export the checkpoint as C99 and check it (see the module docstring); prints its lines through
    ``echo``. Returns ``export_c``'s dict with ``"max_abs_diff"`` (None without a C compiler)."""
    ck = resolve_checkpoint(checkpoint)
    out = c_targets(folder, check_prefix(prefix), ck, overwrite=overwrite)
    model, meta, _ = load_checkpoint(ck)
    adapter = adapter_for(meta)
    if adapter.whole is not None:         # an application's object exported whole (deploy/adapters.py)
        out = c_targets(folder, prefix, adapter.whole.folder(ck), overwrite=overwrite)
        return adapter.whole.c(ck, out, int8=int8, prefix=prefix, echo=echo)
    if front_exported(model):     # a classifier with a front end or a running pool: deploy/c99_front_run.py
        return export_front_c(model, meta, ck, out, int8=int8, prefix=prefix, echo=echo)
    what = describe(model, int8)
    io = adapter.io(ck, model, meta)      # its application's pre- and post-processing (a Classifier's scaling, labels)
    standardize, labels = io.standardize, io.labels
    what += ((", raw inputs standardised inside" if standardize is not None else "") +
             ("; logits of the classes " + ", ".join(map(_printable, labels)) if labels is not None else ""))[:400]
    # nothing read from the checkpoint goes into the C text but through deploy/c_text.py: the labels and the path
    # become escaped string literals, the comment holds only the generator's own description
    result = export_c(model, out, prefix=prefix, int8=int8, standardize=standardize,
                      note=describe(model, int8), labels=labels, origin=str(ck))
    echo(f"wrote {result['header']} and {result['source']} ({result['bytes']:,} bytes): {what}")
    result["max_abs_diff"] = None
    cc = compile_copy(result, lambda tmp, cc: {"max_abs_diff": check_export(
        model, tmp, prefix, int8=int8, standardize=standardize, steps=C_STEPS, cc=cc)}, echo)
    if cc is None:
        return _say_size(model, result, echo, int8)
    diff = result["max_abs_diff"] = _finite_diff(result["max_abs_diff"], "the compiled C")
    ref = "QuantizedStream" if int8 else "Stream"
    echo(f"compiled as C99 with {Path(cc).name} (-Wall -Wextra -pedantic -Werror); C vs gatedrnn's {ref} over "
         f"{C_STEPS} random steps: max abs difference {diff:.2e}")
    return _say_size(model, result, echo, int8)


def _say_size(model, result: dict, echo, int8: bool = False) -> dict:
    """The compressed size line (train/sparsity.py): the weights' values (4 bytes each, 1 with ``int8``), each matrix
    dense or in compressed sparse rows."""
    result["compressed_bytes"] = compressed_bytes(model, 1 if int8 else 4)
    kind = "int8 weights (their float32 scales apart)" if int8 else "float32 weights"
    echo(f"compressed size: {result['compressed_bytes']:,} bytes of {kind} (each matrix dense or in "
         f"compressed sparse rows, whichever is smaller; the C arrays hold {result['weight_bytes']:,} bytes, dense)")
    return result
