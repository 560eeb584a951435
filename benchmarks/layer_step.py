"""One recurrent layer against PyTorch at the sizes the products use (issue 26): LSTM, GRU and RNN against
torch.nn.LSTM / GRU / RNN, and the min cells (no torch counterpart), float32, one BLAS thread.

    python benchmarks/layer_step.py                       # the whole grid, median of 7, process CPU time
    python benchmarks/layer_step.py --quick               # the four small rows, median of 5
    python benchmarks/layer_step.py --cells LSTM --old /tmp/old/src   # also an older gatedrnn, same run
    python benchmarks/layer_step.py --both-paths          # the LSTM's compiled path and its NumPy path, same run
    python benchmarks/layer_step.py --cells GRU --rows H256 H650 --columns train   # some rows, cells, columns

Three columns per cell, each gatedrnn's time, PyTorch's and their ratio (below 1: gatedrnn is faster):

* **train**: one forward + backward of the layer (``zero_grad``, ``forward(x)``, ``backward(dy)`` with a fixed
  output gradient; PyTorch: ``zero_grad``, ``mod(x)``, ``y.backward(dy)``), ms;
* **forward**: the forward over the sequence alone (PyTorch under ``torch.no_grad``), ms;
* **step**: inference one step at a time at the row's batch, ``gatedrnn.deploy``'s ``Stream.step`` against
  ``torch.nn.LSTMCell`` / ``GRUCell`` / ``RNNCell`` under ``no_grad``, µs per step (mean over the row's T steps).

Every runner of a row (all cells, all columns, both libraries) alternates within each repeat, the order rotating
and reversing from repeat to repeat, after one warm-up; each timing repeats its call until it has run
``--min-ms`` (so that sub-millisecond steps are not timer noise) and the table has the median of ``--repeats``.
Process CPU time by default (robust to other jobs on a shared machine), ``--clock wall`` for wall clock.
``--old SRC`` adds the cells of another gatedrnn source tree (``git archive REV src | tar -x -C /tmp/old``)
as rows ``LSTM@old`` ..., interleaved with the rest: the before/after of a change in one run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # before NumPy is imported: one BLAS thread
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

# (name, batch, time, input, hidden, where it is used); the grid
GRID = [
    ("B64 T168 D2 H96", 64, 168, 2, 96, "M4 Hourly forecaster"),
    ("B32 T29 D12 H32", 32, 29, 12, 32, "JapaneseVowels classifier"),
    ("B64 T48 D1 H32", 64, 48, 1, 32, "a small forecaster"),
    ("B1 T512 D16 H64", 1, 512, 16, 64, "one long sensor sequence"),
    ("B16 T35 D256 H256", 16, 35, 256, 256, "min-cell benchmark"),
    ("B20 T35 D650 H650", 20, 35, 650, 650, "PTB medium layer"),
]
QUICK = ("B32 T29 D12 H32", "B64 T48 D1 H32", "B1 T512 D16 H64", "B16 T35 D256 H256")
TORCH_CELLS = ("LSTM", "GRU", "RNN")
ALL_CELLS = ("LSTM", "GRU", "RNN", "MinGRU", "MinLSTM")
COLUMNS = ("train", "forward", "step")


def load(src=None):
    """-> ({cell name: stack class}, Stream, version tag) from the gatedrnn under ``src`` (None: the installed one)."""
    if src is not None:
        for k in [k for k in sys.modules if k == "gatedrnn" or k.startswith("gatedrnn.")]:
            del sys.modules[k]
        sys.path.insert(0, os.path.abspath(src))
    try:
        import gatedrnn
        from gatedrnn.models.stream import Stream
    finally:
        if src is not None:
            sys.path.pop(0)
    cells = {name: getattr(gatedrnn, name) for name in ALL_CELLS if hasattr(gatedrnn, name)}
    try:
        from gatedrnn.layers import lstm_fast
    except ImportError:                                  # a tree from before the compiled path
        lstm_fast = None
    return cells, Stream, lstm_fast


def numpy_only(fn, fast):
    """``fn`` run with the compiled LSTM path switched off."""
    def run():
        fast.enabled = False
        try:
            fn()
        finally:
            fast.enabled = True
    return run


def _data(B, T, D, H, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B, T, D)).astype(np.float32)
    dy = rng.standard_normal((B, T, H)).astype(np.float32)
    return x, dy


def ours(cls, Stream, B, T, D, H):
    """-> {column: callable} for one gatedrnn cell; ``step`` runs T Stream steps."""
    stack = cls(D, H, 1, seed=0)
    x, dy = _data(B, T, D, H)
    xs = np.ascontiguousarray(x.transpose(1, 0, 2))
    stream = Stream(cls(D, H, 1, seed=0), batch=B)

    def train():
        stack.zero_grad()
        stack.forward(x)
        stack.backward(dy)

    def forward():
        stack.forward(x)

    def step():
        for t in range(T):
            stream.step(xs[t])
    return {"train": train, "forward": forward, "step": step}


def theirs(name, B, T, D, H):
    import torch

    torch.manual_seed(0)
    mod = getattr(torch.nn, name)(D, H, 1, batch_first=True)
    cell = getattr(torch.nn, name + "Cell")(D, H)
    x, dy = (torch.from_numpy(a) for a in _data(B, T, D, H))
    xs = x.transpose(0, 1).contiguous()
    state = ((torch.zeros(B, H), torch.zeros(B, H)) if name == "LSTM" else torch.zeros(B, H))

    def train():
        mod.zero_grad()
        y, _ = mod(x)
        y.backward(dy)

    def forward():
        with torch.no_grad():
            mod(x)

    def step():
        s = state
        with torch.no_grad():
            for t in range(T):
                s = cell(xs[t], s)
    return {"train": train, "forward": forward, "step": step}


def timed(fn, clock, min_s):
    """Seconds per call: ``fn`` repeated until ``min_s`` has passed."""
    n, t0 = 0, clock()
    while True:
        fn()
        n += 1
        dt = clock() - t0
        if dt >= min_s:
            return dt / n


def run_row(row, versions, cells, use_torch, repeats, clock, min_s, both, columns=COLUMNS):
    _, B, T, D, H, _ = row
    runners = {}
    for tag, (classes, Stream, fast) in versions.items():
        for name in cells:
            if name in classes:
                for col, fn in ours(classes[name], Stream, B, T, D, H).items():
                    runners[(name + tag, col)] = fn
            if name == "LSTM" and fast is not None and fast.usable(np.zeros(1, np.float32)) and both:
                for col, fn in ours(classes[name], Stream, B, T, D, H).items():
                    runners[(name + tag + " numpy", col)] = numpy_only(fn, fast)
    if use_torch:
        for name in cells:
            if name in TORCH_CELLS:
                for col, fn in theirs(name, B, T, D, H).items():
                    runners[("torch " + name, col)] = fn
    keys = [k for k in runners if k[1] in columns]
    for k in keys:
        runners[k]()
    times = {k: [] for k in keys}
    for r in range(repeats):
        order = keys[r % len(keys):] + keys[:r % len(keys)]
        for k in (order if r % 2 == 0 else order[::-1]):
            times[k].append(timed(runners[k], clock, min_s))
    return {k: statistics.median(v) for k, v in times.items()}


def table_rows(row, med, versions, cells, use_torch):
    name, B, T, D, H, where = row
    out = []
    for cell in cells:
        for label in [cell + tag + extra for tag in versions for extra in ("", " numpy")]:
            if not any((label, col) in med for col in COLUMNS):
                continue
            parts = [f"| {name} | {label} "]
            for col, scale, unit in (("train", 1e3, 1), ("forward", 1e3, 1), ("step", 1e6, T)):
                if (label, col) not in med:
                    parts.append("| - ")
                    continue
                a = med[(label, col)] * scale / unit
                b = med.get(("torch " + cell, col))
                if use_torch and b is not None:
                    b = b * scale / unit
                    parts.append(f"| {a:.3g} / {b:.3g} = **{a / b:.2f}** ")
                else:
                    parts.append(f"| {a:.3g} ")
            out.append("".join(parts) + "|")
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help=f"only the rows {', '.join(QUICK)}; median of 5")
    p.add_argument("--rows", nargs="+", help="row names (as printed) or substrings of them")
    p.add_argument("--cells", nargs="+", choices=ALL_CELLS, default=list(ALL_CELLS))
    p.add_argument("--repeats", type=int, default=None, help="timings per runner (default 7, 5 with --quick)")
    p.add_argument("--min-ms", type=float, default=20.0, help="each timing repeats its call for at least this long")
    p.add_argument("--old", help="the src folder of another gatedrnn, timed in the same run as CELL@old")
    p.add_argument("--columns", nargs="+", choices=COLUMNS, default=list(COLUMNS),
                   help="time only these columns (the others print '-')")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--both-paths", action="store_true",
                   help="turn the compiled LSTM path on (GATEDRNN_FAST=1) where it loads, and also time the NumPy "
                   "path (rows 'LSTM numpy')")
    p.add_argument("--clock", choices=["cpu", "wall"], default="cpu")
    a = p.parse_args(argv)
    repeats = a.repeats or (5 if a.quick else 7)
    rows = [r for r in GRID if not a.quick or r[0] in QUICK]
    if a.rows:
        rows = [r for r in rows if any(s in r[0] for s in a.rows)]
    use_torch = not a.no_torch
    if use_torch:
        try:
            import torch
            torch.set_num_threads(1)
        except ImportError:
            use_torch = False
    versions = {}
    if a.old:
        versions["@old"] = load(a.old)
    versions[""] = load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src") if a.old else None)
    fast = versions[""][2]
    if fast is not None and a.both_paths:
        fast.enabled = True                              # the compiled path (GATEDRNN_FAST=1) next to the NumPy one
    path = fast.describe() if fast is not None else "numpy"
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.2f}, OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}, NumPy {np.__version__}"
          + (f", torch {torch.__version__} (1 thread)" if use_torch else "") + f", gatedrnn LSTM path: {path}")
    print(f"# float32, one layer; median of {repeats} interleaved timings of >= {a.min_ms:g} ms each, {a.clock} clock; "
          "cells: ours / torch = ratio")
    print("| shape | cell | train (fwd+bwd) ms | forward ms | step µs |\n|---|---|---|---|---|")
    clock = time.process_time if a.clock == "cpu" else time.perf_counter
    for row in rows:
        med = run_row(row, versions, a.cells, use_torch, repeats, clock, a.min_ms / 1e3, a.both_paths, a.columns)
        for line in table_rows(row, med, versions, a.cells, use_torch):
            print(line, flush=True)
    print(f"# load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
