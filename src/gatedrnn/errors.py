"""Input checks shared by every layer: each raises a one-line ``ValueError`` naming expected vs got."""

from __future__ import annotations

import numpy

from gatedrnn.backend import xp


def check_rank(name: str, a, ndim: int, layout: str):
    if getattr(a, "ndim", None) != ndim:
        got = f"shape {tuple(a.shape)}" if hasattr(a, "shape") else type(a).__name__
        raise ValueError(f"{name}: expected a {ndim}-d array {layout}, got {got}")


def check_dim(name: str, a, axis: int, size: int, what: str):
    if a.shape[axis] != size:
        raise ValueError(f"{name}: expected {what} = {size} (axis {axis}), got shape {tuple(a.shape)}")


def check_shape(name: str, a, shape: tuple):
    got = tuple(getattr(a, "shape", ()))
    if got != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)}, got {got}")


def check_finite(name: str, a):
    if not bool(xp.isfinite(a).all()):
        raise ValueError(f"{name}: expected finite values, got NaN or Inf")


def check_float(name: str, a):
    if not numpy.issubdtype(a.dtype, numpy.floating):
        raise ValueError(f"{name}: expected a floating-point array, got dtype {a.dtype}")


def check_ids(name: str, ids, num: int):
    if not numpy.issubdtype(ids.dtype, numpy.integer):
        raise ValueError(f"{name}: expected integer token ids, got dtype {ids.dtype}")
    if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= num):
        raise ValueError(
            f"{name}: expected ids in [0, {num}), got values in [{int(ids.min())}, {int(ids.max())}]"
        )
