"""A ``Forecaster``'s ensemble members trained in parallel processes over the cores (issue 21, "ensembles at the
price of one"): ``train_in_processes(f, panel, processes, echo) -> (models, history)``.

Member k is exactly what ``training.train_network(f, panel, f.seed + k)`` trains in this process, bit for bit: the
same code on the same data with the same seed, run in a child process instead. The members are dealt out to
``processes`` children (member k to child k mod P); each child is a fork of this process (it inherits the
forecaster and the panel, nothing is sent to it), trains its members one after another and writes each to a
checkpoint folder (``model.npz`` and ``meta.json``: the library's own format, no pickle) and its history records
to a JSON file in a private temporary folder, which this process reads back and deletes. A child that fails writes
its error and exits non-zero: a ``UserError`` comes back as the same one line, anything else as a ``RuntimeError``
with the child's traceback. If this process is interrupted, the children are terminated.

Where it is used: ``members.train_members`` with ``processes > 1`` (``GATEDRNN_NUM_PROCESSES=N`` in the
environment, default 1) and at least two members, on a system that can fork (Linux, macOS, the BSDs); elsewhere
the members train one after another here. Each child runs one BLAS thread's worth of work per member, so the gain
needs free cores: P processes on P idle cores train P members in the time of one; more processes than cores share
them and finish together (M4 Hourly's 5 members in 5 processes on 2 cores: 621 s against 702 s for 2 members one
after another, with ``GATEDRNN_FAST=1``; README; ``benchmarks/ensemble_speed.py --processes 2``).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import tempfile
import traceback
from pathlib import Path

from gatedrnn.errors import UserError
from gatedrnn.forecast.features import Panel
from gatedrnn.forecast.training import train_network
from gatedrnn.models.io import load_checkpoint

ENV = "GATEDRNN_NUM_PROCESSES"


def default_processes() -> int:
    """Processes for a Forecaster's members: ``GATEDRNN_NUM_PROCESSES`` if set, else 1."""
    text = os.environ.get(ENV, "").strip()
    if not text:
        return 1
    if not text.isdigit() or int(text) < 1:
        raise UserError(f"{ENV}: expected a positive integer, got {text!r}")
    return int(text)


def can_fork() -> bool:
    """Whether this system starts processes by forking (what the children need: they inherit the data)."""
    return "fork" in multiprocessing.get_all_start_methods()


def _child(f, panel: Panel, seeds: list, folder: Path) -> None:
    """Train the members of ``seeds`` and write them (and their records, or the error) under ``folder``."""
    try:
        records = []
        for seed in seeds:
            model, record = train_network(f, panel, seed)
            model.save(folder / f"member-{seed}", meta={})
            records.append(record)
        (folder / f"records-{seeds[0]}.json").write_text(json.dumps(records))
    except BaseException as exc:  # noqa: BLE001  (everything goes back to the parent, which raises it)
        kind = "user" if isinstance(exc, UserError) else "bug"
        doc = {"kind": kind, "message": str(exc), "traceback": traceback.format_exc()}
        (folder / f"error-{seeds[0]}.json").write_text(json.dumps(doc))
        os._exit(1)
    os._exit(0)


def _raise_child_error(folder: Path, seeds: list, code) -> None:
    path = folder / f"error-{seeds[0]}.json"
    if not path.exists():
        raise RuntimeError(f"the process training members {seeds} ended with exit code {code} and no report")
    doc = json.loads(path.read_text())
    if doc["kind"] == "user":
        raise UserError(doc["message"])
    raise RuntimeError(f"the process training members {seeds} failed:\n{doc['traceback']}")


def deal(seeds: list, processes: int) -> list:
    """``seeds`` dealt to ``processes`` groups (seed k to group k mod P), the empty ones dropped."""
    return [g for g in (seeds[j::processes] for j in range(processes)) if g]


def train_in_processes(f, panel: Panel, processes: int, echo=None) -> tuple[list, list]:
    """(models, history) of ``f``'s ``n_models`` members, trained in ``processes`` child processes (module
    docstring); the same as training them one after another here."""
    seeds = [f.seed + k for k in range(f.n_models)]
    groups = deal(seeds, processes)
    ctx = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory(prefix="gatedrnn-members-") as tmp:
        folder = Path(tmp)
        children = [ctx.Process(target=_child, args=(f, panel, g, folder), daemon=True) for g in groups]
        try:
            for child in children:
                child.start()
            if echo:
                echo(f"training {len(seeds)} members in {len(groups)} processes")
            for child, g in zip(children, groups):
                child.join()
                if child.exitcode != 0:
                    _raise_child_error(folder, g, child.exitcode)
        finally:
            for child in children:
                if child.is_alive():
                    child.terminate()
                    child.join()
        records = {r["seed"]: r for g in groups for r in json.loads((folder / f"records-{g[0]}.json").read_text())}
        models = [load_checkpoint(folder / f"member-{s}")[0] for s in seeds]
    return models, [records[s] for s in seeds]
