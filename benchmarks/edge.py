"""The edge table: each model exported to C99 (``gatedrnn.deploy.c99``), float32 and int8 weights, against the
other ways of running one step at batch 1, on one thread; and a saved ``Forecaster`` exported whole
(``deploy/c99_forecaster.py``), per forecast.

    nice python benchmarks/edge.py                                   # the table (about a minute)
    nice python benchmarks/edge.py --forecast runs/m4                # also a saved Forecaster's two rows
    nice python benchmarks/edge.py --no-table --forecast runs/m4     # only those rows
    nice python benchmarks/edge.py --no-table --classify runs/jv     # int8's accuracy change on a classify run

Columns: flash bytes (text + data of the compiled object, ``size``, at -O2: the weights plus the code), of which
weights; RAM bytes (``sizeof`` the state struct: the recurrent state and the step's scratch, the only memory a step
touches besides its stack of a few locals); microseconds per step, median of ``--repeats`` (process CPU time by
default, robust to other load; ``--clock wall``), for the C step (N steps in one C loop, called once through
ctypes, so that the call's overhead is not counted), ``gatedrnn.deploy.Stream``, onnxruntime (the ONNX export
with its state as inputs, one ``run`` per step: the same work a server would do) and PyTorch's ``LSTMCell`` /
``GRUCell`` / ``RNNCell`` with the same head (``torch.no_grad``, one thread), and for FastGRNN and FastRNN (no
PyTorch cell) a module of the paper's equations (``fast_torch.py``). Results are in benchmarks/README.md.

``--forecast FOLDER`` (a ``Forecaster.save`` folder, such as ``gatedrnn forecast --dataset m4-hourly --out
runs/m4`` writes) adds two rows, float32 and int8 weights, for the whole forecaster in C: a ring buffer of the
last ``window`` values, the normalisation, every member over the window, their median, the base and the sorted
quantiles. Their times are per **forecast** (one ``_forecast``), measured by ``benchmarks/forecaster_c.py``'s
``cpu_us``, as are the flash and the MACs per forecast (in the row's name); beside the C, one forecast of
``Forecaster.stream()`` (Python, a push and its forecast) and of the forecaster's ONNX graph in onnxruntime (batch
1). Under the table: the C against ``predict`` over 1,000 pushes (as ``gatedrnn export`` checks it, in units of
``max(1, |y|)``) and on every series' next ``horizon`` values (in units of each window's scale, the standard
deviation ``features.normalise`` divides by: a forecast near 0 of a series of large scale differs by float32
rounding of that scale, which ``max(1, |y|)`` would magnify), and, for a forecaster fitted on M4 Hourly's
training series (found in ``--data-dir`` or ``GATEDRNN_DATA``), the sMAPE of the C forecasts with each kind of
weights on M4's test values. ``--classify RUN`` (a ``gatedrnn classify --out`` folder) the test accuracy of each
of its cells' checkpoints, float32 and int8 weights.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fast_torch  # noqa: E402


def models():
    """name -> model: what runs on a microcontroller-sized budget (random weights: the timing does not depend on
    them)."""
    out = {}
    for cell in ("lstm", "gru", "rnn"):
        out[f"forecaster {cell.upper()} 16"] = SequenceRegressor(2, 16, 1, cell=cell, seed=0)
        out[f"sensor {cell.upper()} 64, 6 in, 4 out"] = SequenceRegressor(6, 64, 4, cell=cell, seed=0)
    out["sensor LSTM 64 x 2, 6 in, 4 out"] = SequenceRegressor(6, 64, 4, num_layers=2, cell="lstm", seed=0)
    out["char LM LSTM 128, vocab 65, embed 32"] = LanguageModel(65, 32, 128, cell="lstm", seed=0)
    for cell, label in (("fastgrnn", "FastGRNN"), ("fastrnn", "FastRNN")):   # issue 27's kilobyte cells
        out[f"sensor {label} 32, 6 in, 4 out"] = SequenceRegressor(6, 32, 4, cell=cell, seed=0)
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
    if model.rnn.name in fast_torch.FAST_CELLS:             # no PyTorch cell: a module of the paper's equations
        return fast_torch.time_torch(model, xs, repeats, timer, _median_us, n)
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
        ms = {k: m for k, m in models().items() if args.match is None or args.match in k}
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
    return rows


HEADER = ("| model | weights | flash B | of which weights | RAM B | C µs/step | C -march=native | Stream µs | "
          "onnxruntime µs | PyTorch cell µs |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")


def print_table(rows):
    fmt = lambda v: "" if v is None else (f"{v:,}" if isinstance(v, int) else f"{v:.2f}")  # noqa: E731
    print(HEADER)
    for r in rows:
        print("| " + " | ".join([r[0], r[1]] + [fmt(v) for v in r[2:]]) + " |")


def _forecaster_c():
    """benchmarks/forecaster_c.py, beside this file: its flash, µs and MACs per forecast are reused here."""
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    import forecaster_c
    return forecaster_c


def time_forecast_stream(f, repeats, timer, n=20):
    """µs per forecast of ``Forecaster.stream()``: a push of one value to the first series and its forecast."""
    s = f.stream()
    sid = s.ids[0]
    values = [float(v) for v in s.window_of(0)[-n:]]

    def go():
        for v in values:
            s.push(v, sid)
    return _median_us(go, len(values), repeats, timer)


def time_forecast_onnx(f, repeats, timer, n=200):
    """µs per forecast of the forecaster's ONNX graph (``deploy/forecaster_onnx.py``) in onnxruntime, batch 1
    (None without onnxruntime, or for a forecaster with the short-series mask input, which that graph refuses)."""
    if f.mask:
        return None
    try:
        import onnxruntime as ort

        from gatedrnn.deploy.forecaster_onnx import build_forecaster_onnx
    except ImportError:
        return None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(build_forecaster_onnx(f).SerializeToString(), opts, providers=["CPUExecutionProvider"])
    tails, starts = f._tails(f.panel)
    feed = {"y": np.ascontiguousarray(tails[:1], dtype=np.float64), "start": np.asarray(starts[:1], dtype=np.int64)}
    feed = {i.name: feed[i.name] for i in sess.get_inputs()}

    def go():
        for _ in range(n):
            sess.run(None, feed)
    return _median_us(go, n, repeats, timer)


def m4_test_values(f, data_dir=None):
    """M4 Hourly's test values of the forecaster's series, when it was fitted on M4 Hourly's training series (every
    saved last window and length is that of the training series in file order), else None."""
    from gatedrnn.forecast.m4 import read_wide

    d = Path(data_dir or os.environ.get("GATEDRNN_DATA") or "no-data") / "m4"
    if not ((d / "Hourly-train.csv").is_file() and (d / "Hourly-test.csv").is_file()):
        return None
    train = read_wide(d / "Hourly-train.csv")
    tails, starts = f._tails(f.panel)
    if len(train) != len(tails) or any(v.size != s + f.window or not np.array_equal(v[-f.window:], t)
                                       for v, t, s in zip(train.values(), tails, starts)):
        return None
    test = read_wide(d / "Hourly-test.csv")
    return [test[k] for k in train]


def forecaster_rows(folder, args):
    """The two rows (float32, int8 weights) of the saved Forecaster in ``folder`` exported whole to C, and the
    lines under the table: the C against ``predict`` (and M4's test values, when it is an M4 Hourly forecaster)."""
    from gatedrnn.deploy.c99_forecaster import export_forecaster_c
    from gatedrnn.deploy.c99_forecaster_run import PUSHES, CForecaster, check_values, compare
    from gatedrnn.forecast import Forecaster
    from gatedrnn.forecast.features import normalise
    from gatedrnn.forecast.metrics import smape

    fc, cc, timer = _forecaster_c(), find_cc(), clock(args.clock)
    if cc is None:
        raise SystemExit("edge.py: no C compiler found (cc, gcc, clang or $CC)")
    f = Forecaster.load(folder)
    layers = f" x {f.num_layers} layers" if f.num_layers > 1 else ""
    name = (f"{Path(folder).name}: Forecaster, {str(f.cell).upper()} {f.hidden_size}{layers} x {len(f.models)} "
            f"member(s), window {f.window}, horizon {f.horizon}, season {f.season or 'none'} (µs per **forecast**, "
            f"{fc.macs(f):,} MACs)")
    others = (time_forecast_stream(f, args.repeats, timer), time_forecast_onnx(f, args.repeats, timer), None)
    tails, starts = f._tails(f.panel)
    full = np.flatnonzero(np.asarray(starts) >= 0)          # padded short series: the C reads a full window only
    mid = f.quantiles.index(0.5)
    ref = f.quantile_forecast(tails[full], starts[full])
    scale = normalise(tails[full])[1]     # a forecast near 0 of a series of large scale: float32 rounding is of scale
    truth = m4_test_values(f, args.data_dir)
    rows, notes = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for int8 in (False, True):
            kind, out = "int8" if int8 else "float32", Path(tmp) / ("q" if int8 else "f")
            r = export_forecaster_c(f, out, prefix="fc", int8=int8, origin=str(folder))
            c = CForecaster(out, "fc", f, cc=cc)
            xs, start = check_values(f)
            pushes = compare(f, c.run(xs, start)[0], xs, start)
            last = np.stack([c.run(tails[i], starts[i])[0][-1] for i in full])
            us = fc.cpu_us(c, timer=timer, repeats=args.repeats)
            rows.append((name if not int8 else f"{Path(folder).name}: same", kind, fc.flash(out, "fc"),
                         r["weight_bytes"], c.state_bytes, us, None)
                        + (others if not int8 else (None,) * 3))
            gap = float(np.max(np.abs(last - ref) / scale[:, None, None]))
            line = (f"* {kind} C vs predict: {pushes:.1e} x max(1, |y|) over {PUSHES} pushes; {gap:.1e} x the window's "
                    f"scale on the next {f.horizon} values of its {len(full)} series")
            if truth is not None:
                score = float(np.mean([smape(truth[i], p[:, mid]) for i, p in zip(full, last)]))
                line += f"; sMAPE on M4 Hourly's test values {score:.4f}"
            notes.append(line)
    return rows, notes


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
    ap.add_argument("--forecast", metavar="FOLDER", help="a Forecaster.save folder (e.g. gatedrnn forecast "
                    "--dataset m4-hourly --out FOLDER): its C export's two rows, per forecast")
    ap.add_argument("--classify", metavar="RUN", help="a gatedrnn classify --out run: int8's accuracy change on it")
    ap.add_argument("--data-dir", default=None, help="the folder holding uea/ and m4/ (default: GATEDRNN_DATA)")
    ap.add_argument("--no-table", action="store_true")
    ap.add_argument("--match", help="only the table's models whose name holds this text (e.g. Fast)")
    args = ap.parse_args(argv)
    cc = find_cc()
    cc_version = subprocess.run([cc, "--version"], capture_output=True, text=True).stdout.splitlines()[0] if cc else "none"
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.2f} at start; {cc_version} {' '.join(CFLAGS)}; one thread; {args.clock} clock")
    rows = [] if args.no_table else edge_table(args)
    notes = []
    if args.forecast:
        more, notes = forecaster_rows(args.forecast, args)
        rows += more
    if rows:
        print_table(rows)
    for line in notes:
        print(line)
    if args.classify:
        classify_int8(args.classify, args.data_dir)


if __name__ == "__main__":
    main()
