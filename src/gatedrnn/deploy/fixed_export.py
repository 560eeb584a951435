"""A checkpoint to fixed-point C99, checked: what ``gatedrnn export CHECKPOINT --c DIR --fixed q15`` runs.

``export_fixed_checkpoint(checkpoint, folder, prefix="model")`` loads the checkpoint, quantises it
(``deploy/fixed_stream.py``: a cell with an integer step, float inputs; a ``Classifier``'s scaling and labels from
its ``meta.json``, so the step takes raw int16 samples) and writes ``<prefix>.h`` and ``<prefix>.c``
(``deploy/c99_fixed.py``) where ``deploy/targets.py`` allows. When a C compiler is found it compiles them
warning-free as C99 in a temporary folder and checks them (``deploy/c99_fixed_run.py``): bit-exact against the
Python reference of the same integer arithmetic over 10,000 random steps (a difference is a bug and an error), and
the largest difference from the float32 model over sequences of 25 steps. It prints the flash bytes (text + data
of the object compiled alone at -Os), the RAM bytes (the state struct: states and scratch) and the multiplies per
step. A Forecaster folder, a language model, a cell without an integer step: one line each, nothing written.
"""

from __future__ import annotations

from pathlib import Path

from gatedrnn.deploy.adapters import adapter_for
from gatedrnn.deploy.c99 import check_folder, check_prefix, write_sources
from gatedrnn.deploy.c99_fixed import fixed_sources
from gatedrnn.deploy.c99_fixed_run import check_fixed, flash_bytes
from gatedrnn.deploy.c99_run import compile_copy
from gatedrnn.deploy.fixed_stream import fixed_model
from gatedrnn.deploy.targets import c_targets
from gatedrnn.errors import UserError
from gatedrnn.models.io import load_checkpoint, resolve_checkpoint

CHECK_STEPS, CHECK_SEQ = 10_000, 25


def export_fixed_checkpoint(checkpoint, folder, *, prefix: str = "model", overwrite: bool = False,
                            echo=print) -> dict:
    """Export the checkpoint as fixed-point C99 and check it (see the module docstring); prints through ``echo``.
    Returns ``{"header", "source", "bytes", "weight_bytes", "macs"}`` and, with a C compiler, ``check_fixed``'s
    dict under ``"check"`` and ``"flash_bytes"`` (None without ``size``)."""
    ck = resolve_checkpoint(checkpoint)
    out = c_targets(folder, check_prefix(prefix), ck, overwrite=overwrite)
    model, meta, _ = load_checkpoint(ck)
    adapter = adapter_for(meta)
    if adapter.whole is not None:
        raise UserError(f"--fixed q15: expected a classifier, regressor or recurrent stack checkpoint, got "
                        f"{adapter.whole.what} ({adapter.whole.no_fixed})")
    io = adapter.io(ck, model, meta)      # its application's pre- and post-processing (a Classifier's scaling, labels)
    standardize, labels = io.standardize, io.labels
    fm = fixed_model(model, standardize)
    header, source, info = fixed_sources(fm, prefix=prefix, labels=labels, origin=str(ck))
    result = write_sources(check_folder(out), prefix, header, source)
    result.update(info)
    inputs = (f"raw int16 inputs x = round(value * 2^{fm.standardize['rf']}), standardised inside"
              if fm.standardize is not None else "int16 inputs in Q12 (standardised)")
    echo(f"wrote {result['header']} and {result['source']} ({result['bytes']:,} bytes): {fm.description}; "
         f"{inputs}; int32 outputs in Q16")
    cc = compile_copy(result, lambda tmp, cc: {
        "check": check_fixed(fm, model, tmp, prefix, standardize=standardize, steps=CHECK_STEPS, seq=CHECK_SEQ,
                             cc=cc),
        "flash_bytes": flash_bytes(tmp, prefix, cc=cc)}, echo)
    if cc is None:
        echo(f"size: {info['weight_bytes']:,} bytes of weights and tables; {info['macs']:,} multiplies per step")
        return result
    check, flash = result["check"], result["flash_bytes"]
    if check["mismatches"] or check["saturated"] != check["reference_saturated"]:
        raise RuntimeError(f"fixed-point C export: expected the C step to equal its Python reference bit for bit, got "
                           f"{check['mismatches']} differing outputs over {CHECK_STEPS} steps (a generator bug)")
    echo(f"compiled as C99 with {Path(cc).name} (-Wall -Wextra -pedantic -Werror); C vs its Python integer reference "
         f"over {CHECK_STEPS:,} random steps: bit-exact, clamps included ({check['saturated']:,} values saturated); vs the "
         f"float32 model over sequences of {CHECK_SEQ} steps: max abs difference {check['max_abs_diff']:.2e}")
    where = f"{flash['bytes']:,} bytes (text + data at -Os, {flash['target']})" if flash else "not measured (no size)"
    echo(f"flash: {where}; RAM: {check['state_bytes']:,} bytes (state + scratch); {info['macs']:,} multiplies per "
         f"step; {info['weight_bytes']:,} bytes of weights and tables")
    return result
