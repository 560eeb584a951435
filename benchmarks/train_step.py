"""Time one training step of gatedrnn against the same model in PyTorch, interleaved in one process.

    python benchmarks/train_step.py --vs torch                      # small, medium, small-gru, medium-gru, stream
    python benchmarks/train_step.py --vs torch --config medium --repeats 9
    python benchmarks/train_step.py --memory --config medium        # peak RSS of a step, each library in its own process
    python benchmarks/train_step.py --sweep                         # time and memory vs time_size and hidden size

A training step is what a TBPTT trainer does per window: forward (embedding, dropout, recurrent stack, dropout,
output layer), softmax cross-entropy, backward, global-norm clipping (0.25) and an SGD update (lr 20), with the
state carried from the previous window. Both libraries get the same shapes, float32, the same number of threads
(``torch.set_num_threads`` = the threads of NumPy's BLAS, read with threadpoolctl) and the same random data.
Timings alternate A B A B ... after a warm-up, and the median of the repeats is reported.

The "GEMM bound" of a configuration is the time its matrix products alone take on this machine: a third
runner, interleaved with the two libraries, performs every GEMM of the step at its own shape and layout (the
input and recurrent products of each layer and their three backward products, the output layer's three
products, the recurrent ones T times at batch-sized rows as the time loop runs them) on preallocated float32
operands with NumPy's BLAS. Its FLOPs divided by its time is the sgemm rate at those shapes; gatedrnn's step
time is reported as a multiple of it.

``--memory`` measures the peak resident memory of building the model and optimizer and running three steps,
above the process's memory before the model was built (libraries imported), each library in a fresh process.
``stream`` times inference one step at a time (batch 1, 1xLSTM 128, input 16) with
``gatedrnn.deploy.Stream`` against ``torch.nn.LSTM`` called on one step with its state and against
``torch.nn.LSTMCell``, in microseconds per step.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

CONFIGS = {
    # name: (cell, batch, time, vocab, embed, hidden, layers, dropout, tied)
    "small": ("lstm", 20, 35, 10_000, 100, 100, 1, 0.0, False),
    "medium": ("lstm", 20, 35, 10_000, 650, 650, 2, 0.5, True),
    "small-gru": ("gru", 20, 35, 10_000, 100, 100, 1, 0.0, False),
    "medium-gru": ("gru", 20, 35, 10_000, 650, 650, 2, 0.5, True),
}
STREAM = dict(batch=1, input_size=16, hidden=128)
LR, CLIP = 20.0, 0.25


def blas_info() -> dict:
    """Threads and kernel of NumPy's BLAS (threadpoolctl), or what can be told without it."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return {"threads": os.cpu_count(), "kernel": "unknown (pip install threadpoolctl)", "library": "?"}
    for d in threadpool_info():
        if d.get("user_api") == "blas":
            return {"threads": d["num_threads"], "kernel": d.get("architecture") or "?",
                    "library": f"{d['internal_api']} {d.get('version')}"}
    return {"threads": os.cpu_count(), "kernel": "?", "library": "?"}


# ----------------------------------------------------------------------------------------------------------
# the two implementations of one step
# ----------------------------------------------------------------------------------------------------------
def make_data(cfg, steps, seed=0):
    _, B, T, V = cfg[:4]
    rng = np.random.default_rng(seed)
    return [(rng.integers(0, V, size=(B, T)).astype(np.int64), rng.integers(0, V, size=(B, T)).astype(np.int64))
            for _ in range(steps)]


class OursStep:
    name = "gatedrnn"

    def __init__(self, cfg, seed=0):
        from gatedrnn.layers import SoftmaxCrossEntropy
        from gatedrnn.models.language_model import LanguageModel
        from gatedrnn.optim import SGD, clip_grad_norm

        cell, B, T, V, E, H, L, p, tied = cfg
        self.model = LanguageModel(V, E, H, L, cell=cell, dropout=p, tie_weights=tied, seed=seed)
        self.loss = SoftmaxCrossEntropy()
        self.opt = SGD(self.model.params, self.model.grads, lr=LR)
        self.clip = clip_grad_norm
        self.state = None

    def __call__(self, x, t):
        m = self.model
        m.zero_grad()
        logits, self.state = m.forward(x, self.state)
        loss = self.loss.forward(logits, t)
        m.backward(self.loss.backward())
        self.clip(m.grads, CLIP)
        self.opt.step()
        return loss


class TorchStep:
    name = "PyTorch"

    def __init__(self, cfg, seed=0):
        import torch

        cell, B, T, V, E, H, L, p, tied = cfg
        torch.manual_seed(seed)
        rnn_cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]

        class LM(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.embed = torch.nn.Embedding(V, E)
                self.drop = torch.nn.Dropout(p)
                self.rnn = rnn_cls(E, H, L, dropout=p if L > 1 else 0.0, batch_first=True)
                self.out = torch.nn.Linear(H, V)
                if tied:
                    self.out.weight = self.embed.weight

            def forward(self, x, state):
                y, state = self.rnn(self.drop(self.embed(x)), state)
                return self.out(self.drop(y)), state

        self.torch = torch
        self.model = LM().train()
        self.loss = torch.nn.CrossEntropyLoss()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LR)
        self.state = None
        self.V = V

    def __call__(self, x, t):
        torch = self.torch
        x, t = torch.from_numpy(x), torch.from_numpy(t)
        self.opt.zero_grad(set_to_none=False)
        if self.state is not None:
            self.state = tuple(s.detach() for s in self.state) if isinstance(self.state, tuple) else self.state.detach()
        logits, self.state = self.model(x, self.state)
        loss = self.loss(logits.reshape(-1, self.V), t.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), CLIP)
        self.opt.step()
        return float(loss.detach())


# ----------------------------------------------------------------------------------------------------------
# peak memory: each library in a fresh process, so that neither sees the other's allocations
# ----------------------------------------------------------------------------------------------------------
def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def memory_child(lib, cfg, steps):
    """Runs in the child: peak RSS of building the model and optimizer and running ``steps`` steps."""
    runner_cls = OursStep if lib == "gatedrnn" else TorchStep
    threads = int(os.environ.get("BENCH_THREADS", "1"))
    if lib == "torch":
        import torch
        torch.set_num_threads(threads)
    else:
        try:
            from threadpoolctl import threadpool_limits
            threadpool_limits(threads)
        except ImportError:
            pass
    import gatedrnn.models.language_model  # noqa: F401  (imports counted in the baseline, like torch's)
    data = make_data(cfg, steps)
    base = _status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:  # reset the high-water mark VmHWM to the current RSS
        f.write("5")
    r = runner_cls(cfg)
    for x, t in data:
        r(x, t)
    peak = _status_kib("VmHWM")
    print(json.dumps({"lib": lib, "base_mib": base / 1024, "peak_mib": peak / 1024, "step_mib": (peak - base) / 1024}))


def measure_memory(lib, cfg, threads, steps=3):
    cmd = [sys.executable, os.path.abspath(__file__), "--memory-child", lib, "--cfg-json", json.dumps(cfg),
           "--steps", str(steps)]
    env = dict(os.environ, BENCH_THREADS=str(threads))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


# ----------------------------------------------------------------------------------------------------------
# GEMM bound: the matrix products of the step alone, at their shapes and layouts, as a third timed runner
# ----------------------------------------------------------------------------------------------------------
def step_gemms(cfg):
    """The matrix products of one training step: (m, k, n, count, trans_a, trans_b, what)."""
    cell, B, T, V, E, H, L, p, tied = cfg
    G = {"lstm": 4, "gru": 3, "rnn": 1}[cell] * H
    N = B * T
    out = []
    for k in range(L):
        D = E if k == 0 else H
        out += [(N, D, G, 1, False, False, f"l{k} x W_ih"), (B, H, G, T, False, False, f"l{k} h W_hh (per step)"),
                (D, N, G, 1, True, False, f"l{k} dW_ih"), (H, N, G, 1, True, False, f"l{k} dW_hh"),
                (N, G, D, 1, False, True, f"l{k} dx"), (H, G, B, T, False, True, f"l{k} dh^T = W_hh dG^T (per step)")]
    out += [(N, H, V, 1, False, True, "out x W^T"), (V, N, H, 1, True, False, "out dW"), (N, V, H, 1, False, False, "out dx")]
    return out


class GemmStep:
    """Runs every GEMM of one step (per-step products ``count`` times) on preallocated float32 operands."""

    name = "GEMMs"

    def __init__(self, cfg):
        rng = np.random.default_rng(0)
        self.ops = []
        self.gflop = 0.0
        for m, k, n, count, ta, tb, _ in step_gemms(cfg):
            a = rng.standard_normal((k, m) if ta else (m, k), dtype=np.float32)
            b = rng.standard_normal((n, k) if tb else (k, n), dtype=np.float32)
            self.ops.append((a.T if ta else a, b.T if tb else b, np.empty((m, n), dtype=np.float32), count))
            self.gflop += count * 2.0 * m * k * n / 1e9

    def __call__(self, x=None, t=None):
        for a, b, c, count in self.ops:
            for _ in range(count):
                np.matmul(a, b, out=c)


# ----------------------------------------------------------------------------------------------------------
# stream: one time step at a time, batch 1 (inference on a sensor stream)
# ----------------------------------------------------------------------------------------------------------
class OursStream:
    name = "gatedrnn"

    def __init__(self, D, H, seed=0):
        from gatedrnn.layers import LSTM
        self.lstm = LSTM(D, H, 1, seed=seed)
        try:
            from gatedrnn.models.stream import Stream
        except ImportError:
            Stream = None
        self.stream = Stream(self.lstm) if Stream is not None else None
        self.kind = "gatedrnn.deploy.Stream" if self.stream is not None else "LSTM.forward with state"
        self.state = None

    def __call__(self, xs):
        if self.stream is not None:
            step = self.stream.step
            for x in xs:
                step(x)
        else:
            lstm, state = self.lstm, self.state
            for x in xs:
                _, state = lstm.forward(x[None, None, :] if x.ndim == 1 else x[:, None, :], state)
            self.state = state


class TorchStream:
    name = "PyTorch"

    def __init__(self, D, H, seed=0):
        import torch
        torch.manual_seed(seed)
        self.torch = torch
        self.lstm = torch.nn.LSTM(D, H, 1, batch_first=True).eval()
        self.state = None

    def __call__(self, xs):
        torch, lstm, state = self.torch, self.lstm, self.state
        with torch.inference_mode():
            for x in xs:
                _, state = lstm(torch.from_numpy(x).view(1, 1, -1), state)
        self.state = state


class TorchCellStream:
    """The same weights stepped through ``torch.nn.LSTMCell`` (PyTorch's per-step API, less call overhead)."""

    name = "PyTorch LSTMCell"

    def __init__(self, lstm):
        import torch
        self.torch = torch
        self.cell = torch.nn.LSTMCell(lstm.input_size, lstm.hidden_size).eval()
        with torch.no_grad():
            for a in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(self.cell, a).copy_(getattr(lstm, a + "_l0"))
        self.state = None

    def __call__(self, xs):
        torch, cell, state = self.torch, self.cell, self.state
        with torch.inference_mode():
            for x in xs:
                state = cell(torch.from_numpy(x).view(1, -1), state)
        self.state = state


def run_stream(args, threads):
    B, D, H = STREAM["batch"], STREAM["input_size"], STREAM["hidden"]
    steps = args.stream_steps
    xs = list(np.random.default_rng(0).standard_normal((steps, D), dtype=np.float32))
    runners = [OursStream(D, H)]
    if args.vs == "torch":
        runners.append(TorchStream(D, H))
        runners.append(TorchCellStream(runners[1].lstm))
    times = {r.name: [] for r in runners}
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    for rep in range(args.warmup + args.repeats):
        for r in (runners if rep % 2 == 0 else runners[::-1]):
            if args.settle:
                time.sleep(args.settle)
            t0 = clock()
            r(xs)
            if rep >= args.warmup:
                times[r.name].append((clock() - t0) / steps)
    row = {"config": "stream", "cell": "lstm", "B": B, "D": D, "H": H, "threads": threads, "impl": runners[0].kind}
    for r in runners:
        row[f"{r.name}_us"] = 1e6 * statistics.median(times[r.name])
    if args.vs == "torch":
        row["torch_best_us"] = min(row["PyTorch_us"], row["PyTorch LSTMCell_us"])
        row["ratio"] = row["gatedrnn_us"] / row["torch_best_us"]
    return row


# ----------------------------------------------------------------------------------------------------------
# timing
# ----------------------------------------------------------------------------------------------------------
def interleaved(runners, data, warmup, repeats, clock=time.perf_counter, settle=0.0):
    """Alternate the runners step by step (A B C, C B A, ...); -> {name: [seconds per step]}, warm-up dropped.

    ``settle`` seconds of sleep before each step let the previous runner's thread pools go idle: OpenBLAS's
    and OpenMP's worker threads spin for a while after their last call and would take the cores from the
    next runner (measured: PyTorch's small step 153 ms right after gatedrnn's, 58 ms after a 0.3 s pause).
    """
    times = {r.name: [] for r in runners}
    for rep in range(warmup + repeats):
        x, t = data[rep % len(data)]
        for r in (runners if rep % 2 == 0 else runners[::-1]):
            if settle:
                time.sleep(settle)
            t0 = clock()
            r(x, t)
            dt = clock() - t0
            if rep >= warmup:
                times[r.name].append(dt)
    return times


def configure(name, args):
    cfg = list(CONFIGS[name])
    if args.time_size:
        cfg[2] = args.time_size
    if args.hidden:
        if cfg[8] or cfg[4] == cfg[5]:
            cfg[4] = args.hidden
        cfg[5] = args.hidden
    return tuple(cfg)


def run_config(name, cfg, args, threads):
    runners = [OursStep(cfg)]
    if args.vs == "torch":
        runners.append(TorchStep(cfg))
    gemms = GemmStep(cfg)
    runners.append(gemms)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    times = interleaved(runners, make_data(cfg, 8), args.warmup, args.repeats, clock, args.settle)
    med = {r.name: 1e3 * statistics.median(times[r.name]) for r in runners}
    row = {"config": name, "clock": args.clock, "cell": cfg[0], "B": cfg[1], "T": cfg[2], "V": cfg[3], "E": cfg[4], "H": cfg[5],
           "layers": cfg[6], "dropout": cfg[7], "tied": cfg[8], "threads": threads, "repeats": args.repeats,
           "gflop": gemms.gflop, "gemm_bound_ms": med["GEMMs"], "gatedrnn_ms": med["gatedrnn"]}
    row["gemm_gflops"] = gemms.gflop / med["GEMMs"] * 1e3
    row["x_bound"] = med["gatedrnn"] / med["GEMMs"]
    if args.vs == "torch":
        row["PyTorch_ms"] = med["PyTorch"]
        row["ratio"] = med["gatedrnn"] / med["PyTorch"]
        row["ratio_paired"] = statistics.median(a / b for a, b in zip(times["gatedrnn"], times["PyTorch"]))
    row["min_ms"] = {k: round(1e3 * min(vs), 1) for k, vs in times.items()}
    row["samples_ms"] = {k: [round(1e3 * v, 1) for v in vs] for k, vs in times.items()}
    if args.memory:
        for lib in ["gatedrnn"] + (["torch"] if args.vs == "torch" else []):
            mem = measure_memory(lib, list(cfg), threads)
            row[f"{lib}_step_mib"] = mem["step_mib"]
            row[f"{lib}_peak_mib"] = mem["peak_mib"]
    return row


def print_row(row):
    if row["config"] == "stream":
        print(f"stream      (batch {row['B']}, 1xLSTM {row['H']}, input {row['D']}; gatedrnn runs {row['impl']})")
        line = f"  gatedrnn {row['gatedrnn_us']:7.1f} us/step"
        if "ratio" in row:
            line += (f"   PyTorch nn.LSTM {row['PyTorch_us']:7.1f} us/step, nn.LSTMCell {row['PyTorch LSTMCell_us']:7.1f} us/step"
                     f"   ratio to the faster {row['ratio']:.3f}")
        print(line, flush=True)
        return
    print(f"{row['config']:11s} ({row['layers']}x{row['cell'].upper()} {row['H']}, embed {row['E']}, B={row['B']}, T={row['T']}, "
          f"V={row['V']}, dropout {row['dropout']}, {'tied' if row['tied'] else 'untied'})")
    mins = row["min_ms"]
    line = f"  gatedrnn {row['gatedrnn_ms']:8.1f} ms/step (min {mins['gatedrnn']:.1f})"
    if "ratio" in row:
        line += (f"   PyTorch {row['PyTorch_ms']:8.1f} ms/step (min {mins['PyTorch']:.1f})"
                 f"   ratio {row['ratio']:.3f} (median of paired ratios {row['ratio_paired']:.3f})")
    print(line)
    print(f"  GEMM bound {row['gemm_bound_ms']:.1f} ms/step (min {mins['GEMMs']:.1f}; {row['gflop']:.1f} GFLOP at "
          f"{row['gemm_gflops']:.0f} GFLOP/s): gatedrnn at {row['x_bound']:.2f}x the bound")
    if "gatedrnn_step_mib" in row:
        line = f"  peak memory of the steps: gatedrnn {row['gatedrnn_step_mib']:.0f} MiB"
        if "torch_step_mib" in row:
            line += f", PyTorch {row['torch_step_mib']:.0f} MiB"
        line += " (peak RSS above the process before the model was built, each library in a fresh process)"
        print(line)
    sys.stdout.flush()


def print_header(info, threads, clock_name, settle):
    la = os.getloadavg()
    print(f"# {platform.machine()}, {os.cpu_count()} cores; load average {la[0]:.2f} {la[1]:.2f} {la[2]:.2f} "
          f"at start (above ~0.5 other processes are competing and timings are noisy)")
    print(f"# NumPy {np.__version__}, BLAS {info['library']} kernel {info['kernel']}, {info['threads']} threads; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')} "
          f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE', '(unset)')}")
    try:
        import torch
        print(f"# PyTorch {torch.__version__}, torch.set_num_threads({threads}), interop {torch.get_num_interop_threads()}")
    except ImportError:
        print("# PyTorch not installed: gatedrnn timed alone")
    print("# one step = forward + softmax cross-entropy + backward + clip_grad_norm(0.25) + SGD(lr 20), float32, "
          "state carried; times are medians of interleaved steps; ratio = gatedrnn / PyTorch (< 1: gatedrnn faster)")
    print(f"# clock: {clock_name}; {settle:g} s pause before each timed step (thread pools idle)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--vs", choices=["torch", "none"], default="torch", help="time PyTorch alongside (default)")
    ap.add_argument("--config", default="small,medium,small-gru,medium-gru,stream",
                    help="comma-separated from " + ", ".join(list(CONFIGS) + ["stream"]) + " (default: all)")
    ap.add_argument("--repeats", type=int, default=7, help="timed steps per library (median reported; default 7)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps per library first (default 2)")
    ap.add_argument("--time-size", type=int, help="override the time length T of the configs")
    ap.add_argument("--hidden", type=int, help="override the hidden (and embedding) size of the configs")
    ap.add_argument("--memory", action="store_true", help="also measure the peak RSS of a step, each library in a fresh process")
    ap.add_argument("--sweep", action="store_true",
                    help="medium LSTM at time_size 10, 35, 70, 140 and hidden 128, 256, 650, 1024, with memory")
    ap.add_argument("--stream-steps", type=int, default=2000, help="time steps per stream repeat (default 2000)")
    ap.add_argument("--threads", type=int, help="limit NumPy's BLAS (threadpoolctl) and PyTorch to this many threads "
                    "(default: the BLAS's own count, which is the number of cores)")
    ap.add_argument("--settle", type=float, default=0.3,
                    help="seconds to sleep before each timed step, so that the other runner's spinning BLAS/OpenMP "
                         "threads are idle (default 0.3; not counted)")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="'cpu': time each step by the process's CPU time instead of the wall clock; with --threads 1 "
                         "this is robust to other processes sharing the machine (with more threads it counts spinning)")
    ap.add_argument("--json", help="also write the rows to this JSON file")
    ap.add_argument("--memory-child", help=argparse.SUPPRESS)
    ap.add_argument("--cfg-json", help=argparse.SUPPRESS)
    ap.add_argument("--steps", type=int, default=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.memory_child:
        memory_child(args.memory_child, tuple(json.loads(args.cfg_json)), args.steps)
        return
    if args.repeats < 1 or args.warmup < 0:
        ap.error("--repeats must be >= 1 and --warmup >= 0")
    if args.clock == "cpu" and args.threads != 1:
        ap.error("--clock cpu needs --threads 1 (with more threads the CPU time counts the BLAS threads' spinning)")

    if args.threads:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            ap.error("--threads needs threadpoolctl (pip install threadpoolctl), or set OPENBLAS_NUM_THREADS instead")
        threadpool_limits(args.threads)
    info = blas_info()
    threads = info["threads"] if isinstance(info["threads"], int) else (os.cpu_count() or 1)
    if args.vs == "torch":
        try:
            import torch
            torch.set_num_threads(threads)
        except ImportError:
            args.vs = "none"
    print_header(info, threads, "process CPU time (one thread each)" if args.clock == "cpu" else "wall clock", args.settle)
    rows = []
    if args.sweep:
        args.memory = True
        points = [("medium", t, None) for t in (10, 35, 70, 140)] + [("medium", None, h) for h in (128, 256, 1024)]
        for name, t, h in points:
            args.time_size, args.hidden = t, h
            row = run_config(name, configure(name, args), args, threads)
            rows.append(row)
            print_row(row)
    else:
        for name in args.config.split(","):
            if name == "stream":
                row = run_stream(args, threads)
            elif name in CONFIGS:
                row = run_config(name, configure(name, args), args, threads)
            else:
                ap.error(f"--config: expected names from {', '.join(list(CONFIGS) + ['stream'])}, got {name!r}")
            rows.append(row)
            print_row(row)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
