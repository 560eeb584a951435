"""The C step of a classifier with a front end (``deploy/c99_front.py``): flash, RAM and µs per raw sample, and its
test accuracy read from the C logits, for each cell of a ``gatedrnn classify --out RUN`` folder.

    nice python benchmarks/front_c.py RUN [--data-dir DIR] [--repeats 7]

Per cell's checkpoint (``RUN/<cell>``), float32 and int8 recurrent weights: flash bytes (text + data of the
compiled object at -O2, ``size``: the weights plus the code), of which the weights' arrays; RAM bytes (``sizeof``
the state struct: the front end's buffers, the recurrent state and the step's scratch, the only memory a step
touches besides a few locals); µs per raw sample, the median of ``--repeats`` passes over every test series one
after another (all samples of a pass in one C loop called once through ctypes; process CPU time, robust to other
load), with the frames' share in the mean; the test accuracy of the C step (each series from ``_reset``, the class
of the logits of its last completed frame) next to ``Classifier.predict``'s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from gatedrnn.classify.model import Classifier
from gatedrnn.data.uea import load_uea
from gatedrnn.deploy.c99 import write_sources
from gatedrnn.deploy.c99_front import front_sources
from gatedrnn.deploy.c99_front_run import FrontCModel, build_front
from gatedrnn.deploy.c99_run import compile_c, find_cc


def flash(folder: Path, prefix: str, cc: str) -> int:
    obj = compile_c([folder / f"{prefix}.c"], folder / f"{prefix}.o", cc=cc, shared=False)
    text, data = subprocess.run(["size", str(obj)], capture_output=True, text=True,
                                check=True).stdout.splitlines()[1].split()[:2]
    return int(text) + int(data)


def c_accuracy(c: FrontCModel, clf: Classifier, X, y) -> float:
    hits = 0
    for x, want in zip(X, y):
        c.reset()
        ys, flags = c.run(x)
        hits += clf.classes_[int(np.argmax(ys[flags == 1][-1]))] == want
    return 100.0 * hits / len(X)


def cpu_us(c: FrontCModel, xs, repeats: int) -> float:
    runs = []
    for _ in range(repeats):
        c.reset()
        t0 = time.process_time()
        c.run(xs)
        runs.append((time.process_time() - t0) / len(xs) * 1e6)
    return statistics.median(runs)


def rows(run: Path, data_dir, repeats: int, cc: str) -> list[str]:
    cfg = json.loads((run / "config.json").read_text())
    _, test = load_uea(cfg["dataset"], data_dir)
    out = []
    for cell in cfg["cell"]:
        clf = Classifier.load(run / cell)
        m = clf.model
        py = 100.0 * float(np.mean(clf.predict(test.X) == np.asarray(test.y)))
        xs = np.concatenate([np.asarray(x, dtype=np.float32) for x in test.X])
        for int8 in (False, True):
            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(tmp)
                header, source = front_sources(m, prefix="clf", int8=int8, standardize=(clf.mean_, clf.std_),
                                               labels=clf.classes_.tolist())
                sizes = write_sources(folder, "clf", header, source)
                c = FrontCModel(build_front(folder, ["clf"], cc=cc), folder, "clf")
                fl = flash(folder, "clf", cc)
                us, acc = cpu_us(c, xs, repeats), c_accuracy(c, clf, test.X, test.y)
            kind = "int8" if int8 else "float32"
            out.append(f"| {test.name} {cell.upper()} {m.rnn.hidden_size}, {_front(m)}, {kind} | {fl:,} | "
                       f"{sizes['weight_bytes']:,} | {c.state_bytes:,} | {us:.3f} | {acc:.2f} | {py:.2f} |")
    return out


def _front(m) -> str:
    f = m.front
    parts = (["norm running"] if f.norm is not None else []) + \
        ([f"conv {f.channels}x{f.conv.k}{_blocks(f)}"] if f.conv is not None else []) + [f"frame {f.frame_size}"]
    return ", ".join(parts) + f", {m.pooling} pooling"


def _blocks(f) -> str:
    """The stacked conv blocks (models/front_blocks.py): "" for one plain block, else " x3 blocks, layernorm, residual"."""
    b = f.blocks[-1]
    return "".join([f" x{len(f.blocks)} blocks" if len(f.blocks) > 1 else "", ", layernorm" if b.norm is not None else "",
                    ", residual" if b.residual else ""])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="a gatedrnn classify --out folder of a model with a front end")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    cc = find_cc()
    if cc is None:
        raise SystemExit("front_c.py: no C compiler found (cc, gcc, clang or $CC)")
    print("| model | flash B | weights B | RAM B (state struct) | µs per sample (C, CPU) | C test acc % | "
          "Python test acc % |")
    print("|---|---|---|---|---|---|---|")
    for line in rows(args.run, args.data_dir, args.repeats, cc):
        print(line)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
