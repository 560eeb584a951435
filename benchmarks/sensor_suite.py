"""Issue 27's sensor and speech suite: the compressed FastGRNN that ``benchmarks/kilobyte.py`` chose on validation
cases for each dataset, measured as the edge table measures a model, beside the baselines of the same run.

    OPENBLAS_NUM_THREADS=1 GATEDRNN_DATA=../shared/data nice python benchmarks/kilobyte.py --json runs/kb.json
    OPENBLAS_NUM_THREADS=1 GATEDRNN_DATA=../shared/data nice python benchmarks/sensor_suite.py runs/kb.json

For each dataset of the JSON: the chosen candidate's ``--seeds`` seeds are fitted again as ``kilobyte.py`` fitted
them (the same seeds and settings: the same models), and then

* accuracy: the float32 model's test accuracy (``Classifier.score``) and the compiled Q15 C step's (raw int16
  inputs, ``benchmarks/fixed_point.py``: checked equal to its Python reference on every test sequence), mean ±
  sample std over the seeds, and the float -> int change; MiniRocket and 1-NN DTW from the JSON (the same run as
  the choice), or run here for a ``--model DATASET=SPEC`` (aeon: the same seeds give the same figures);
* size, of the first seed's model: parameters (non-zero), weights (float32, CSR where smaller, as the classify
  table counts them), the Q15 C step's flash (text + data at -Os) and RAM (its state struct: states and
  scratch), and multiplies per step;
* µs per step at batch 1, one thread, median of ``--repeats`` runs in process CPU time (as ``edge.py``): the
  float32 C step (``export --c``), the Q15 C step (``export --c --fixed q15``), ``Stream``, onnxruntime (the ONNX
  export with its state as inputs, one ``run`` per step) and a PyTorch module of the paper's equations (the
  reference of the cells' parity tests, checked equal to ``Stream`` to 1e-4 first).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import edge  # noqa: E402
from fixed_point import fixed_accuracy  # noqa: E402
from kilobyte import ms, parse  # noqa: E402

from gatedrnn.classify.baselines import available, run_baselines  # noqa: E402
from gatedrnn.classify.model import Classifier  # noqa: E402
from gatedrnn.data.uea import load_uea  # noqa: E402
from gatedrnn.deploy.c99 import export_c  # noqa: E402
from gatedrnn.deploy.c99_fixed import fixed_sources  # noqa: E402
from gatedrnn.deploy.c99_fixed_run import CFixed, build_fixed  # noqa: E402
from gatedrnn.deploy.c99_run import CModel, build, random_inputs  # noqa: E402
from gatedrnn.deploy.fixed_stream import fixed_model  # noqa: E402


def speeds(clf, folder: Path, args) -> dict:
    """µs per step of the first seed's model, every way of running it (see the module docstring)."""
    timer, model = edge.clock("cpu"), clf.model
    xs = random_inputs(model, args.steps)
    export_c(model, folder, prefix="f")
    fm = fixed_model(model, (clf.mean_, clf.std_))
    header, source, _ = fixed_sources(fm, prefix="q")
    (folder / "q.h").write_text(header)
    (folder / "q.c").write_text(source)
    cf, cq = CModel(build(folder, ["f"], name="libf.so"), folder, "f"), CFixed(build_fixed(folder, ["q"]), "q", fm)
    raw = np.asarray(xs, np.float64) * clf.std_ + clf.mean_
    return {"c_float": edge.time_c(cf, xs, args.repeats, timer),
            "c_q15": edge.time_c(cq, fm.encode(raw), args.repeats, timer),
            "stream": edge.time_stream(model, xs, args.repeats, timer),
            "onnxruntime": edge.time_onnx(model, xs, args.repeats, timer),
            "torch": edge.time_torch(model, xs, args.repeats, timer)}


def dataset_row(entry: dict, args) -> dict:
    train, test = load_uea(entry.get("source", entry["dataset"]))
    kw = parse(entry["chosen"], train.dimensions)
    f32, q15, first = [], [], None
    for seed in range(args.seeds):
        clf = Classifier(cell="fastgrnn", seed=seed, select=False, **kw).fit(train.X, train.y)
        f32.append(100 * clf.score(test.X, test.y))
        with tempfile.TemporaryDirectory() as tmp:
            r = fixed_accuracy(clf, test, Path(tmp))
        q15.append(100 * r["acc"])
        if first is None:
            first = (clf, r)
    clf, r = first
    base = entry.get("baselines")
    if not base and available():                  # not in the JSON: run here, the same seeds
        base = {b["method"]: [100 * a for a in b["accs"]]
                for b in run_baselines(train, test, list(range(args.seeds)), lambda line: None)}
    with tempfile.TemporaryDirectory() as tmp:
        us = speeds(clf, Path(tmp), args)
    nnz = sum(int(np.count_nonzero(p)) for p in clf.model.params)
    return {"dataset": train.name, "model": entry["chosen"], "options": kw, "float32": f32, "q15": q15,
            "baselines": base or {}, "params": nnz, "weights": clf.weight_bytes, "flash": r["flash"],
            "ram": r["ram"], "macs": r["macs"], "us": us}


HEADER = ("| dataset | FastGRNN (hidden:rank W:rank U:density:steps) | float32 % | Q15 C % | float→int | MiniRocket % | "
          "1-NN DTW % | parameters | weights B | Q15 flash B | RAM B | MACs/step | µs C float | µs C Q15 | µs Stream | "
          "µs onnxruntime | µs PyTorch |\n" + "|---" * 17 + "|")


def print_rows(rows: list) -> None:
    print(HEADER)
    for r in rows:
        b, u = r["baselines"], r["us"]
        change = statistics.mean(q - f for q, f in zip(r["q15"], r["float32"]))
        cells = [r["dataset"], r["model"], ms(r["float32"]), ms(r["q15"]), f"{change:+.2f}",
                 ms(b["MiniRocket (aeon)"]) if b else "", ms(b["1-NN DTW (aeon)"]) if b else "", f"{r['params']:,}",
                 f"{r['weights']:,}", f"{r['flash']:,}" if r["flash"] else "", f"{r['ram']:,}", f"{r['macs']:,}"]
        cells += ["" if u[k] is None else f"{u[k]:.2f}" for k in ("c_float", "c_q15", "stream", "onnxruntime", "torch")]
        print("| " + " | ".join(cells) + " |", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("results", nargs="?", help="the --json of benchmarks/kilobyte.py")
    ap.add_argument("--model", action="append", default=[], help="DATASET=HIDDEN:RANK_IH:RANK_HH:DENSITY:MAX_STEPS "
                    "instead of the JSON's choice (the baselines then run here)")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--steps", type=int, default=20000, help="steps per C timing (the others run 2000)")
    ap.add_argument("--json", help="write every figure here")
    args = ap.parse_args(argv)
    entries = [e for e in json.loads(Path(args.results).read_text()) if e.get("chosen")] if args.results else []
    entries += [{"dataset": spec.split("=")[0], "chosen": spec.split("=")[1]} for spec in args.model]
    rows = []
    for entry in entries:
        rows.append(dataset_row(entry, args))
        print(f"{rows[-1]['dataset']}: done", flush=True)
    print_rows(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
