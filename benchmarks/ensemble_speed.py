"""Ensembles at the price of one (issue 21 item 6): a Forecaster's K members trained one after another against
the same K members trained as one batched network (``forecast/members.py``), on an M4 Hourly sized problem.

    OPENBLAS_NUM_THREADS=1 GATEDRNN_DATA=../shared/data nice -n 10 python benchmarks/ensemble_speed.py
    python benchmarks/ensemble_speed.py --size small          # seconds: 8 series, 4 steps, one repeat
    python benchmarks/ensemble_speed.py --threads 2            # also the batched network on 2 threads

The problem (``--size full``): M4 Hourly's 414 training series (``forecast/m4.py`` reads them from
``GATEDRNN_DATA``), ``Forecaster(horizon=48, season=24, window=96, hidden_size=48, max_steps=300, batch_size=64,
n_models=K)``, one LSTM layer, float32: fixed settings, so no settings search runs. For K = 1, 2 and 5 it times
``train_members(f, panel, batched=False)`` (the members one after another, each through ``train_network``) and
``train_members(f, panel, batched=True)`` (one batched network); the runs are interleaved (every K and both ways
in each repeat, the order reversed every other repeat) and the medians of the repeats are printed, wall clock and
process CPU time, with the ratio batched 5 / sequential 2 (below 1: five members batched cost less than two one
after another). The last line gives the largest difference between the batched and the sequential members'
weights (the same training in float32: round-off only). Without the M4 files, or with ``--synthetic``, a
generated panel of the same shape (414 sine-plus-noise series of 700 to 960 values) stands in. ``--threads N``
adds a third way: the batched network with its members split over N threads (``MemberRegressor``), which needs
N free cores to gain anything; ``--processes P`` another: the members in P child processes
(``forecast/member_processes.py``, each member its sequential run bit for bit), CPU time counting the children.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

from gatedrnn.forecast import Forecaster
from gatedrnn.forecast.features import to_panel
from gatedrnn.forecast.m4 import cpu_seconds
from gatedrnn.forecast.members import train_members

SIZES = {"full": {"series": None, "steps": 300, "repeats": 3, "members": (1, 2, 5)},
         "small": {"series": 8, "steps": 4, "repeats": 1, "members": (1, 2, 5)}}
SETTINGS = {"horizon": 48, "season": 24, "window": 96, "hidden_size": 48, "batch_size": 64, "seed": 0}


def synthetic_panel(n: int = 414, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(700, 961, n)
    return [100 + 50 * np.sin(2 * np.pi * np.arange(m) / 24 + rng.uniform(0, 6)) + rng.normal(0, 5, m).cumsum() / 5
            + 1000 * rng.uniform(0.1, 1) for m in lengths]


def m4_panel(synthetic: bool) -> tuple[list, str]:
    if not synthetic:
        from gatedrnn.forecast.m4 import find_files, read_wide
        try:
            path = find_files()["train"]
        except FileNotFoundError as exc:
            print(f"# {exc}: a synthetic panel instead", file=sys.stderr)
        else:
            return list(read_wide(path).values()), f"M4 Hourly train ({path})"
    return synthetic_panel(), "synthetic (414 series, 700-960 values)"


def time_once(f, panel, batched: bool, threads: int = 1, processes: int = 1) -> tuple[float, float, list]:
    t0, c0 = time.perf_counter(), cpu_seconds()
    models, _ = train_members(f, panel, batched=batched, threads=threads, processes=processes)
    return time.perf_counter() - t0, cpu_seconds() - c0, models


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", choices=sorted(SIZES), default="full")
    p.add_argument("--repeats", type=int, help="repeats of every K and way (default: 3 full, 1 small)")
    p.add_argument("--synthetic", action="store_true", help="a generated panel of M4 Hourly's shape")
    p.add_argument("--threads", type=int, default=1, help="also time the batched network on this many threads")
    p.add_argument("--processes", type=int, default=1, help="also time the members in this many child processes "
                   "(forecast/member_processes.py; needs fork)")
    a = p.parse_args(argv)
    size = SIZES[a.size]
    repeats = a.repeats or size["repeats"]
    values, source = m4_panel(a.synthetic)
    values = values[:size["series"]] if size["series"] else values
    panel = to_panel(values)
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.2f}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, "
          f"NumPy {np.__version__}")
    print(f"# {source}: {len(values)} series; Forecaster({SETTINGS}, max_steps={size['steps']}, n_models=K), "
          f"lstm, float32; medians of {repeats} interleaved repeats")
    ways = {"sequential": (False, 1, 1), "batched": (True, 1, 1)}
    if a.threads > 1:
        ways[f"batched {a.threads} threads"] = (True, a.threads, 1)
    if a.processes > 1:
        ways[f"{a.processes} processes"] = (False, 1, a.processes)
    times: dict = {}
    last: dict = {}
    for r in range(repeats):
        runs = [(k, w) for k in size["members"] for w in ways]
        for k, way in (runs if r % 2 == 0 else runs[::-1]):
            f = Forecaster(**SETTINGS, max_steps=size["steps"], n_models=k, mask=False)
            wall, cpu, models = time_once(f, panel, *ways[way])
            times.setdefault((k, way), []).append((wall, cpu))
            last[(k, way)] = models
            print(f"#   repeat {r + 1}: K={k} {way} {wall:.2f} s wall, {cpu:.2f} s CPU", flush=True)
    med = {key: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for key, v in times.items()}
    print("| members K | " + " | ".join(f"{w} s (wall) | {w} s (CPU)" for w in ways) + " | batched / sequential |")
    print("|---|" + "---|---|" * len(ways) + "---|")
    for k in size["members"]:
        cells = " | ".join(f"{med[(k, w)][0]:.2f} | {med[(k, w)][1]:.2f}" for w in ways)
        print(f"| {k} | {cells} | {med[(k, 'batched')][0] / med[(k, 'sequential')][0]:.2f} |")
    for w in [w for w in ways if w != "sequential"]:
        print(f"5 {w} / 2 sequential: {med[(5, w)][0] / med[(2, 'sequential')][0]:.2f} (wall), "
              f"{med[(5, w)][1] / med[(2, 'sequential')][1]:.2f} (CPU)")
    ratio = med[(5, "batched")][0] / med[(2, "sequential")][0]
    diff = max(float(np.abs(x - y).max()) for ma, mb in zip(last[(5, "sequential")], last[(5, "batched")])
               for x, y in zip(ma.params, mb.params))
    print(f"largest weight difference, 5 members batched against sequential (float32): {diff:.2e}")
    print(f"# load average at the end {os.getloadavg()[0]:.2f}")
    return {"medians": {f"{k} {w}": v for (k, w), v in med.items()},
            "ratio_5_batched_2_sequential": ratio, "max_weight_difference": diff}


if __name__ == "__main__":
    main()
