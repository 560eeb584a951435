"""Time two versions of gatedrnn (e.g. an older commit against the working tree) on the same training step.

    git worktree add /tmp/gatedrnn-old 3ef2e5a          # or: git archive 3ef2e5a src | tar -x -C /tmp/gatedrnn-old
    python benchmarks/compare_versions.py --old /tmp/gatedrnn-old/src --new src --threads 1 small medium

Both versions are imported into one process (the second after the first is unloaded; each keeps its own
classes), and their steps alternate with the GEMM runner of ``train_step.py``, timed by CPU time with one
BLAS thread (robust to other load) or by the wall clock.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy  # noqa: F401  (loaded before threadpoolctl limits the BLAS)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_step as ts  # noqa: E402


def load(src):
    """The classes a step needs, imported from the gatedrnn under ``src``."""
    for k in [k for k in sys.modules if k == "gatedrnn" or k.startswith("gatedrnn.")]:
        del sys.modules[k]
    sys.path.insert(0, os.path.abspath(src))
    try:
        import gatedrnn.layers as layers
        import gatedrnn.models.language_model as lm
        import gatedrnn.optim as optim
    finally:
        sys.path.pop(0)
    return lm.LanguageModel, layers.SoftmaxCrossEntropy, optim.SGD, optim.clip_grad_norm


class Step:
    def __init__(self, name, parts, cfg):
        LM, CE, SGD, clip = parts
        cell, B, T, V, E, H, L, p, tied = cfg
        self.name = name
        self.model = LM(V, E, H, L, cell=cell, dropout=p, tie_weights=tied, seed=0)
        self.loss, self.opt, self.clip, self.state = CE(), SGD(self.model.params, self.model.grads, ts.LR), clip, None

    __call__ = ts.OursStep.__call__


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("configs", nargs="+", choices=list(ts.CONFIGS))
    ap.add_argument("--old", required=True, help="the src folder of the older version")
    ap.add_argument("--new", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits
    threadpool_limits(args.threads)
    clock = time.process_time if args.threads == 1 else time.perf_counter
    print(f"# {'CPU time' if args.threads == 1 else 'wall clock'}, {args.threads} BLAS thread(s), medians of {args.repeats}")
    for name in args.configs:
        cfg = ts.CONFIGS[name]
        old, new = Step("old", load(args.old), cfg), Step("new", load(args.new), cfg)
        times = ts.interleaved([old, new, ts.GemmStep(cfg)], ts.make_data(cfg, 8), 2, args.repeats, clock)
        med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
        print(f"{name:11s} old {med['old']:7.1f} ms ({med['old'] / med['GEMMs']:.2f}x GEMMs)   new {med['new']:7.1f} ms "
              f"({med['new'] / med['GEMMs']:.2f}x)   GEMMs {med['GEMMs']:.1f} ms", flush=True)


if __name__ == "__main__":
    main()
