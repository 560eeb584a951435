"""The one place a ``Classifier``'s settings and a saved classifier's ``meta.json`` are checked.

``check_settings(clf)`` checks what the estimator holds beyond its settings (its dtype, its echo, a noise that
fits the dtype); the settings themselves are checked by their one declaration (``classify.config``:
``ClassifierSettings``, in ``Classifier.__init__`` and again in ``fit``, so a field changed after construction is
checked too). ``check_fits_memory`` refuses, before
anything is allocated, a model and batch whose weights, gradients, optimizer state and activations would not fit
in this machine's memory (a ``hidden_size`` of 1e12 is one line, not a MemoryError). ``read_meta(where, model,
meta)`` checks what ``Classifier.save`` wrote beside the network (the labels, the input mean and std) against the
network itself and returns it: a missing key, a wrong type, a count that disagrees with the network, a
non-finite or non-positive std or a key this version does not know (written by a newer one) is one line naming
the file and the key. ``Classifier.load`` and ``gatedrnn stream`` read a classifier's checkpoint through it.
"""

from __future__ import annotations

import os

import numpy

from gatedrnn.classify.config import ClassifierFields
from gatedrnn.classify.inputs import check_label_values
from gatedrnn.errors import (
    UserError,
    is_finite_number,
    show,
)
from gatedrnn.layers import CELLS
from gatedrnn.models.classifier import SequenceClassifier

META_KEYS = ("classes", "mean", "std")
SIZE_DEFAULTS = {k: getattr(ClassifierFields(), k) for k in ("hidden_size", "num_layers", "batch_size")}
NOISE_ROOM = 100.0      # noise * a standard normal draw (beyond 10 once in 1e23 draws) stays within the dtype
FALLBACK_MEMORY = 64 * 2**30       # where the machine's memory cannot be read (not Linux, macOS or BSD)


def check_dtype(name: str, v) -> numpy.dtype:
    """float32 or float64 (a name or a NumPy dtype)."""
    try:
        dt = numpy.dtype(v)
    except TypeError:          # NumPy's answer to a name it does not know
        dt = None
    if dt is None or dt not in (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64)):
        raise UserError(f"{name}: expected float32 or float64, got {show(v)}")
    return dt


def check_settings(clf) -> None:
    """What the ``Classifier`` ``clf`` checks beyond its settings' fields (those are ``ClassifierSettings``' checks,
    in ``classify.config``): its ``dtype``, its ``echo``, and a ``noise`` that the noisy inputs fit in that dtype."""
    top = float(numpy.finfo(check_dtype("dtype", clf.dtype)).max) / NOISE_ROOM
    if clf.noise > top:
        raise UserError(f"noise: expected a std of at most {top:.3g} (the noisy standardised inputs must fit "
                        f"{numpy.dtype(clf.dtype).name}), got {show(clf.noise)}")
    if clf.echo is not None and not callable(clf.echo):
        raise UserError(f"echo: expected a function of one string or None, got {show(clf.echo)}")


def check_frames(frame: int, seqs: list) -> None:
    """A frame of ``frame`` steps fits in the shortest sequence (one line naming it otherwise)."""
    shortest = min(len(s) for s in seqs)
    if frame > shortest:
        i = min(range(len(seqs)), key=lambda k: len(seqs[k]))
        raise UserError(f"frame: expected at most the shortest sequence's length ({shortest}, X[{i}]), got {frame}")


def machine_memory() -> int:
    """Bytes of physical memory (``FALLBACK_MEMORY`` where the system does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):      # no sysconf (Windows), or a name this system lacks
        return FALLBACK_MEMORY


def check_fits_memory(clf, input_size: int, num_classes: int, cases: int, longest: int) -> None:
    """Refuse (one line naming the size furthest above its default) a classifier whose training would need more bytes than this machine
    has: weights, gradients and Adam's two moments, plus one batch's activations over the longest sequence."""
    o = clf.options
    H, L, G = o["hidden_size"], o["num_layers"], CELLS[o["cell"]].layer_class.gates
    params = G * H * (input_size + H + 2) + (L - 1) * G * H * (2 * H + 2) + (H + 1) * num_classes
    itemsize = check_dtype("dtype", clf.dtype).itemsize
    activations = 2 * min(clf.batch_size, cases) * longest * L * H * (G + 4)    # and their math's temporaries
    need = (4 * params + activations) * itemsize
    have = machine_memory()
    if need > have:
        sizes = {"hidden_size": H, "num_layers": L, "batch_size": clf.batch_size}
        name = max(sizes, key=lambda k: sizes[k] / SIZE_DEFAULTS[k])       # the one furthest above its default
        raise UserError(f"{name}: expected a model that fits in memory (hidden_size {H:,}, num_layers {L:,}, "
                        f"batch_size {clf.batch_size:,}, sequences of up to {longest:,} steps need about "
                        f"{need / 2**30:,.3g} GiB; this machine has {have / 2**30:,.3g} GiB), got {sizes[name]}")


# -- a saved classifier -------------------------------------------------------------------------------------
def _numbers(where: str, key: str, v, size: int, positive: bool) -> numpy.ndarray:
    if not isinstance(v, list) or len(v) != size:
        got = f"a list of {len(v)}" if isinstance(v, list) else show(v, 40)
        raise UserError(f"{where} classifier {key!r}: expected a list of {size} numbers (the model's input_size), "
                        f"got {got}")
    bad = [x for x in v if not (is_finite_number(x) and (x > 0 or not positive))]   # bools are no numbers here
    if bad:
        what = "finite numbers > 0" if positive else "finite numbers"
        raise UserError(f"{where} classifier {key!r}: expected {what}, got {show(bad[0], 40)}")
    return numpy.array(v, dtype=numpy.float64)


def read_meta(where, model, meta: dict) -> tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """-> (classes, mean, std) of a checkpoint written by ``Classifier.save``, checked against ``model`` (see the
    module docstring); ``where`` names the checkpoint in the messages."""
    where = f"{where} meta.json"
    info = meta.get("classifier")
    if not isinstance(model, SequenceClassifier) or not isinstance(info, dict):
        raise UserError(f"{where}: expected a checkpoint saved by Classifier.save, got a {type(model).__name__}"
                        f"{'' if isinstance(info, dict) else ' without classifier settings'}")
    missing = [k for k in META_KEYS if k not in info]
    unknown = sorted(map(str, set(info) - set(META_KEYS)))
    if missing or unknown:
        got = f"missing {missing}" if missing else f"unknown {unknown} (written by a newer gatedrnn?)"
        raise UserError(f"{where} classifier: expected the keys {list(META_KEYS)}, got {got}")
    classes, C = info["classes"], model.head.out_features
    if not isinstance(classes, list) or len(classes) != C:
        got = f"a list of {len(classes)}" if isinstance(classes, list) else show(classes, 40)
        raise UserError(f"{where} classifier 'classes': expected a list of {C} labels (the model's num_classes), "
                        f"got {got}")
    check_label_values(f"{where} classifier 'classes'", classes)
    if len(set(classes)) != C:
        raise UserError(f"{where} classifier 'classes': expected {C} different labels, got repeats in {show(classes)}")
    D = model.config["input_size"]
    return (numpy.array(classes), _numbers(where, "mean", info["mean"], D, False),
            _numbers(where, "std", info["std"], D, True))
