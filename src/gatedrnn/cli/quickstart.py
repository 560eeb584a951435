"""``gatedrnn quickstart``: the offline demo."""

from __future__ import annotations


def register(sub):
    p = sub.add_parser("quickstart", help="offline demo: gradient check, then train a char-level LSTM and sample",
                       description="Checks the LSTM's hand-written gradients, trains a character-level LSTM on "
                                   "sentences the project generates (no download) and prints a sample. "
                                   "Under a minute on 2 cores.")
    p.add_argument("--steps", type=int, default=300, help="training steps (default 300)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args):
    from gatedrnn.lab.quickstart import run as demo

    demo(steps=args.steps, seed=args.seed)
    return 0
