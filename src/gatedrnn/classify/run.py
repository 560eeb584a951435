"""The classification experiment (``gatedrnn classify``): train each cell with several seeds on a UEA/UCR dataset's
training set, measure test accuracy, run the baselines in the same process, print the table.

``run(cfg, out=OUT)`` also writes ``OUT/results.json`` (every accuracy, time and size), ``OUT/config.json``
(``gatedrnn classify --config OUT/config.json`` re-runs it) and, per cell, the checkpoint of its first seed in
``OUT/CELL`` (``Classifier.load``, ``gatedrnn.load``), the whole run or nothing (``gatedrnn.run_folder``). Nothing
of the test set is used to choose anything: every model is chosen (the number of steps, on a validation split
carved from the training set: ``classify.selection``) and fitted before the test file is read, once.
"""

from __future__ import annotations

import time

import numpy

from gatedrnn.classify.baselines import EXTRA_NOTE, available, run_baselines
from gatedrnn.classify.config import ClassifyConfig
from gatedrnn.classify.model import Classifier
from gatedrnn.data.uea import locate_uea, read_test_split, read_ts
from gatedrnn.layers import CELLS
from gatedrnn.train.run_output import writing_run

COMMAND = "gatedrnn classify"
GOAL_POINTS = 1.0          # the goal: the best gated model within this many points of the best baseline
GOAL_BYTES = 50_000        # ... with float32 weights under this size


def _spread(accs) -> str:
    a = 100 * numpy.asarray(accs)
    if len(a) == 1:
        return f"{a[0]:6.2f}"
    return f"{a.mean():6.2f} ± {a.std(ddof=1):4.2f} (min {a.min():.2f})"


def format_table(name: str, rows: list[dict]) -> str:
    """The accuracy table: one row per method (mean ± sample std over seeds), its size and wall time."""
    lines = [f"{name}: test accuracy (%)",
             f"{'method':<24} {'accuracy: mean ± std (min)':<32} {'seeds':>5} {'weights (f32)':>14} {'time':>8}"]
    for r in rows:
        size = f"{r['bytes']:,} B" if r.get("bytes") else "-"
        lines.append(f"{r['method']:<24} {_spread(r['accs']):<32} {len(r['accs']):>5} {size:>14} "
                     f"{r['seconds']:>7.0f}s")
    models = [r for r in rows if r.get("bytes")]
    others = [r for r in rows if not r.get("bytes")]
    if models and others:
        best = max(models, key=lambda r: numpy.mean(r["accs"]))
        base = max(others, key=lambda r: numpy.mean(r["accs"]))
        gap = 100 * (numpy.mean(base["accs"]) - numpy.mean(best["accs"]))
        met = gap <= GOAL_POINTS and best["bytes"] < GOAL_BYTES
        lines.append(f"best model {best['method']} is {gap:+.2f} points below the best baseline {base['method']} "
                     f"({best['bytes']:,} bytes): goal (within {GOAL_POINTS:g} point, < {GOAL_BYTES // 1000} kB) "
                     f"{'met' if met else 'not met'}")
    return "\n".join(lines)


def _describe(train) -> str:
    return (f"{train.name}: {len(train)} training cases, {train.dimensions} dimensions, lengths "
            f"{train.lengths.min()}-{train.lengths.max()}, {len(train.classes)} classes")


def _read_test(train, test_path):
    """The test set, read once, after every model is chosen and fitted: its dimensions and labels checked against
    the training set's (as ``load_uea`` does)."""
    return read_test_split(train, test_path)


def _fit_cell(cfg: ClassifyConfig, cell: str, train, echo) -> dict:
    """Every seed of ``cell`` chosen (validation carved from the training set) and fitted; no test set here."""
    t0 = time.perf_counter()
    fitted = []
    for seed in range(cfg.seed, cfg.seed + cfg.seeds):
        clf = Classifier.from_config(cfg, cell, seed).fit(train.X, train.y)
        fitted.append(clf)
        sel = clf.selection_
        echo(f"   {cell} seed {seed}: fitted" + (f" for {sel['steps']} steps ({sel['note']})" if sel else ""))
    units = f"{cfg.hidden_size} units{'' if cfg.num_layers == 1 else f' x {cfg.num_layers}'}"
    units += "".join(f", {name} {v}" for name, v in (("rank_ih", cfg.rank_ih), ("rank_hh", cfg.rank_hh)) if v)
    return {"method": f"{CELLS[cell].__name__} ({units})", "cell": cell, "fitted": fitted,
            "seconds": time.perf_counter() - t0, "bytes": fitted[0].weight_bytes,
            "steps": [c.selection_["steps"] if c.selection_ else cfg.max_steps for c in fitted]}


def _score_cell(row: dict, test, folder, ensemble: bool) -> list:
    """Test accuracy of every fitted seed (the first seed's checkpoint into ``folder``); -> the table's row, and
    with ``ensemble`` (and several seeds) a row for the seeds' averaged probabilities."""
    t0 = time.perf_counter()
    fitted = row.pop("fitted")
    probs = [clf.predict_proba(test.X) for clf in fitted]
    y = numpy.asarray(test.y)
    row["accs"] = [float(numpy.mean(clf.classes_[p.argmax(axis=1)] == y)) for clf, p in zip(fitted, probs)]
    row["seconds"] += time.perf_counter() - t0
    if folder is not None:
        fitted[0].save(folder.path(row["cell"]))
    if not ensemble or len(fitted) < 2:
        return [row]
    mean = numpy.mean(probs, axis=0)
    both = {"method": f"{row['method']} x{len(fitted)} avg", "cell": row["cell"], "seconds": row["seconds"],
            "bytes": row["bytes"] * len(fitted), "accs": [float(numpy.mean(fitted[0].classes_[mean.argmax(axis=1)] == y))]}
    return [row, both]


def run(cfg: ClassifyConfig, out=None, data_dir=None, echo=print, *, overwrite: bool = False, inputs=(),
        progress: bool = True) -> dict:
    """The experiment of ``cfg``; returns ``{"dataset", "rows", "table", "note"}`` (rows as in ``format_table``).
    With ``out``, the run folder is written whole or not at all (``gatedrnn.run_folder``; ``overwrite``: replace
    what is there; ``inputs``: more files the run reads, e.g. its --config file). One process only: refused under
    an MPI launcher. ``progress=False``: only the table (and its note) through ``echo``."""
    cfg.validate()
    files = locate_uea(str(cfg.dataset), data_dir)
    known = ("results.json", "config.json", *CELLS)
    with writing_run(out, COMMAND, known=known, overwrite=overwrite, inputs=[*files, *inputs]) as folder:
        result = _experiment(cfg, data_dir, folder, echo if progress else (lambda *_: None))
        if not progress:
            for line in (result["table"], result["note"]):
                if line:
                    echo(line)
        if folder is not None:
            folder.write_json("results.json", result, f"dataset {result['dataset']}")
            folder.write_json("config.json", cfg.to_dict())
    return result


def _experiment(cfg: ClassifyConfig, data_dir, folder, echo) -> dict:
    """Choose and fit every cell with every seed on the training file alone, then read the test file once: score
    them (each cell's first seed into ``folder``), the baselines, print the table."""
    train_path, test_path = locate_uea(str(cfg.dataset), data_dir)
    train = read_ts(train_path)
    echo(_describe(train))
    seeds = list(range(cfg.seed, cfg.seed + cfg.seeds))
    fitted = []
    for k, cell in enumerate(cfg.cell, 1):
        echo(f"{k}. {cell}: {cfg.seeds} seeds, at most {cfg.max_steps} steps of {cfg.batch_size} sequences, "
             f"{cfg.pooling} pooling" + (", steps chosen on a validation split" if cfg.select else ""))
        fitted.append(_fit_cell(cfg, cell, train, echo))
    test = _read_test(train, test_path)
    echo(f"test set: {len(test)} cases, read after every model was fitted")
    rows = [r for row in fitted for r in _score_cell(row, test, folder, cfg.ensemble)]
    note = None
    if cfg.baselines and available():
        echo(f"{len(cfg.cell) + 1}. baselines (aeon)")
        rows += run_baselines(train, test, seeds, echo)
    elif cfg.baselines:
        note = EXTRA_NOTE
    table = format_table(train.name, rows)
    echo("")
    echo(table)
    if note:
        echo(note)
    return {"dataset": train.name, "rows": rows, "table": table, "note": note}
