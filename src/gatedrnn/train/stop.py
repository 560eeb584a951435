"""Why a training run ended: ``summary["stopped"]`` of ``Trainer.fit`` and the ``reason`` a callback gives
``trainer.stop``. A ``str`` enum: a member equals, prints and serialises (JSON) as its value, so ``"max_steps"``
in a log or a ``results.json`` reads the same as before."""

from __future__ import annotations

from enum import Enum

from gatedrnn.errors import check_choice


class StopReason(str, Enum):
    DONE = "done"                          # every epoch ran
    MAX_STEPS = "max_steps"                # the step budget (resumable)
    INTERRUPTED = "interrupted"            # Ctrl-C (resumable)
    TIME_LIMIT = "time_limit"              # the TimeLimit callback's budget
    EARLY_STOPPING = "early_stopping"      # the EarlyStopping callback
    TARGET = "target"                      # a callback's goal reached (a loss threshold, a test error)
    OTHER_RANK = "stopped on another rank"  # under MPI: a callback on another rank asked

    def __str__(self) -> str:
        return self.value

    @classmethod
    def of(cls, reason) -> "StopReason":
        """``reason`` (a member or its value) as a member; anything else is a ``UserError``."""
        if isinstance(reason, cls):
            return reason
        return cls(check_choice("Trainer.stop reason", reason, [r.value for r in cls]))


# the reasons a run stops before its end and can be resumed from ``last/`` to finish as if uninterrupted
UNFINISHED = (StopReason.MAX_STEPS, StopReason.INTERRUPTED, StopReason.TIME_LIMIT)
