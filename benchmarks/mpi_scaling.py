"""Data-parallel training over MPI on this machine, and on paper for N machines (docs/scaling.md).

    nice python benchmarks/mpi_scaling.py [--preset medium] [--steps 6] [--warmup 2]

Times training steps of the preset's language model (float32, the global batch of the preset, TBPTT state carried,
dropout on) through the project's ``Trainer.train_step`` in three set-ups, each a fresh process:

* ``1 rank, 1 thread``   one process, one BLAS thread (OPENBLAS_NUM_THREADS=1);
* ``1 rank, 2 threads``  one process, two BLAS threads and ``GATEDRNN_NUM_THREADS=2``;
* ``2 ranks x 1 thread`` ``mpiexec -n 2``, one BLAS thread each: each rank trains on half the streams and the
  gradients are summed with one ``Allreduce`` per step (its time and bytes are measured inside the step).

Then the ring all-reduce model for N machines: each step sends and receives ``2 (N - 1) / N`` times the gradient's
bytes per machine, so on a link of ``L`` bit/s the all-reduce takes ``2 (N - 1) / N * S * 8 / L`` plus latency.
The data comes from PTB when ``GATEDRNN_DATA`` (or the cache) holds it, else random ids of the preset's vocabulary
(the step time does not depend on which ids). Prints the machine, the load average and a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time

import numpy

VOCAB = 10_000


def _model(preset: str):
    from gatedrnn.layers import SoftmaxCrossEntropy
    from gatedrnn.lm.presets import preset_config
    from gatedrnn.models import LanguageModel
    from gatedrnn.optim import SGD

    c = preset_config(preset)
    model = LanguageModel(VOCAB, c.embed_size, c.hidden_size, c.num_layers, cell=c.cell, dropout=c.dropout,
                          tie_weights=c.tie_weights, seed=0)
    return c, model, SoftmaxCrossEntropy(), SGD(model.params, model.grads, lr=c.lr)


def worker(preset: str, steps: int, warmup: int) -> None:
    """One set-up: time ``warmup + steps`` training steps; rank 0 prints one JSON line."""
    from gatedrnn.data.batching import TBPTTBatches
    from gatedrnn.train.trainer import Trainer

    c, model, loss, opt = _model(preset)
    ids = numpy.random.default_rng(0).integers(0, VOCAB, size=c.batch_size * c.time_size * (steps + warmup) + 1)
    data = TBPTTBatches(ids, c.batch_size, c.time_size, drop_last=True)
    trainer = Trainer(model, loss, opt, train_data=data, clip=c.clip, plot=False)
    comm, spent, spent_cpu = trainer.comm, [], []
    if comm.size > 1:  # time the all-reduce inside the step
        inner = comm._collective

        def timed(what, fn, *args):
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return inner(what, fn, *args)
            finally:
                if what == "summing the gradients":
                    spent.append(time.perf_counter() - t0)
                    spent_cpu.append(time.process_time() - c0)
        comm._collective = timed
    times, cpu = [], []
    for k, (x, t) in enumerate(data):
        t0, c0 = time.perf_counter(), time.process_time()
        trainer.train_step(x, t)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0 - (spent_cpu[-1] if spent_cpu else 0.0))
    alone = _allreduce_alone(comm) if comm.size > 1 else None
    if comm.is_root:
        step = float(numpy.median(times[warmup:]))
        rec = {"ranks": comm.size, "step_s": step, "tokens_per_s": c.batch_size * c.time_size / step,
               "params": model.num_params(), "grad_bytes": sum(int(g.nbytes) for g in model.grads),
               "compute_cpu_s": float(numpy.median(cpu[warmup:]))}
        if spent:
            rec.update(allreduce_s=float(numpy.median(spent[warmup:])), allreduce_bytes=int(comm._buf.nbytes),
                       allreduce_alone_s=alone)
        print(json.dumps(rec), flush=True)


def _allreduce_alone(comm, repeats: int = 7) -> float:
    """The all-reduce of the step's buffer by itself, after a barrier (the step's also waits for the slower rank)."""
    times = []
    for _ in range(repeats):
        comm.comm.Barrier()
        t0 = time.perf_counter()
        comm.comm.Allreduce(comm.MPI.IN_PLACE, comm._buf, comm.MPI.SUM)
        times.append(time.perf_counter() - t0)
    return float(numpy.median(times))


def _run(cmd: list, threads: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMI_", "PMIX_", "PRTE_"))}
    env.update(OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               GATEDRNN_NUM_THREADS=str(threads), OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        sys.exit(f"benchmark run failed: {' '.join(cmd)}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def ring_table(compute_s: float, per_rank_batch: int, grad_bytes: int, tokens: int) -> list[str]:
    """Step time and tokens/s for N machines (each with ``per_rank_batch`` streams, as measured) on three links."""
    rows = ["| machines N | link | all-reduce per step | step | tokens/s | speed-up over 1 machine |", "|---|---|---|---|---|---|"]
    for n in (2, 4, 8, 16, 32, 64):
        for gbit in (10, 25, 100):
            ar = 2 * (n - 1) / n * grad_bytes * 8 / (gbit * 1e9) + 2 * (n - 1) * 20e-6   # + 20 us latency per hop
            step = compute_s + ar
            rows.append(f"| {n} | {gbit} Gb/s | {ar * 1e3:.0f} ms | {step:.2f} s | {n * tokens / step:,.0f} | "
                        f"{n * compute_s / step:.1f}x |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="medium")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        return worker(a.preset, a.steps, a.warmup)
    me = [sys.executable, os.path.abspath(__file__), "--worker", "--preset", a.preset, "--steps", str(a.steps),
          "--warmup", str(a.warmup)]
    mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average at start "
          f"{os.getloadavg()[0]:.2f}; preset {a.preset}, {a.steps} timed steps after {a.warmup} warm-up (median)")
    runs = {"1 rank, 1 thread": _run(me, 1), "1 rank, 2 threads": _run(me, 2)}
    if mpiexec:
        runs["2 ranks x 1 thread"] = _run([mpiexec, "--oversubscribe", "-n", "2", *me], 1)
    print("\n| set-up | step | tokens/s | CPU time of the step's compute (rank 0) | all-reduce in the step (incl. "
          "waiting) | all-reduce alone | bytes per all-reduce |\n|---|---|---|---|---|---|---|")
    for name, r in runs.items():
        ar = f"{r['allreduce_s'] * 1e3:.1f} ms" if "allreduce_s" in r else "-"
        alone = f"{r['allreduce_alone_s'] * 1e3:.1f} ms" if r.get("allreduce_alone_s") else "-"
        nbytes = f"{r['allreduce_bytes'] / 1e6:.1f} MB" if "allreduce_bytes" in r else "-"
        print(f"| {name} | {r['step_s']:.3f} s | {r['tokens_per_s']:,.0f} | {r['compute_cpu_s']:.3f} s | {ar} | "
              f"{alone} | {nbytes} |")
    one = runs["1 rank, 1 thread"]
    from gatedrnn.lm.presets import preset_config

    c = preset_config(a.preset)
    print(f"\nN machines, one rank each with the measured 1-thread step ({one['step_s']:.2f} s for {c.batch_size} "
          f"streams), gradient {one['grad_bytes'] / 1e6:.1f} MB, ring all-reduce (global batch {c.batch_size} x N):\n")
    print("\n".join(ring_table(one["step_s"], c.batch_size, one["grad_bytes"], c.batch_size * c.time_size)))
    per_stream = one["step_s"] / c.batch_size
    print(f"\nStreams per machine at which the ring all-reduce (N = 64) costs as much as the compute (50% efficiency) "
          f"and a ninth of it (90%), at {per_stream * 1e3:.1f} ms of compute per stream and step:\n")
    print("| link | all-reduce | 50% | 90% |\n|---|---|---|---|")
    for gbit in (10, 25, 100):
        ar = 2 * 63 / 64 * one["grad_bytes"] * 8 / (gbit * 1e9) + 2 * 63 * 20e-6
        print(f"| {gbit} Gb/s | {ar * 1e3:.0f} ms | {ar / per_stream:.1f} | {9 * ar / per_stream:.1f} |")
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
