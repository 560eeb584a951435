"""The C99 export of a whole Forecaster on M4 Hourly (deploy/c99_forecaster.py): sMAPE of the C forecasts with
float32 and int8 weights against gatedrnn's own, flash (text + data of the compiled object, ``size``), RAM (``sizeof``
the state), CPU µs per forecast (one thread, median of 7 runs of 200 forecasts inside C) and MACs per forecast.

    nice python benchmarks/forecaster_c.py --series 414 --n-models 3 --max-steps 1000     # GATEDRNN_DATA=.../data

The Forecaster's settings are given explicitly (no settings search): LSTM, horizon 48, season 24, and the flags.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from gatedrnn.deploy.c99_forecaster import export_forecaster_c
from gatedrnn.deploy.c99_forecaster_run import CForecaster
from gatedrnn.deploy.c99_run import CFLAGS, compile_c, find_cc
from gatedrnn.forecast import Forecaster
from gatedrnn.forecast.m4 import read_wide
from gatedrnn.forecast.metrics import smape


def macs(f) -> int:
    """Multiply-adds of one forecast: every member's layers over the window (the nonzero column blocks the C stores)
    and its head once."""
    total = 0
    for model in f.models:
        for layer in model.rnn.layers:
            W, D, H = np.asarray(layer.step_weights()), layer.input_size, layer.hidden_size
            for rows in (W[:D], W[D:D + H]):
                blocks = sum(bool(np.any(rows[:, k * H:(k + 1) * H])) for k in range(W.shape[1] // H))
                total += f.window * rows.shape[0] * blocks * H
        total += model.head.in_features * model.head.out_features
    return total


def flash(folder: Path, prefix: str) -> int:
    obj = compile_c([folder / f"{prefix}.c"], folder / f"{prefix}.o", flags=CFLAGS, shared=False)
    out = subprocess.run(["size", str(obj)], capture_output=True, text=True, check=True).stdout.splitlines()[1].split()
    return int(out[0]) + int(out[1])


def cpu_us(c: CForecaster, n: int = 200, timer=time.process_time, repeats: int = 7) -> float:
    """µs per ``_forecast`` of the compiled export after a ``run``: median of ``repeats`` runs of ``n`` inside C
    (``timer``: process CPU time by default; ``edge.py --clock wall`` passes ``time.perf_counter``)."""
    ys = np.empty(c.horizon * c.q)
    runs = []
    for _ in range(repeats):
        t0 = timer()
        c._time(c._state, n, ys.ctypes.data_as(__import__("ctypes").c_void_p))
        runs.append((timer() - t0) / n * 1e6)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--series", type=int, default=414)
    ap.add_argument("--n-models", type=int, default=3)
    ap.add_argument("--max-steps", type=int, default=1000)
    ap.add_argument("--hidden-size", type=int, default=32)
    ap.add_argument("--window", type=int, default=96)
    args = ap.parse_args()
    d = Path(os.environ.get("GATEDRNN_DATA", "data")) / "m4"
    train, test = read_wide(d / "Hourly-train.csv"), read_wide(d / "Hourly-test.csv")
    ids = list(train)[:args.series]
    ys = [train[i] for i in ids]
    t0 = time.time()
    f = Forecaster(cell="lstm", horizon=48, season=24, window=args.window, hidden_size=args.hidden_size,
                   max_steps=args.max_steps, batch_size=64, n_models=args.n_models, seed=0).fit(ys)
    py = f.predict()["y_hat"]
    base = float(np.mean([smape(test[i], py[k]) for k, i in enumerate(ids)]))
    print(f"{len(ids)} series, LSTM {args.hidden_size}, {args.n_models} member(s), window {args.window}: fit "
          f"{time.time() - t0:.0f} s; gatedrnn sMAPE {base:.4f}; {macs(f):,} MACs per forecast; cc {find_cc()}")
    mid = f.quantiles.index(0.5)
    for int8 in (False, True):
        out = Path(tempfile.mkdtemp())
        r = export_forecaster_c(f, out, prefix="m4h", int8=int8)
        c = CForecaster(out, "m4h", f)
        s = [smape(test[i], c.run(y[-f.window:], y.size - f.window)[0][-1, :, mid]) for i, y in zip(ids, ys)]
        print(f"C {'int8' if int8 else 'float32'}: sMAPE {np.mean(s):.4f} ({np.mean(s) / base:.4f} x gatedrnn's); "
              f"flash {flash(out, 'm4h'):,} B (weights {r['weight_bytes']:,}); RAM {c.state_bytes:,} B; "
              f"{cpu_us(c):.0f} µs per forecast")


if __name__ == "__main__":
    main()
