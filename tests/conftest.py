import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def data_dir():
    """The directory with the corpora (``GATEDRNN_DATA``, else ../shared/data beside the checkout)."""
    d = Path(os.environ.get("GATEDRNN_DATA", SHARED_DATA))
    if not (d / "ptb" / "ptb.train.txt").exists():
        pytest.skip(f"Penn Treebank not found under {d}: set GATEDRNN_DATA to the folder holding ptb/")
    return d


# -- a test run leaves the checkout as it found it ----------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[1]
CLEAN_CHECK = "GATEDRNN_ALLOW_UNTRACKED"   # =1: no check (several people running tests in one shared checkout)
_BEFORE = pytest.StashKey["set | None"]()


def untracked_files(root: Path = ROOT) -> set | None:
    """The files ``git status`` calls untracked (not ignored) under ``root``; None outside a git checkout or
    without git."""
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=root,
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return {line[3:] for line in out.stdout.splitlines() if line.startswith("?? ")}


def pytest_sessionstart(session):
    session.config.stash[_BEFORE] = None if os.environ.get(CLEAN_CHECK) == "1" else untracked_files()


def pytest_sessionfinish(session, exitstatus):
    """Fail the run when it left files that git does not ignore in the checkout: a test writes into a temporary
    folder (``tmp_path``), or its output path is git-ignored."""
    before = session.config.stash.get(_BEFORE, None)
    if before is None or hasattr(session.config, "workerinput"):     # outside git, or an xdist worker
        return
    left = sorted((untracked_files() or set()) - before)
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = [f"the test run left {len(left)} untracked file(s) in the checkout (write into tmp_path, or have git "
                 f"ignore the path; {CLEAN_CHECK}=1 skips this check):", *(f"  {p}" for p in left[:20])]
        for line in lines:
            if reporter is not None:
                reporter.write_line(line, red=True)
            else:
                print(line)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

