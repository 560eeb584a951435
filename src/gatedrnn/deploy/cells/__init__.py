"""The cells' emitters: one module per cell, named as the cell is in the registry (``gatedrnn.CELLS``), holding
what deploy writes for it, next to nothing else:

* ``C_STEP``: the C99 statements of one unit's step, the body of ``for (j = 0; j < H; ++j)`` in the generated
  ``<prefix>_cell`` (``deploy/c99.py``, ``c99_front.py``, ``c99_block.py``). It reads ``g[k * H + j]``, the fused
  pre-activation columns of the layer's ``step_weights`` (bias, plus the input rows times x, plus the recurrent
  rows times h), and ``h[j]`` (and ``c[j]``), and writes ``h[j]`` (and ``c[j]``): the arithmetic of the layer's
  ``step_update``, its NumPy twin. ``fast_tanh`` is the generated file's rational tanh (``c99_kernels.TANH``).
* ``ONNX``: its ONNX form (``deploy/onnx_cell.py``'s ``OnnxCell``: an operator, or its own nodes).
* ``Q15_STEP`` and ``q15_update`` (the kilobyte cells): the same step in integer arithmetic for the fixed-point
  export (``deploy/c99_fixed.py``: g in Q16, h in Q(HF), the helpers ``q_tanh``, ``q_sigmoid``, ``q_h``) and its
  NumPy int64 twin, bit for bit (``deploy/fixed_stream.py``'s reference, with ``fixed_point.Q15Ops``).

Adding a cell's exports is one module here; a cell without one (or without one of these names) is refused by
that export in one line. Nothing else in ``deploy/`` names a cell: the tables below are keyed by module name.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

from gatedrnn.deploy.onnx_cell import OnnxCell
from gatedrnn.layers import CELLS


def _modules() -> dict:
    """registry name -> this package's module of that name; a module named after no cell is a bug."""
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name not in CELLS:
            raise RuntimeError(f"deploy/cells/{info.name}.py: expected a module named after a cell of "
                               f"{sorted(CELLS)}, got {info.name!r}")
        found[info.name] = importlib.import_module(f"{__name__}.{info.name}")
    return found


_MODULES = _modules()
C_STEPS: dict[str, str] = {name: m.C_STEP for name, m in _MODULES.items() if getattr(m, "C_STEP", None)}
ONNX_CELLS: dict[str, OnnxCell] = {name: m.ONNX for name, m in _MODULES.items() if getattr(m, "ONNX", None)}
Q15_STEPS: dict[str, tuple[str, Callable]] = {name: (m.Q15_STEP, m.q15_update) for name, m in _MODULES.items()
                                              if getattr(m, "Q15_STEP", None)}


def c_step(cls) -> str | None:
    """The C step of the layer class ``cls`` (by its registry ``name``), or None: no C export."""
    return C_STEPS.get(cls.name)


def c_cells() -> list[str]:
    """The registry's cells that have a C step, in the registry's order."""
    return [name for name, stack in CELLS.items() if c_step(stack.layer_class)]


def onnx_cell(cls) -> OnnxCell | None:
    """The ONNX form of the layer class ``cls`` (by its registry ``name``), or None: no ONNX export."""
    return ONNX_CELLS.get(cls.name)


def q15_step(cls) -> str | None:
    """The fixed-point C step of the layer class ``cls`` (by its registry ``name``), or None: no fixed-point export."""
    found = Q15_STEPS.get(cls.name)
    return found[0] if found else None


def q15_update(cls) -> Callable:
    """The NumPy int64 twin of ``q15_step(cls)``: ``update(g, h, HF, q) -> the new h``."""
    return Q15_STEPS[cls.name][1]


def fixed_cells() -> list[str]:
    """The registry's cells that have a fixed-point step, in the registry's order."""
    return [name for name in CELLS if name in Q15_STEPS]


def own_nodes(layer, g, x: str, h0: str | None, tag: str):
    """The full-sequence nodes of ``layer``, whose cell writes its own (``OnnxCell.nodes``) -> (y, h_n)."""
    spec = onnx_cell(type(layer))
    if spec is None or spec.nodes is None:
        raise RuntimeError(f"ONNX export: expected a cell that writes its own nodes, got {type(layer).__name__}")
    return spec.nodes(layer, g, x, h0, tag)
