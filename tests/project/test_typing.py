"""``mypy`` is clean on the files that ``[tool.mypy]`` in pyproject.toml names (``src/``), as CI runs it.

A cold run (its cache in a fresh temporary folder) takes about 15 s on 2 loaded cores.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed (it is in the [test] extra)")
def test_mypy_is_clean(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy_cache")], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"mypy failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}"
    assert "Success" in proc.stdout, proc.stdout
