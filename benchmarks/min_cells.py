"""minGRU / minLSTM against gatedrnn's GRU / LSTM (and torch.nn.GRU / nn.LSTM when installed): one training step
of the recurrent stack alone (forward + backward with a fixed output gradient), float32, one BLAS thread.

    nice python benchmarks/min_cells.py                      # T = 35 128 512 2048, B = 16, H = 256
    nice python benchmarks/min_cells.py --time-sizes 512 --repeats 9 --scans   # also the min cells' other scans

The runners alternate within each repeat (their order rotates from repeat to repeat) after one warm-up step each;
the table has the median in ms (process CPU time by default, ``--clock wall`` for wall clock), the speed relative
to gatedrnn's GRU, and the peak memory of one step (tracemalloc, NumPy runners only: NumPy reports its
allocations to it, PyTorch does not). The streaming table times one ``Stream.step`` at batch 1 for each gatedrnn
cell (``--no-stream`` skips it). Results and the machine are in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import tracemalloc

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # before NumPy is imported: one BLAS thread
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import gatedrnn as g  # noqa: E402
from gatedrnn.models.stream import Stream  # noqa: E402

CELLS = {"GRU": g.GRU, "LSTM": g.LSTM, "MinGRU": g.MinGRU, "MinLSTM": g.MinLSTM}


def _numpy_runner(cls, B, T, H, seed=0, **kw):
    rng = np.random.default_rng(seed)
    stack = cls(H, H, 1, seed=seed, **kw)
    x = rng.standard_normal((B, T, H)).astype(np.float32)
    dy = rng.standard_normal((B, T, H)).astype(np.float32)

    def step():
        stack.zero_grad()
        stack.forward(x)
        stack.backward(dy)
    return step


def _torch_runner(name, B, T, H, seed=0):
    import torch

    torch.manual_seed(seed)
    mod = getattr(torch.nn, name)(H, H, 1, batch_first=True)
    rng = np.random.default_rng(seed)
    x = torch.tensor(rng.standard_normal((B, T, H)), dtype=torch.float32)
    dy = torch.tensor(rng.standard_normal((B, T, H)), dtype=torch.float32)

    def step():
        mod.zero_grad()
        y, _ = mod(x)
        y.backward(dy)
    return step


def _peak_mib(step) -> float:
    tracemalloc.start()
    tracemalloc.reset_peak()
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def run_table(T, B, H, repeats, scans, use_torch, clock=time.process_time):
    runners = {name: _numpy_runner(cls, B, T, H) for name, cls in CELLS.items()}
    if scans:
        for scan in ("chunked", "log"):
            for name in ("MinGRU", "MinLSTM"):
                runners[f"{name} ({scan})"] = _numpy_runner(CELLS[name], B, T, H, scan=scan)
    if use_torch:
        for name in ("GRU", "LSTM"):
            runners[f"torch nn.{name}"] = _torch_runner(name, B, T, H)
    names = list(runners)
    for name in names:                                   # warm-up
        runners[name]()
    times = {name: [] for name in names}
    for r in range(repeats):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in (order if r % 2 == 0 else order[::-1]):
            t0 = clock()
            runners[name]()
            times[name].append(clock() - t0)
    mem = {name: (_peak_mib(runners[name]) if not name.startswith("torch") else None) for name in names}
    med = {name: statistics.median(v) * 1e3 for name, v in times.items()}
    ref = med["GRU"]
    rows = []
    for name in names:
        m = mem[name]
        rows.append(f"| {T} | {name} | {med[name]:.1f} | {ref / med[name]:.2f}x | "
                    f"{'-' if m is None else f'{m:.1f}'} |")
    return rows


def stream_latency(H, clock, steps=1000, rounds=7):
    """Median over ``rounds`` (cells interleaved) of the mean time of one ``Stream.step`` over ``steps`` steps."""
    xs = np.random.default_rng(0).standard_normal((steps, 16)).astype(np.float32)
    streams = {name: Stream(cls(16, H, 1, seed=0)) for name, cls in CELLS.items()}
    times = {name: [] for name in streams}
    for r in range(rounds + 1):
        for name in (list(streams) if r % 2 else list(streams)[::-1]):
            s = streams[name]
            t0 = clock()
            for x in xs:
                s.step(x)
            if r:                                        # round 0 is the warm-up
                times[name].append((clock() - t0) / steps)
    return [f"| {name} | {H} | {statistics.median(t) * 1e6:.1f} |" for name, t in times.items()]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--time-sizes", type=int, nargs="+", default=[35, 128, 512, 2048])
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--hidden-size", type=int, default=256)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--scans", action="store_true", help="also time the min cells' chunked and log-space scans")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--no-stream", action="store_true")
    p.add_argument("--no-train", action="store_true", help="only the streaming table")
    p.add_argument("--clock", choices=["cpu", "wall"], default="cpu",
                   help="process CPU time (default: robust to other jobs on a shared machine) or wall clock")
    a = p.parse_args(argv)
    use_torch = not a.no_torch
    if use_torch:
        try:
            import torch
            torch.set_num_threads(1)
        except ImportError:
            use_torch = False
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.2f}, OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, NumPy {np.__version__}"
          + (f", torch {torch.__version__} (1 thread)" if use_torch else ""))
    print(f"# training step (forward + backward) of one layer, B = {a.batch_size}, H = input = {a.hidden_size}, "
          f"float32; median of {a.repeats}, interleaved, {a.clock} clock")
    clock = time.process_time if a.clock == "cpu" else time.perf_counter
    print("| T | cell | ms per step | speed vs GRU | peak MiB |\n|---|---|---|---|---|")
    for T in [] if a.no_train else a.time_sizes:
        for row in run_table(T, a.batch_size, a.hidden_size, a.repeats, a.scans, use_torch, clock):
            print(row, flush=True)
    if not a.no_stream:
        print(f"\n# Stream.step at batch 1, input 16, float32, {a.clock} clock, median of 7 interleaved rounds of 1,000 steps"
              "\n| cell | hidden | us per step |\n|---|---|---|")
        for H in (128, a.hidden_size):
            for row in stream_latency(H, time.process_time if a.clock == "cpu" else time.perf_counter):
                print(row, flush=True)
    print(f"# load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
