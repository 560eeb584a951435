"""The one UCR/UEA table (issues 24 and 27) from finished ``gatedrnn classify --out RUN`` folders: one Markdown row
per run, read from its results.json and config.json (nothing is re-run, no test file is opened here).

    python benchmarks/uea_table.py /tmp/cls-japanesevowels /tmp/cls-basicmotions \\
        --kilobyte 'JapaneseVowels=97.62 ± 0.52, 3,982 B'

Columns: the dataset; the command that made the run (its config's fields that differ from the defaults, as flags);
every cell's test accuracy (mean ± sample std over the seeds, in %), the best cell's (highest mean) in bold; the
seed ensemble of every cell (``--ensemble``: the seeds' probabilities averaged; "-" without it); MiniRocket (mean
± sd over the same seeds) and 1-NN DTW (aeon, run in the same process); the wall seconds of every gatedrnn cell
together (selection, refit, scoring), of the best cell and of MiniRocket; the kilobyte FastGRNN column (issue 27's
``sensor_suite.py`` figures, given with ``--kilobyte NAME=TEXT`` as they stand in benchmarks/README.md, or "-").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy

from gatedrnn.classify.config import ClassifyConfig

HEADER = ("| dataset | command | every cell (mean ± sd, %) | every cell's ensemble | MiniRocket | 1-NN DTW "
          "| wall s (gatedrnn all / best cell / MiniRocket) | kilobyte FastGRNN |")


def spread(accs) -> str:
    """``mean ± sd`` of accuracies in [0, 1], in %; one value alone."""
    a = 100 * numpy.asarray(accs, dtype=float)
    return f"{a[0]:.2f}" if len(a) == 1 else f"{a.mean():.2f} ± {a.std(ddof=1):.2f}"


def command(config: dict) -> str:
    """``gatedrnn classify`` with the flags of the fields of ``config`` that differ from ``ClassifyConfig``'s."""
    defaults = ClassifyConfig(dataset=config.get("dataset")).to_dict()
    flags = []
    for name, value in config.items():
        if name == "dataset" or defaults.get(name) == value:
            continue
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            flags.append(flag if value else "--no-" + name.replace("_", "-"))
        elif isinstance(value, list):
            flags.append(" ".join([flag, *map(str, value)]))
        else:
            flags.append(f"{flag} {'none' if value is None else format(value, 'g') if isinstance(value, float) else value}")
    return " ".join(["gatedrnn classify --dataset", dataset_text(str(config["dataset"])), *flags])


def dataset_text(dataset: str) -> str:
    """A path prefix under ``GATEDRNN_DATA`` written relative to it (``$GATEDRNN_DATA/ucr/GunPoint``); a name as is."""
    root = os.environ.get("GATEDRNN_DATA")
    if root and Path(dataset).is_absolute() and Path(dataset).is_relative_to(Path(root).resolve()):
        return "$GATEDRNN_DATA/" + Path(dataset).relative_to(Path(root).resolve()).as_posix()
    return dataset


def row(run: Path, kilobyte: dict) -> str:
    """The Markdown row of one run folder."""
    result = json.loads((run / "results.json").read_text())
    config = json.loads((run / "config.json").read_text())
    rows = result["rows"]
    cells = [r for r in rows if r.get("cell") and not r["method"].endswith(" avg")]
    ensembles = {r["cell"]: r for r in rows if r.get("cell") and r["method"].endswith(" avg")}
    base = {r["method"].split(" ")[0]: r for r in rows if not r.get("cell")}
    best = max(cells, key=lambda r: numpy.mean(r["accs"]))
    every = " / ".join((f"**{r['cell']} {spread(r['accs'])}**" if r is best else f"{r['cell']} {spread(r['accs'])}")
                       for r in cells)
    ens = " / ".join(f"{r['cell']} {spread(ensembles[r['cell']]['accs'])}" for r in cells if r["cell"] in ensembles)
    mini, dtw = base.get("MiniRocket"), base.get("1-NN")
    wall = (f"{sum(r['seconds'] for r in cells):.0f} / {best['seconds']:.0f} / "
            f"{mini['seconds']:.0f}" if mini else f"{sum(r['seconds'] for r in cells):.0f} / {best['seconds']:.0f} / -")
    values = [result["dataset"], f"`{command(config)}`", every, ens or "-",
              spread(mini["accs"]) if mini else "-", spread(dtw["accs"]) if dtw else "-", wall,
              kilobyte.get(result["dataset"], "-")]
    return "| " + " | ".join(values) + " |"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="gatedrnn classify --out folders")
    parser.add_argument("--kilobyte", action="append", default=[], metavar="NAME=TEXT",
                        help="the kilobyte FastGRNN column of dataset NAME (as results.json names it)")
    args = parser.parse_args(argv)
    kilobyte = {}
    for item in args.kilobyte:
        name, sep, text = item.partition("=")
        if not sep:
            parser.error(f"--kilobyte: expected NAME=TEXT, got {item!r}")
        kilobyte[name] = text
    print(HEADER)
    print("|" + "---|" * HEADER.count(" | ") + "---|")
    for run in args.runs:
        print(row(run, kilobyte))


if __name__ == "__main__":
    main(sys.argv[1:])
