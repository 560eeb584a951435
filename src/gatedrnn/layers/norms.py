"""The normalisations a block can use, by name: ``NORMS = {"layer": LayerNorm, "rms": RMSNorm}``."""

from __future__ import annotations

from gatedrnn.errors import check_choice
from gatedrnn.layers.layernorm import LayerNorm
from gatedrnn.layers.rmsnorm import RMSNorm

NORMS = {"layer": LayerNorm, "rms": RMSNorm}


def make_norm(kind: str, d: int, *, dtype=None):
    """``LayerNorm(d)`` or ``RMSNorm(d)`` by name (``"layer"``, ``"rms"``)."""
    return NORMS[check_choice("norm", kind, sorted(NORMS))](d, dtype=dtype)
