"""A test run leaves the checkout as it found it (issue 28 item 6): tests/conftest.py compares ``git status
--porcelain --untracked-files=all`` at the start and the end of the session and fails the run, naming the files,
when something that git does not ignore was left behind. Checked here on a throwaway repository with a copy of
the conftest, run by pytest in a subprocess."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"


def _repo(tmp_path, body: str) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path / "repo"
    (root / "tests").mkdir(parents=True)
    shutil.copy(CONFTEST, root / "tests" / "conftest.py")
    (root / "tests" / "test_it.py").write_text(body)
    (root / ".gitignore").write_text("__pycache__/\n.pytest_cache/\nignored/\n")
    for cmd in (["init", "-q"], ["add", "."], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "x"]):
        subprocess.run(["git", *cmd], cwd=root, check=True, capture_output=True)
    return root


def _pytest(root: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "GATEDRNN_ALLOW_UNTRACKED"}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=root,
                          env=env, capture_output=True, text=True, timeout=300)


def test_a_run_that_leaves_an_untracked_file_fails_and_names_it(tmp_path):
    root = _repo(tmp_path, "from pathlib import Path\n\ndef test_writes():\n"
                           "    Path(__file__).parents[1].joinpath('out', 'run.json').parent.mkdir()\n"
                           "    Path(__file__).parents[1].joinpath('out', 'run.json').write_text('{}')\n")
    r = _pytest(root)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "1 passed" in r.stdout and "left 1 untracked file(s)" in r.stdout and "out/run.json" in r.stdout


def test_a_run_that_writes_into_tmp_path_or_an_ignored_path_passes(tmp_path):
    root = _repo(tmp_path, "from pathlib import Path\n\ndef test_writes(tmp_path):\n"
                           "    (tmp_path / 'run.json').write_text('{}')\n"
                           "    ignored = Path(__file__).parents[1] / 'ignored'\n"
                           "    ignored.mkdir()\n"
                           "    (ignored / 'run.json').write_text('{}')\n")
    r = _pytest(root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "untracked" not in r.stdout
