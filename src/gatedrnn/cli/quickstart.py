"""``gatedrnn quickstart``: the offline demo."""

from __future__ import annotations

from gatedrnn.config import add_config_flags, given_flags
from gatedrnn.lab.quickstart import QuickstartConfig


def register(sub):
    p = sub.add_parser("quickstart", help="offline demo: gradient check, then train a char-level LSTM and sample",
                       description="Checks the LSTM's hand-written gradients, trains a character-level LSTM on "
                                   "sentences the project generates (no download) and prints a sample. "
                                   "Under a minute on 2 cores.")
    add_config_flags(p, QuickstartConfig)
    p.set_defaults(func=run)


def run(args):
    from gatedrnn.lab.quickstart import run as demo

    demo(QuickstartConfig().replace(**given_flags(QuickstartConfig, args)))
    return 0
