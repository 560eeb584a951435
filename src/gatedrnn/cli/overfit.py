"""``gatedrnn overfit``: the sanity test (memorise a sentence / fit a sine), PASS or FAIL."""

from __future__ import annotations

from gatedrnn.config import add_config_flags, given_flags
from gatedrnn.lab.overfit import OverfitConfig


def register(sub):
    p = sub.add_parser("overfit", help="sanity test: memorise one sentence or one sine period, says PASS/FAIL",
                       description="Trains a tiny model on a tiny data set that it must be able to memorise. "
                                   "FAIL means a gradient, the optimizer or the data path is broken. "
                                   "Exit status 0 on PASS, 1 on FAIL.")
    add_config_flags(p, OverfitConfig)
    p.set_defaults(func=run)


def run(args):
    from gatedrnn.lab.overfit import run_overfit

    return 0 if run_overfit(OverfitConfig().replace(**given_flags(OverfitConfig, args))) else 1
