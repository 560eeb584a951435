"""``gatedrnn overfit``: the sanity test (memorise a sentence / fit a sine), PASS or FAIL."""

from __future__ import annotations


def register(sub):
    p = sub.add_parser("overfit", help="sanity test: memorise one sentence or one sine period, says PASS/FAIL",
                       description="Trains a tiny model on a tiny data set that it must be able to memorise. "
                                   "FAIL means a gradient, the optimizer or the data path is broken. "
                                   "Exit status 0 on PASS, 1 on FAIL.")
    p.add_argument("--what", nargs="+", choices=["sentence", "sine"], default=["sentence", "sine"],
                   help="which recipe(s) to run (default both)")
    p.add_argument("--cell", choices=["lstm", "gru", "rnn"], default="lstm", help="recurrent cell (default lstm)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run)


def run(args):
    from gatedrnn.lab.overfit import overfit

    ok = True
    for what in dict.fromkeys(args.what):
        print(f"overfit {what} ({args.cell}):")
        r = overfit(what, cell=args.cell, seed=args.seed, echo=print)
        print(f"{r.verdict}: {what}: loss {r.loss:.2e} (threshold {r.threshold:g}) after {r.steps} steps, "
              f"{r.seconds:.1f}s; {r.detail}")
        ok &= r.passed
    return 0 if ok else 1
