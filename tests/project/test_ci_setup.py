"""The newcomer's second command (issue 28 item 6): the command .ci/run runs (README's second command:
tests/models/test_api.py checks that they are one) takes PyTorch from its CPU wheels (no CUDA libraries for a NumPy
library's suite), and under CI every optional test dependency is there, so that no PyTorch parity test (nor any
other) is skipped for a missing extra."""

import importlib
import os
import re
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:                  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[2]
CPU_WHEELS = "--extra-index-url https://download.pytorch.org/whl/cpu"


def _ci_command() -> str:
    lines = [ln for ln in (ROOT / ".ci" / "run").read_text().splitlines() if ln.startswith("python3 -m venv")]
    assert len(lines) == 1, f".ci/run: expected one install-and-test line, got {lines}"
    return lines[0]


def test_ci_runs_one_lean_command_the_developers_guide_shows():
    cmd = _ci_command()
    assert CPU_WHEELS in cmd and '-e ".[test]"' in cmd and cmd.endswith("&& python -m pytest")
    assert cmd in (ROOT / "DEVELOPERS.md").read_text()


def test_the_test_extra_pins_the_pytorch_release_of_the_parity_tests():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    torch = [r for r in extras["test"] if re.match(r"torch\b", r)]
    assert torch == ["torch==2.13.0"], torch


OPTIONAL = ["torch", "onnx", "onnxruntime", "statsmodels", "pandas", "matplotlib", "tensorboardX", "hypothesis",
            "nbclient", "nbformat", "ipykernel", "mypy", "mpi4py", "cffi", "threadpoolctl"]


@pytest.mark.skipif(os.environ.get("CI") != "true", reason="CI only (CI=true): a developer may run without extras")
@pytest.mark.parametrize("module", OPTIONAL)
def test_ci_has_every_test_extra_so_nothing_is_skipped_for_one(module):
    importlib.import_module(module)


@pytest.mark.skipif(os.environ.get("CI") != "true", reason="CI only (CI=true)")
def test_ci_runs_the_parity_tests_on_the_cpu_build():
    torch = importlib.import_module("torch")
    assert torch.__version__.split("+")[0] == "2.13.0" and torch.version.cuda is None, torch.__version__
