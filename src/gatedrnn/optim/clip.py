"""Global-norm gradient clipping (Pascanu, Mikolov & Bengio 2013)."""

from __future__ import annotations

import math

from gatedrnn.backend import xp


def clip_grad_norm(grads, max_norm: float) -> float:
    """Scale all ``grads`` in place so their joint L2 norm is at most ``max_norm``; return the norm before.

    The direction of the full gradient vector is kept. A non-finite norm is returned as is and nothing is
    scaled, so the caller can stop on it.
    """
    total = 0.0
    for g in grads:
        total += float(xp.vdot(g.ravel(), g.ravel()))
    norm = math.sqrt(total) if total >= 0 else float("nan")
    if math.isfinite(norm) and norm > max_norm:
        scale = max_norm / (norm + 1e-6)
        for g in grads:
            g *= scale
    return norm
