"""A command's run folder (``--out``), written whole or not at all.

``gatedrnn forecast`` (every mode) and ``gatedrnn classify`` write their outputs through ``open_run``. Nothing is
written into ``--out`` itself while the command works: its files go into a temporary folder inside it,
``.gatedrnn-run.tmp-XXXXXXXX``, and only when all of them are written and flushed does ``RunFolder.commit`` swap
them in:

1. the temporary folder is renamed to ``.gatedrnn-run.new`` (from here on the new run wins);
2. the earlier run's files (those its manifest lists; with ``overwrite`` also the files named like this command's
   outputs) are moved into ``.gatedrnn-run.old``;
3. the new files are moved in, the manifest ``.gatedrnn-run.json`` last;
4. both folders are removed.

SIGINT and SIGTERM arriving during 1-4 take effect once it is over. An exception during 1-4 finishes the swap
(``recover``); a process killed inside it (SIGKILL, a power cut) leaves ``.gatedrnn-run.new`` behind and the next
command on the folder finishes the swap before anything else. A process killed before step 1 leaves the earlier
run as it was and a temporary folder that the next command removes. So the folder holds the whole earlier run or
the whole new one.

The manifest lists the files a run wrote there and the files it wrote elsewhere (``--figure``). Files of the
folder that no manifest lists are the user's: ``open_run`` refuses a folder holding any (one line) unless
``overwrite``, and even then it replaces only the files named like the command's own outputs, never others.
Every JSON and CSV file of a run is checked finite before it is written (``RunFolder.write_json``/``write_csv``).

The caller holds the folder's lock around ``open_run`` (one writer per folder). This module imports only
``errors`` and ``atomic``.
"""

from __future__ import annotations

import fnmatch
import json
import math
import os
import shutil
import signal
import threading
from contextlib import contextmanager
from pathlib import Path

from gatedrnn.atomic import fsync_dir, make_temporary_dir, remove_temporaries, write_text_atomic
from gatedrnn.errors import UserError

MANIFEST, NEW, OLD, STAGE = ".gatedrnn-run.json", ".gatedrnn-run.new", ".gatedrnn-run.old", ".gatedrnn-run"
FORMAT = "gatedrnn-run"
LOCK = ".lock"            # gatedrnn.run_lock's file: the folder's, not the run's
_DEFERRED = (signal.SIGINT, signal.SIGTERM) + ((signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ())


def check_out_folder(out, flag: str = "--out") -> Path:
    """``out`` must be a folder or not exist yet (then it is made when the run is written)."""
    out = Path(out)
    if out.is_symlink() and not out.exists():
        raise UserError(f"{flag} {out}: expected a folder, got a link to nothing")
    if out.exists() and not out.is_dir():
        kind = "a file" if out.is_file() else "a special file (device, pipe or socket)"
        raise UserError(f"{flag} {out}: expected a folder, got {kind}")
    return out


def read_manifest(out) -> dict | None:
    """The manifest of the run in ``out`` (None when there is none or it is not one of ours)."""
    path = Path(out) / MANIFEST
    try:
        doc = json.loads(path.read_bytes().decode("utf-8"))
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    ok = (isinstance(doc, dict) and doc.get("format") == FORMAT and isinstance(doc.get("command"), str)
          and all(isinstance(v, list) and all(isinstance(n, str) for n in v)
                  for v in (doc.get("entries"), doc.get("outside", []), doc.get("replaces", [])))
          and all(_plain(n) for n in doc["entries"] + doc.get("replaces", [])))
    return doc if ok else None   # a damaged or tampered one: the folder is treated as one without a run


def _plain(name: str) -> bool:
    """A name of a file directly in the folder, not one of the run folder's own."""
    return bool(name) and name not in (".", "..", MANIFEST, NEW, OLD, LOCK) and "/" not in name and "\\" not in name


def _entry(out: Path, name: str) -> Path:
    """``out/name`` for a plain name (``read_manifest`` gives no other)."""
    if not _plain(name):
        raise RuntimeError(f"run folder {out}: a manifest entry {name!r} that read_manifest should have refused")
    return out / name


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        (path / "meta.json").unlink(missing_ok=True)   # a half-removed checkpoint never looks complete
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def recover(out) -> None:
    """Finish a swap a killed or failed ``commit`` left (``.gatedrnn-run.new``: steps 2-4), remove what is left of
    a finished one (``.gatedrnn-run.old``) and the temporaries of killed writes. Only for the folder's writer."""
    out = Path(out)
    if not out.is_dir():
        return
    new, old = out / NEW, out / OLD
    if new.is_dir():
        doc = read_manifest(new)
        if doc is not None:        # else steps 1-3 are done: only the folders are left
            _swap(out, new, old, doc)
        _remove(new)
    if old.exists() or old.is_symlink():
        _remove(old)
    remove_temporaries(out)
    fsync_dir(out)


def _swap(out: Path, new: Path, old: Path, doc: dict) -> None:
    """Steps 2 and 3 of the module docstring; each move is done only if not done yet, so it can be repeated."""
    pending = {n for n in doc["entries"] if (new / n).exists() or (new / n).is_symlink()}
    for name in dict.fromkeys(doc.get("replaces", []) + sorted(pending)):
        here = _entry(out, name)
        if (here.exists() or here.is_symlink()) and (name in pending or name not in doc["entries"]):
            old.mkdir(exist_ok=True)
            os.replace(here, old / name)
    for name in sorted(pending):
        os.replace(new / name, _entry(out, name))
    if (new / MANIFEST).exists():
        os.replace(new / MANIFEST, out / MANIFEST)
    fsync_dir(out)


def _contents(out: Path) -> set[str]:
    """The names in ``out`` that belong to a run or a user (not the lock, the manifest, the swap's folders)."""
    if not out.is_dir():
        return set()
    skip = {LOCK, MANIFEST, NEW, OLD}
    return {p.name for p in out.iterdir() if p.name not in skip}


class RunFolder:
    """The run being written into ``out`` (see the module docstring); made by ``open_run``."""

    def __init__(self, out: Path, command: str, replaces: list, previous: dict | None):
        self.out, self.command, self.replaces, self.previous = out, command, replaces, previous
        self.outside: list[str] = []
        self._stage: Path | None = None

    @property
    def stage(self) -> Path:
        """The temporary folder the run's files are written into (made when first asked for)."""
        if self._stage is None:
            self.out.mkdir(parents=True, exist_ok=True)
            self._stage = make_temporary_dir(self.out / STAGE)
        return self._stage

    def path(self, name: str) -> Path:
        """Where the writer of the output ``name`` writes it now (inside the temporary folder)."""
        return self.stage / name

    def final(self, name: str) -> Path:
        """Where the output ``name`` is once the run is committed (for messages and the files that name it)."""
        return self.out / name

    def written_before(self) -> set[Path]:
        """The files the earlier run of this command wrote, in the folder and outside it (``--figure``)."""
        doc = self.previous or {}
        return {self.out / n for n in doc.get("entries", [])} | {Path(p) for p in doc.get("outside", [])}

    def add_outside(self, path) -> None:
        """Record a file this run writes outside the folder (the next run may write over it)."""
        self.outside.append(os.path.abspath(path))

    def write_json(self, name: str, doc, cause: str = "") -> Path:
        """``doc`` as JSON into the run, refused (one line naming where and ``cause``) when a number is not finite."""
        check_finite(self.final(name), doc, cause)
        write_text_atomic(self.path(name), json.dumps(doc, indent=1, allow_nan=False) + "\n")
        return self.final(name)

    def write_csv(self, name: str, header: list, rows, cause: str = "") -> Path:
        """A CSV of ``rows`` (texts, and numbers written with 6 significant digits), refused when one is not finite."""
        lines = [",".join(header)]
        for k, row in enumerate(rows, start=1):
            cells = []
            for col, v in zip(header, row):
                if isinstance(v, str):
                    cells.append(v)
                    continue
                if not math.isfinite(v):
                    refuse_nonfinite(self.final(name), v, f"row {k}, column {col}", cause)
                cells.append(f"{v:.6g}")
            lines.append(",".join(cells))
        write_text_atomic(self.path(name), "\n".join(lines) + "\n")
        return self.final(name)

    def commit(self) -> None:
        """Swap the written run in (steps 1-4 of the module docstring), with SIGINT and SIGTERM held off."""
        stage, entries = self.stage, sorted(p.name for p in self.stage.iterdir())
        doc = {"format": FORMAT, "version": 1, "command": self.command, "entries": entries,
               "outside": self.outside, "replaces": sorted(set(self.replaces) - set(entries))}
        write_text_atomic(stage / MANIFEST, json.dumps(doc, indent=1) + "\n")
        fsync_dir(stage)
        with _signals_held():
            try:
                os.replace(stage, self.out / NEW)
                self._stage = None
                recover(self.out)
            except BaseException:     # finish the swap (past step 1) or remove the temporary folder, if the disk lets us
                if not stage.exists():
                    self._stage = None
                _finish_quietly(self.out)
                raise

    def discard(self) -> None:
        """Remove the temporary folder of a run that failed (the earlier run is untouched)."""
        if self._stage is not None and self._stage.exists():
            shutil.rmtree(self._stage, ignore_errors=True)
        self._stage = None


def _finish_quietly(out: Path) -> None:
    try:
        recover(out)
    except OSError:                # the disk fails again: the next command on the folder finishes it
        pass


@contextmanager
def _signals_held():
    """Hold SIGINT, SIGTERM and SIGHUP off while the block runs; one that arrived acts when it ends."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []
    before = {s: signal.signal(s, lambda signum, frame: got.append(signum)) for s in _DEFERRED}
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)
        if got:
            signal.raise_signal(got[0])


def known_name(name: str, patterns) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _top_name(out: Path, path) -> str | None:
    """The name in ``out`` that ``path`` is or lies in (None when it is not in ``out``)."""
    p, o = Path(os.path.realpath(path)), Path(os.path.realpath(out))
    return p.relative_to(o).parts[0] if o in p.parents else None


@contextmanager
def open_run(out, command: str, *, known=(), overwrite: bool = False, inputs=()):
    """Check ``out`` for ``command`` (``gatedrnn forecast``...), yield its ``RunFolder``, commit it when the block
    ends without an error (else discard it: the earlier run stays). ``known``: the name patterns of the command's
    outputs, which ``overwrite`` replaces in a folder of an earlier version that has no manifest. ``inputs``: the
    files the command reads, refused where the new run would replace them."""
    out = check_out_folder(out)
    recover(out)
    previous = read_manifest(out)
    earlier = set(previous["entries"]) if previous is not None else set()
    foreign = sorted(_contents(out) - earlier)
    if previous is not None and previous["command"] != command and not overwrite:
        raise UserError(f"--out {out}: expected an empty folder or an earlier {command} run, got a "
                        f"{previous['command']} run; pass --overwrite to replace it, or choose another --out")
    if foreign and not overwrite:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise UserError(f"--out {out}: expected an empty folder or an earlier {command} run, got files this command "
                        f"did not write ({shown}); pass --overwrite to replace its own outputs there (other files "
                        f"are kept), or choose another --out")
    replaces = sorted(earlier | {n for n in foreign if known_name(n, known)})
    for given in inputs:
        top = _top_name(out, given) if given is not None else None
        if top is not None and (top in replaces or known_name(top, known)):
            raise UserError(f"--out {out}: expected a folder where the run replaces none of its inputs, got the "
                            f"input {given} in its {top}; choose another --out")
    run = RunFolder(out, command, replaces, previous if previous is not None and previous["command"] == command else None)
    try:
        yield run
        run.commit()
    finally:
        run.discard()


def _nonfinite(doc, where: str = ""):
    """(where, value) of the first number in ``doc`` that is not finite, or None."""
    if isinstance(doc, float) and not math.isfinite(doc):
        return where or "the top", doc
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, (list, tuple)) else ()
    for k, v in items:
        found = _nonfinite(v, f"{where}[{k!r}]")
        if found is not None:
            return found
    return None


def check_finite(path, doc, cause: str = "") -> None:
    """Refuse (``refuse_nonfinite``) a JSON-able ``doc`` meant for ``path`` that holds a number that is not finite."""
    where = _nonfinite(doc)
    if where is not None:
        refuse_nonfinite(path, where[1], where[0], cause)


def refuse_nonfinite(path, value, where: str, cause: str = "") -> None:
    """The one-line error of an output that would hold a number that is not finite; nothing is written."""
    raise UserError(f"{path}: expected finite numbers, got {value} at {where}"
                    f"{f' ({cause})' if cause else ''}; the run was not written")

