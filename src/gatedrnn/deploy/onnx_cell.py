"""How one recurrent cell becomes ONNX (``OnnxCell``): the form each module of ``deploy/cells/`` declares.

A cell that one of ONNX's recurrent operators computes maps onto it: ``op`` (``LSTM``, ``GRU``, ``RNN``), its
``gate_order`` (ONNX's block k is the cell's block ``gate_order[k]``: the gate orders differ) and ``attrs`` (the
operator's attributes besides ``hidden_size``); ``B`` is ``[Wb; Rb]`` = ``[b_ih; b_hh]`` reordered the same way
(``deploy/onnx.py``). A cell that no ONNX recurrent operator fits writes its own full-sequence nodes instead:
``nodes(layer, g, x, h0, tag) -> (y, h_n)``, with ``g`` deploy.onnx's graph builder, ``x`` the seq-major input,
``h0`` the start state (1, batch, H) or None for zeros, and ``op`` the operator those nodes are built around.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class OnnxCell:
    """How one cell becomes ONNX: an operator (``op``, ``gate_order``, ``attrs``) or its own nodes (``nodes``)."""

    op: str                                            # the operator type in the graph (``Scan`` for own nodes)
    gate_order: tuple = (0,)                           # ONNX block k is the cell's block gate_order[k]
    attrs: Mapping[str, int] = field(default_factory=lambda: types.MappingProxyType({}))
    nodes: Callable | None = None                      # (layer, g, x, h0, tag) -> (y, h_n); None: ``op`` maps it
