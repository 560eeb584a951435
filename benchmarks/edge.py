"""The edge table: each model exported to C99 (``gatedrnn.deploy.c99``), float32 and int8 weights, against the
other ways of running one step at batch 1, on one thread.

    nice python benchmarks/edge.py                               # the table (about a minute)
    nice python benchmarks/edge.py --forecast runs/sun-lstm      # also int8's RMSE change on a forecast run
    nice python benchmarks/edge.py --no-table --classify runs/jv # int8's accuracy change on a classify run

Columns: flash bytes (text + data of the compiled object, ``size``, at -O2: the weights plus the code), of which
weights; RAM bytes (``sizeof`` the state struct: the recurrent state and the step's scratch, the only memory a step
touches besides its stack of a few locals); microseconds per step, median of ``--repeats`` (process CPU time by
default, robust to other load; ``--clock wall``), for the C step (N steps in one C loop, called once through
ctypes, so that the call's overhead is not counted), ``gatedrnn.deploy.Stream``, onnxruntime (the ONNX export
with its state as inputs, one ``run`` per step: the same work a server would do) and PyTorch's ``LSTMCell`` /
``GRUCell`` / ``RNNCell`` with the same head (``torch.no_grad``, one thread). Results are in benchmarks/README.md.

``--forecast RUN`` (a ``gatedrnn forecast`` run folder) recomputes the run's held-out forecasts with float32 and
with int8 weights (``QuantizedStream``) and prints both RMSEs and the weight sizes; ``--classify RUN`` (a
``gatedrnn classify --out`` folder) the test accuracy of each of its cells' checkpoints, both ways.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # before NumPy is imported: one BLAS thread
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from gatedrnn.deploy.c99 import c_sources, const_bytes, export_c  # noqa: E402
from gatedrnn.deploy.c99_run import CFLAGS, CModel, build, compile_c, find_cc, random_inputs  # noqa: E402
from gatedrnn.models import LanguageModel, SequenceRegressor  # noqa: E402
from gatedrnn.models.quantize import QuantizedStream  # noqa: E402
from gatedrnn.models.stream import Stream  # noqa: E402


def models():
    """name -> model: what runs on a microcontroller-sized budget (random weights: the timing does not depend on
    them)."""
    out = {}
    for cell in ("lstm", "gru", "rnn"):
        out[f"forecaster {cell.upper()} 16"] = SequenceRegressor(2, 16, 1, cell=cell, seed=0)
        out[f"sensor {cell.upper()} 64, 6 in, 4 out"] = SequenceRegressor(6, 64, 4, cell=cell, seed=0)
    out["sensor LSTM 64 x 2, 6 in, 4 out"] = SequenceRegressor(6, 64, 4, num_layers=2, cell="lstm", seed=0)
    out["char LM LSTM 128, vocab 65, embed 32"] = LanguageModel(65, 32, 128, cell="lstm", seed=0)
    return out


def clock(kind):
    return time.process_time if kind == "cpu" else time.perf_counter


def _median_us(fn, n, repeats, timer):
    times = []
    for _ in range(repeats):
        t0 = timer()
        fn()
        times.append((timer() - t0) / n * 1e6)
    return statistics.median(times)


def time_c(cm, xs, repeats, timer):
    cm.run(xs[:100])
    return _median_us(lambda: cm.run(xs), len(xs), repeats, timer)


def time_stream(model, xs, repeats, timer, n=2000):
    s = Stream(model)
    xs = xs[:n] if s.embed is None else np.asarray(xs[:n]).reshape(-1, 1)

    def go():
        for x in xs:
            s.step(x)
    return _median_us(go, len(xs), repeats, timer)


def time_onnx(model, xs, repeats, timer, n=2000):
    try:
        import onnxruntime as ort

        from gatedrnn.deploy.onnx import build_onnx
    except ImportError:
        return None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(build_onnx(model, with_state=True).SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    rnn = model.rnn
    state = [np.zeros((rnn.num_layers, 1, rnn.hidden_size), np.float32) for _ in names[1:]]
    lm = isinstance(model, LanguageModel)
    steps = [np.array([[x]], dtype=np.int64) if lm else np.asarray(x, np.float32).reshape(1, 1, -1) for x in xs[:n]]

    def go():
        st = list(state)
        for x in steps:
            out = sess.run(None, dict(zip(names, [x] + st)))
            st = out[1:]
    return _median_us(go, len(steps), repeats, timer)


def time_torch(model, xs, repeats, timer, n=2000):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    kind = {"lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell, "rnn": torch.nn.RNNCell}[model.rnn.name]
    rnn, lm = model.rnn, isinstance(model, LanguageModel)
    cells = [kind(rnn.input_size if k == 0 else rnn.hidden_size, rnn.hidden_size) for k in range(rnn.num_layers)]
    head = torch.nn.Linear(rnn.hidden_size, model.vocab_size if lm else model.head.out_features)
    embed = torch.nn.Embedding(model.vocab_size, rnn.input_size) if lm else None
    steps = [torch.tensor([int(x)]) if lm else torch.tensor(np.asarray(x, np.float32)).reshape(1, -1) for x in xs[:n]]
    cellstate = kind is torch.nn.LSTMCell

    def go():
        with torch.no_grad():
            st = [None] * len(cells)
            for x in steps:
                h = embed(x) if lm else x
                for k, cell in enumerate(cells):
                    st[k] = cell(h, st[k])
                    h = st[k][0] if cellstate else st[k]
                head(h)
    return _median_us(go, len(steps), repeats, timer)


def flash(folder, prefix, cc):
    obj = compile_c([Path(folder) / f"{prefix}.c"], Path(folder) / f"{prefix}.o", cc=cc, shared=False)
    text, data = subprocess.run(["size", str(obj)], capture_output=True, text=True,
                                check=True).stdout.splitlines()[1].split()[:2]
    return int(text) + int(data)


def edge_table(args):
    cc = find_cc()
    if cc is None:
        raise SystemExit("edge.py: no C compiler found (cc, gcc, clang or $CC)")
    timer = clock(args.clock)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ms = models()
        prefixes, wbytes = {}, {}
        for i, (name, m) in enumerate(ms.items()):
            for int8 in (False, True):
                p = prefixes[name, int8] = f"m{i}{'q' if int8 else 'f'}"
                wbytes[p] = export_c(m, tmp, prefix=p, int8=int8)["weight_bytes"]
        lib = build(tmp, list(prefixes.values()), cc=cc)
        native = build(tmp, list(prefixes.values()), cc=cc, name="libnative.so", flags=CFLAGS + ("-march=native",))
        for name, m in ms.items():
            xs = random_inputs(m, args.steps)
            others = (time_stream(m, xs, args.repeats, timer), time_onnx(m, xs, args.repeats, timer),
                      time_torch(m, xs, args.repeats, timer))
            for int8 in (False, True):
                p = prefixes[name, int8]
                cm, cn = CModel(lib, tmp, p), CModel(native, tmp, p)
                rows.append((name, "int8" if int8 else "float32", flash(tmp, p, cc), wbytes[p], cm.state_bytes,
                             time_c(cm, xs, args.repeats, timer), time_c(cn, xs, args.repeats, timer))
                            + (others if not int8 else (None,) * 3))
    fmt = lambda v: "" if v is None else (f"{v:,}" if isinstance(v, int) else f"{v:.2f}")  # noqa: E731
    print("| model | weights | flash B | of which weights | RAM B | C µs/step | C -march=native | Stream µs | "
          "onnxruntime µs | PyTorch cell µs |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print("| " + " | ".join([r[0], r[1]] + [fmt(v) for v in r[2:]]) + " |")


def forecast_int8(run):
    from gatedrnn.data.series import SeriesScaler
    from gatedrnn.forecast.config import ForecastConfig
    from gatedrnn.forecast.experiment import plan
    from gatedrnn.forecast.metrics import rmse
    from gatedrnn.forecast.model import model_forecast
    from gatedrnn.train.checkpoint import load_checkpoint, resolve_checkpoint

    run = Path(run)
    cfg = ForecastConfig.from_dict(json.loads((run / "config.json").read_text()))
    p = plan(cfg)
    model, meta, _ = load_checkpoint(resolve_checkpoint(run))
    scaler = SeriesScaler.from_dict(meta["series"]["scaler"])
    for label, kind in (("float32", Stream), ("int8", QuantizedStream)):
        s = kind(model)
        f = p.by_origin(lambda hist, h, s=s: model_forecast(model, scaler, hist, h, p.window, s))
        wb = const_bytes(c_sources(model, int8=kind is QuantizedStream)[1])
        print(f"{p.series.name} {cfg.model_name()}, {label} weights ({wb:,} bytes): held-out RMSE {rmse(f, p.test):.3f}")


def classify_int8(run, data_dir=None):
    from gatedrnn.classify.model import Classifier
    from gatedrnn.data.uea import load_uea

    run = Path(run)
    cfg = json.loads((run / "config.json").read_text())
    _, test = load_uea(cfg["dataset"], data_dir)
    for cell in cfg["cell"]:
        clf = Classifier.load(run / cell)
        xs = [((x - clf.mean_) / clf.std_).astype(np.float32) for x in test.X]
        for label, kind in (("float32", Stream), ("int8", QuantizedStream)):
            s = kind(clf.model)
            hits = 0
            for x, want in zip(xs, test.y):
                s.reset()
                hits += clf.classes_[int(np.argmax(s.run(x)[-1]))] == want
            wb = const_bytes(c_sources(clf.model, int8=kind is QuantizedStream)[1])
            print(f"{test.name} {cell.upper()} {clf.model.rnn.hidden_size}, {label} weights ({wb:,} bytes): test accuracy "
                  f"{100 * hits / len(xs):.2f}% (Stream, one sequence at a time)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--steps", type=int, default=20000, help="steps per C timing (the others run 2000)")
    ap.add_argument("--clock", choices=["cpu", "wall"], default="cpu")
    ap.add_argument("--forecast", metavar="RUN", help="a gatedrnn forecast run: int8's RMSE change on it")
    ap.add_argument("--classify", metavar="RUN", help="a gatedrnn classify --out run: int8's accuracy change on it")
    ap.add_argument("--data-dir", default=None, help="the folder holding uea/ (default: GATEDRNN_DATA)")
    ap.add_argument("--no-table", action="store_true")
    args = ap.parse_args(argv)
    cc = find_cc()
    cc_version = subprocess.run([cc, "--version"], capture_output=True, text=True).stdout.splitlines()[0] if cc else "none"
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.2f} at start; {cc_version} {' '.join(CFLAGS)}; one thread; {args.clock} clock")
    if not args.no_table:
        edge_table(args)
    if args.forecast:
        forecast_int8(args.forecast)
    if args.classify:
        classify_int8(args.classify, args.data_dir)


if __name__ == "__main__":
    main()
