"""Small-data training for the ``Classifier``: augmentation drawn afresh every epoch, and crops at test time.

* ``scale`` > 0: each training sequence multiplied by ``1 + scale * N(0, 1)`` (one draw per sequence; magnitude
  jitter, after the standardisation);
* ``crop`` > 0: each training sequence cut to a window of ``crop`` steps at a random start (window slicing); at
  prediction time the logits are averaged over ``CROP_VIEWS`` windows spread evenly from the start to the end;
* the Gaussian noise of ``noise`` (``Classifier``) is the jitter.

A crop longer than the shortest sequence is one line.
"""

from __future__ import annotations

import numpy

from gatedrnn.errors import UserError

CROP_VIEWS = 5       # windows averaged at prediction time


def check_crop(crop: int, seqs: list) -> None:
    """A crop of ``crop`` steps fits in the shortest sequence (one line naming it otherwise)."""
    if not crop:
        return
    shortest = min(len(s) for s in seqs)
    if crop > shortest:
        i = min(range(len(seqs)), key=lambda k: len(seqs[k]))
        raise UserError(f"crop: expected at most the shortest sequence's length ({shortest}, X[{i}]), got {crop}")


def augmented(seqs: list, rng, crop: int, scale: float) -> list:
    """The training sequences of one epoch: cropped at random starts and scaled (new arrays; ``seqs`` kept)."""
    out = []
    for s in seqs:
        if crop:
            start = int(rng.integers(0, len(s) - crop + 1))
            s = s[start:start + crop]
        if scale:
            s = s * s.dtype.type(1.0 + scale * rng.standard_normal())
        out.append(s)
    return out


def views(seqs: list, crop: int) -> tuple[list, numpy.ndarray]:
    """-> (every sequence's ``CROP_VIEWS`` windows of ``crop`` steps, the index of the sequence each came from);
    without ``crop``, the sequences themselves."""
    if not crop:
        return list(seqs), numpy.arange(len(seqs))
    out, owner = [], []
    for i, s in enumerate(seqs):
        for start in numpy.unique(numpy.linspace(0, len(s) - crop, CROP_VIEWS).round().astype(int)):
            out.append(s[start:start + crop])
            owner.append(i)
    return out, numpy.array(owner)
