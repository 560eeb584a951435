"""How a run reports its loss: as the loss itself, or as a perplexity (a language model's per-token cross-entropy).

The ``Trainer`` holds one of these (``trainer.report``: ``Trainer(perplexity=True)`` picks ``PERPLEXITY``) and asks
it only for ``value(loss)``, ``fmt(loss)``, ``extra(name, loss)`` (the record entries added beside a loss) and
``unit`` (what the throughput counts per second); nothing in the loop names a loss class.
"""

from __future__ import annotations

import math


class LossReport:
    """The loss as it is; throughput in targets per second."""

    perplexity = False
    unit = "targets/s"

    def value(self, loss: float) -> float:
        return loss

    def fmt(self, loss: float) -> str:
        return f"loss {loss:.4g}"

    def extra(self, name: str, loss: float) -> dict:
        """The entries a record carries beside ``loss`` (none here)."""
        return {}


class PerplexityReport(LossReport):
    """exp(loss) (capped at exp(700)), shown as ``ppl``; throughput in tokens per second."""

    perplexity = True
    unit = "tok/s"

    def value(self, loss: float) -> float:
        return math.exp(min(loss, 700.0))

    def fmt(self, loss: float) -> str:
        ppl = self.value(loss)
        return f"ppl {ppl:.2f}" if ppl < 1e6 else f"ppl {ppl:.3g}"

    def extra(self, name: str, loss: float) -> dict:
        return {name: self.value(loss)}


LOSS, PERPLEXITY = LossReport(), PerplexityReport()
