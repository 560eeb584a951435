"""A min-cell block against an LSTM layer (issue 22): one training step (forward + backward with a fixed output
gradient, float32, one BLAS thread) over B = 16 sequences of T steps, and one streaming step at batch 1.

    nice python benchmarks/block_speed.py                     # T = 256 1024, d = 128 (blocks), H = 256 (LSTM)

Runners: one ``MinBlockStack`` block (d_model d, expansion 2, conv 4, feed-forward 4 d, LayerNorm) with minGRU and
with minLSTM, a 3-block stack of each, and one ``LSTM`` layer of H units on d inputs. The runners alternate within
each repeat after a warm-up step; the table has the median process CPU time in ms and tokens per CPU second. The
streaming table times ``Stream.step`` of a ``BlockLM`` (3 blocks) and of a one-layer LSTM ``LanguageModel`` over 65
symbols, and gives the bytes of each one's carried state.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # before NumPy is imported
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import gatedrnn as g  # noqa: E402
from gatedrnn.models import BlockLM, LanguageModel, MinBlockStack  # noqa: E402
from gatedrnn.models.stream import Stream  # noqa: E402


def runner(make, B, T, D, seed=0):
    rng = np.random.default_rng(seed)
    layer = make()
    x = rng.standard_normal((B, T, D)).astype(np.float32)
    dy = None

    def step():
        nonlocal dy
        layer.zero_grad()
        y, _ = layer.forward(x)
        if dy is None:
            dy = rng.standard_normal(y.shape).astype(np.float32)
        layer.backward(dy)
    return layer, step


def train_table(a) -> None:
    d, H, B = a.d_model, a.hidden_size, a.batch_size
    makers = {"block minGRU x1": lambda: MinBlockStack(d, 1, cell="mingru"),
              "block minLSTM x1": lambda: MinBlockStack(d, 1, cell="minlstm"),
              "block minGRU x3": lambda: MinBlockStack(d, 3, cell="mingru"),
              "block minLSTM x3": lambda: MinBlockStack(d, 3, cell="minlstm"),
              f"LSTM {H} (1 layer)": lambda: g.LSTM(d, H, 1)}
    print(f"one training step, B = {B}, d = {d}, float32, one BLAS thread: median process CPU ms ({a.repeats} repeats)")
    print("| runner | parameters | " + " | ".join(f"T = {T}: ms (tokens/s)" for T in a.time_sizes) + " |")
    print("|---|---|" + "---|" * len(a.time_sizes))
    rows = {name: [] for name in makers}
    params = {}
    for T in a.time_sizes:
        steps = {}
        for name, make in makers.items():
            layer, step = runner(make, B, T, d)
            params[name] = layer.num_params()
            step()
            steps[name] = step
        times = {name: [] for name in makers}
        names = list(makers)
        for r in range(a.repeats):
            for name in names[r % len(names):] + names[:r % len(names)]:
                c = time.process_time()
                steps[name]()
                times[name].append(time.process_time() - c)
        for name in makers:
            ms = 1000 * statistics.median(times[name])
            rows[name].append(f"{ms:.1f} ({B * T / ms * 1000:,.0f})")
    for name in makers:
        print(f"| {name} | {params[name]:,} | " + " | ".join(rows[name]) + " |")


def stream_table(a) -> None:
    models = {"BlockLM minGRU, 3 blocks": BlockLM(65, a.d_model, 3, cell="mingru"),
              "BlockLM minLSTM, 3 blocks": BlockLM(65, a.d_model, 3, cell="minlstm"),
              f"LSTM LanguageModel, 1 x {a.hidden_size}": LanguageModel(65, 64, a.hidden_size, 1),
              f"LSTM LanguageModel, 2 x {a.hidden_size}": LanguageModel(65, 64, a.hidden_size, 2)}
    print("\none streaming step at batch 1 (median process CPU us over 2,000 steps) and the carried state")
    print("| model | parameters | us per token | state (bytes, float32) |")
    print("|---|---|---|---|")
    ids = np.random.default_rng(0).integers(0, 65, 2000)
    for name, model in models.items():
        s = Stream(model)
        times = []
        for t in ids:
            c = time.process_time()
            s.step(t)
            times.append(time.process_time() - c)
        state = s.state
        nbytes = sum(int(x.nbytes) for x in (state if isinstance(state, tuple) else (state,)))
        print(f"| {name} | {model.num_params():,} | {1e6 * statistics.median(times):.0f} | {nbytes:,} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-sizes", type=int, nargs="+", default=[256, 1024])
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--hidden-size", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=7)
    a = ap.parse_args()
    train_table(a)
    stream_table(a)


if __name__ == "__main__":
    main()
