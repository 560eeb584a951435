"""Ensembles at the price of one (issue 21 item 6): a Forecaster's K members trained one after another against
the same K members trained as one batched network (``forecast/members.py``), on an M4 Hourly sized problem.

    OPENBLAS_NUM_THREADS=1 GATEDRNN_DATA=../shared/data nice -n 10 python benchmarks/ensemble_speed.py
    python benchmarks/ensemble_speed.py --size small          # seconds: 20 series, 30 steps, one repeat

The problem (``--size full``): M4 Hourly's 414 training series (``forecast/m4.py`` reads them from
``GATEDRNN_DATA``), ``Forecaster(horizon=48, season=24, window=96, hidden_size=48, max_steps=300, batch_size=64,
n_models=K)``, one LSTM layer, float32: fixed settings, so no settings search runs. For K = 1, 2 and 5 it times
``train_members(f, panel, batched=False)`` (the members one after another, each through ``train_network``) and
``train_members(f, panel, batched=True)`` (one batched network); the runs are interleaved (every K and both ways
in each repeat, the order reversed every other repeat) and the medians of the repeats are printed, wall clock and
process CPU time, with the ratio batched 5 / sequential 2 (below 1: five members batched cost less than two one
after another). The last line gives the largest difference between the batched and the sequential members'
weights (the same training in float32: round-off only). Without the M4 files, or with ``--synthetic``, a
generated panel of the same shape (414 sine-plus-noise series of 700 to 960 values) stands in.
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
from gatedrnn.forecast.members import train_members

SIZES = {"full": {"series": None, "steps": 300, "repeats": 3, "members": (1, 2, 5)},
         "small": {"series": 20, "steps": 30, "repeats": 1, "members": (1, 2, 5)}}
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


def time_once(f, panel, batched: bool) -> tuple[float, float, list]:
    t0, c0 = time.perf_counter(), time.process_time()
    models, _ = train_members(f, panel, batched=batched)
    return time.perf_counter() - t0, time.process_time() - c0, models


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", choices=sorted(SIZES), default="full")
    p.add_argument("--repeats", type=int, help="repeats of every K and way (default: 3 full, 1 small)")
    p.add_argument("--synthetic", action="store_true", help="a generated panel of M4 Hourly's shape")
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
    times: dict = {}
    last: dict = {}
    for r in range(repeats):
        runs = [(k, b) for k in size["members"] for b in (False, True)]
        for k, batched in (runs if r % 2 == 0 else runs[::-1]):
            f = Forecaster(**SETTINGS, max_steps=size["steps"], n_models=k, mask=False)
            wall, cpu, models = time_once(f, panel, batched)
            times.setdefault((k, batched), []).append((wall, cpu))
            last[(k, batched)] = models
            print(f"#   repeat {r + 1}: K={k} {'batched' if batched else 'sequential'} {wall:.2f} s wall, "
                  f"{cpu:.2f} s CPU", flush=True)
    med = {key: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for key, v in times.items()}
    print("| members K | sequential s (wall) | batched s (wall) | sequential s (CPU) | batched s (CPU) | batched / sequential |")
    print("|---|---|---|---|---|---|")
    for k in size["members"]:
        s, b = med[(k, False)], med[(k, True)]
        print(f"| {k} | {s[0]:.2f} | {b[0]:.2f} | {s[1]:.2f} | {b[1]:.2f} | {b[0] / s[0]:.2f} |")
    ratio = med[(5, True)][0] / med[(2, False)][0]
    ratio_cpu = med[(5, True)][1] / med[(2, False)][1]
    print(f"5 batched / 2 sequential: {ratio:.2f} (wall), {ratio_cpu:.2f} (CPU)")
    diff = max(float(np.abs(x - y).max()) for ma, mb in zip(last[(5, False)], last[(5, True)])
               for x, y in zip(ma.params, mb.params))
    print(f"largest weight difference, 5 members batched against sequential (float32): {diff:.2e}")
    print(f"# load average at the end {os.getloadavg()[0]:.2f}")
    return {"medians": {f"{k}-{'batched' if b else 'sequential'}": v for (k, b), v in med.items()},
            "ratio_5_batched_2_sequential": ratio, "max_weight_difference": diff}


if __name__ == "__main__":
    main()
