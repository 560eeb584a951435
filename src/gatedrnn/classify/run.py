"""The classification experiment (``gatedrnn classify``): train each cell with several seeds on a UEA/UCR dataset's
training set, measure test accuracy, run the baselines in the same process, print the table.

``run(cfg, out=OUT)`` also writes ``OUT/results.json`` (every accuracy, time and size), ``OUT/config.json``
(``gatedrnn classify --config OUT/config.json`` re-runs it) and, per cell, the checkpoint of its first seed in
``OUT/CELL`` (``Classifier.load``, ``gatedrnn.load``), the whole run or nothing (``gatedrnn.run_folder``). Nothing
of the test set is used to choose anything.
"""

from __future__ import annotations

import time

import numpy

from gatedrnn.classify.baselines import EXTRA_NOTE, available, run_baselines
from gatedrnn.classify.config import ClassifyConfig
from gatedrnn.classify.model import Classifier
from gatedrnn.data.uea import load_uea, locate_uea
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


def _describe(train, test) -> str:
    lengths = numpy.concatenate([train.lengths, test.lengths])
    return (f"{train.name}: {len(train)} training and {len(test)} test cases, {train.dimensions} dimensions, "
            f"lengths {lengths.min()}-{lengths.max()}, {len(train.classes)} classes")


def _train_cell(cfg: ClassifyConfig, cell: str, train, test, folder, echo) -> dict:
    accs: list = []
    t0 = time.perf_counter()
    first: Classifier | None = None
    for seed in range(cfg.seed, cfg.seed + cfg.seeds):
        clf = Classifier(**cfg.model_options(cell, seed)).fit(train.X, train.y)
        accs.append(clf.score(test.X, test.y))
        first = first or clf
        echo(f"   {cell} seed {seed}: {100 * accs[-1]:.2f}%")
    if first is None:                    # seeds >= 1 is the config's check: a bug if it happens
        raise RuntimeError("no seed was trained")
    if folder is not None:
        first.save(folder.path(cell))
    units = f"{cfg.hidden_size} units{'' if cfg.num_layers == 1 else f' x {cfg.num_layers}'}"
    return {"method": f"{CELLS[cell].__name__} ({units})", "cell": cell, "accs": accs,
            "seconds": time.perf_counter() - t0, "bytes": first.weight_bytes}


def run(cfg: ClassifyConfig, out=None, data_dir=None, echo=print, *, overwrite: bool = False, inputs=()) -> dict:
    """The experiment of ``cfg``; returns ``{"dataset", "rows", "table", "note"}`` (rows as in ``format_table``).
    With ``out``, the run folder is written whole or not at all (``gatedrnn.run_folder``; ``overwrite``: replace
    what is there; ``inputs``: more files the run reads, e.g. its --config file). One process only: refused under
    an MPI launcher."""
    cfg.validate()
    files = locate_uea(str(cfg.dataset), data_dir)
    known = ("results.json", "config.json", *CELLS)
    with writing_run(out, COMMAND, known=known, overwrite=overwrite, inputs=[*files, *inputs]) as folder:
        result = _experiment(cfg, data_dir, folder, echo)
        if folder is not None:
            folder.write_json("results.json", result, f"dataset {result['dataset']}")
            folder.write_json("config.json", cfg.to_dict())
    return result


def _experiment(cfg: ClassifyConfig, data_dir, folder, echo) -> dict:
    """Train every cell with every seed (each cell's first into ``folder``), the baselines, print the table."""
    train, test = load_uea(str(cfg.dataset), data_dir)
    echo(_describe(train, test))
    seeds = list(range(cfg.seed, cfg.seed + cfg.seeds))
    rows = []
    for k, cell in enumerate(cfg.cell, 1):
        echo(f"{k}. {cell}: {cfg.seeds} seeds, {cfg.max_steps} steps of {cfg.batch_size} sequences, "
             f"{cfg.pooling} pooling")
        rows.append(_train_cell(cfg, cell, train, test, folder, echo))
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
