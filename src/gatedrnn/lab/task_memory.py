"""How much memory a synthetic-task run needs, checked before anything is allocated: ``gatedrnn task adding
--length 1000000000`` is one line, not a MemoryError after minutes.

``task_bytes(cfg)`` estimates the bytes of one ``lab.tasks`` run: the fixed test set (inputs, targets, mask), one
training batch and its activations (each step keeps its gate pre-activations, states and outputs for the
backward pass), one evaluation chunk's activations, and the weights with their gradients and the optimizer's
state (measured: an LSTM of 128 units at T = 2,000 with the default batch and test set peaked at 6.9 GB; the
estimate says 8.8 GB). ``check_task_fits(cfg)`` refuses a run that would need more than this machine's
physical memory, naming the size setting furthest above its default (``length``, ``hidden_size``, ``test_size``
...); ``check_allocation`` does the same for the generators' own arrays (``adding_problem(10, 10**10)``).
"""

from __future__ import annotations

import dataclasses
import os

from gatedrnn.errors import UserError
from gatedrnn.layers import CELLS

FALLBACK_MEMORY = 64 * 2**30       # where the machine's memory cannot be read (not Linux, macOS or BSD)
SIZES = ("length", "hidden_size", "batch_size", "test_size", "symbols", "alphabet")
EVAL_CHUNK = 500                   # sequences per evaluation forward (lab.tasks.evaluate)


def machine_memory() -> int:
    """Bytes of physical memory (``FALLBACK_MEMORY`` where the system does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):      # no sysconf (Windows), or a name this system lacks
        return FALLBACK_MEMORY


def check_allocation(name: str, value, nbytes: int) -> None:
    """One line naming ``name`` when a generator would allocate more than this machine's memory."""
    have = machine_memory()
    if nbytes > have:
        raise UserError(f"{name}: expected arrays that fit in memory (about {nbytes / 2**30:,.3g} GiB; this machine "
                        f"has {have / 2**30:,.3g} GiB), got {value}")


def steps_and_features(cfg) -> tuple[int, int]:
    """(steps per sequence, input features) of ``cfg``'s task."""
    if cfg.task == "adding":
        return cfg.length, 2
    extra = 2 * cfg.symbols + (1 if cfg.task == "selective" else 0)
    return cfg.length + extra, cfg.alphabet + 2


def task_bytes(cfg) -> tuple[int, int]:
    """-> (bytes of the data and activations, bytes of the weights with gradients and optimizer state); float32."""
    T, F = steps_and_features(cfg)
    H, G = cfg.hidden_size, CELLS[cfg.cell].layer_class.gates
    per_sequence = T * (4 * F + 8 + 4)                          # inputs, int64 targets, mask
    per_active = 2 * T * H * (G + 4) * 4    # gates, h, c, outputs per step, and the temporaries of their math
    data = (cfg.test_size + cfg.batch_size) * per_sequence
    activations = (cfg.batch_size + min(cfg.test_size, EVAL_CHUNK)) * per_active
    weights = 4 * 4 * (G * H * (F + H + 2) + (H + 1) * max(F, 1))
    return data + activations, weights


def _culprit(cfg) -> str:
    """The size setting furthest above its default (the one to name in the message)."""
    defaults: dict = {f.name: f.default for f in dataclasses.fields(cfg)}
    return max(SIZES, key=lambda name: getattr(cfg, name) / max(defaults[name], 1))


def check_task_fits(cfg) -> None:
    """One ``UserError`` line when the run of ``cfg`` would not fit in this machine's memory."""
    work, weights = task_bytes(cfg)
    have = machine_memory()
    if work + weights <= have:
        return
    name = _culprit(cfg)
    raise UserError(f"{name}: expected a run that fits in memory (length {cfg.length:,}, hidden_size "
                    f"{cfg.hidden_size:,}, batch_size {cfg.batch_size:,}, test_size {cfg.test_size:,} need about "
                    f"{(work + weights) / 2**30:,.3g} GiB; this machine has {have / 2**30:,.3g} GiB), got "
                    f"{getattr(cfg, name)}")
