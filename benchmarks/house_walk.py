"""How a run walks the house: which modules call which, traced while it runs (issue 28's measure).

Two walks: ``lm``, a language-model run from its config (``gatedrnn train`` on a tiny character corpus, 1 epoch)
and ``fit``, ``Forecaster.fit`` on a small panel with explicit settings (no search). Every call from a function of
one ``gatedrnn`` module into a function of another is an edge (caller module -> callee module, counted once however
often it runs). Each edge is

- a *stay*: both modules in the same room (``forecast``, ``train``, ``layers``, ...; the rooms and floors of
  tests/project/test_house_rules.py),
- a *descent*: the callee's room on a lower floor (the way imports flow),
- a *climb*: the callee's room on a higher floor (a call against the house's order, through a callback or an object
  handed down),
- a *side step*: another room on the same floor.

A *return* is a pair of modules that call each other both ways (A -> B and B -> A: the ping-pong that a caller
handing work to a helper which calls back into it makes). Run: ``python benchmarks/house_walk.py [--walk lm|fit|all]``
(seconds; the modules are imported first, so what importing runs is not counted; prints a table;
``PYTHONPATH=<another checkout>/src`` measures that version).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

FLOORS = {"backend": 0, "errors": 0, "config": 0, "atomic": 0, "init": 0, "checkpoint_io": 0, "run_folder": 0,
          "output_paths": 0, "run_lock": 0, "layers": 1, "optim": 1, "data": 1, "gradcheck": 1, "models": 2,
          "train": 3, "deploy": 4, "lm": 5, "forecast": 5, "classify": 5, "api": 6, "lab": 6, "cli": 7}


def room(module: str) -> str:
    """``gatedrnn.forecast.features`` -> ``forecast``; ``gatedrnn.errors`` -> ``errors``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def trace(run) -> set:
    """The (caller module, callee module) edges between ``gatedrnn`` modules while ``run()`` runs."""
    edges: set = set()

    def profile(frame, event, arg):
        if event != "call":
            return
        callee = frame.f_globals.get("__name__", "")
        back = frame.f_back
        caller = back.f_globals.get("__name__", "") if back is not None else ""
        if callee.startswith("gatedrnn.") and caller.startswith("gatedrnn.") and callee != caller:
            edges.add((caller, callee))

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return edges


def kinds(edges: set) -> Counter:
    """The edges counted by kind (stay, descent, climb, side step), and the returns (pairs called both ways)."""
    out: Counter = Counter()
    for a, b in edges:
        ra, rb = room(a), room(b)
        fa, fb = FLOORS.get(ra, -1), FLOORS.get(rb, -1)
        out["stays" if ra == rb else "descents" if fb < fa else "climbs" if fb > fa else "side steps"] += 1
    out["returns"] = sum(1 for a, b in edges if a < b and (b, a) in edges)
    out["edges"] = len(edges)
    return out


def lm_walk() -> None:
    from gatedrnn.cli import main
    from gatedrnn.data.synthetic import toy_sentences
    with tempfile.TemporaryDirectory() as d:
        corpus = Path(d) / "toy.txt"
        corpus.write_text(toy_sentences(2000, seed=0))
        flags = ["--level", "char", "--embed-size", "8", "--hidden-size", "16", "--batch-size", "4", "--time-size",
                 "10", "--eval-batch-size", "2", "--optimizer", "adam", "--lr", "0.01", "--clip", "1", "--no-progress"]
        assert main(["train", "--corpus", str(corpus), "--epochs", "1", "--out", str(Path(d) / "run"), *flags]) == 0


def fit_walk() -> None:
    import numpy

    from gatedrnn.forecast import Forecaster
    t = numpy.arange(300)
    y = [10 + numpy.sin(2 * numpy.pi * t / 24) + 0.1 * k for k in range(3)]
    Forecaster(horizon=6, season=24, window=48, hidden_size=8, max_steps=20, batch_size=8).fit(y)


WALKS = {"lm": lm_walk, "fit": fit_walk}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--walk", choices=[*WALKS, "all"], default="all")
    p.add_argument("--edges", action="store_true", help="print every edge that is not a descent or a stay")
    args = p.parse_args(argv)
    names = list(WALKS) if args.walk == "all" else [args.walk]
    import gatedrnn.cli
    import gatedrnn.forecast  # noqa: F401  (imported before the walks: what importing runs is not walked)
    print("| walk | edges | stays | descents | side steps | climbs | returns |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        edges = trace(WALKS[name])
        k = kinds(edges)
        print(f"| {name} | {k['edges']} | {k['stays']} | {k['descents']} | {k['side steps']} | {k['climbs']} | "
              f"{k['returns']} |")
        if args.edges:
            for a, b in sorted(edges):
                up = FLOORS.get(room(b), -1) > FLOORS.get(room(a), -1)
                both = (b, a) in edges
                if up or both:
                    print(f"    {a} -> {b}{'  (climb)' if up else ''}{'  (return)' if both else ''}")


if __name__ == "__main__":
    main()
