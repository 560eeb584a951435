"""The notebooks of docs/notebooks run top to bottom (so they cannot rot), each in under two minutes, and are
committed with their outputs (figures and tables read on a code host without running anything).

Each notebook runs in a fresh kernel (``nbclient``, what ``nbmake`` runs too) with a temporary folder as its working
directory, so that nothing it writes lands in the checkout. Needs the test extra (``nbclient``, ``ipykernel``).
"""

import os
import sys
import time
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "docs" / "notebooks").glob("*.ipynb"))
LIMIT_SECONDS = 120

pytestmark = pytest.mark.slow


def test_there_are_notebooks():
    assert [p.name[:3] for p in NOTEBOOKS][:1] == ["01_"], NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_notebook_is_committed_with_its_outputs(path):
    nbformat = pytest.importorskip("nbformat", reason="the test extra is not installed (pip install -e '.[test]')")
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert outputs, f"{path.name}: committed without outputs"
    assert not [o for o in outputs if o.output_type == "error"], f"{path.name}: committed with an error output"
    assert any("image/png" in o.get("data", {}) for o in outputs), f"{path.name}: no figure"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_notebook_runs_top_to_bottom_in_under_two_minutes(path, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat", reason="the test extra is not installed (pip install -e '.[test]')")
    nbclient = pytest.importorskip("nbclient", reason="the test extra is not installed (pip install -e '.[test]')")
    pytest.importorskip("ipykernel", reason="the test extra is not installed (pip install -e '.[test]')")
    # the kernel is started as "python -m ipykernel_launcher": this interpreter's, whatever PATH says
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("MPLBACKEND", "agg")
    # one BLAS thread, as the CLI tests: a multi-threaded OpenBLAS spinning against other jobs made the PTB notebook's
    # small per-step GEMMs many times slower on a busy 2-core machine (past the two minutes)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    shared = Path(__file__).resolve().parents[3] / "shared" / "data"   # as the data_dir fixture (conftest.py)
    if "GATEDRNN_DATA" in os.environ:                                  # the kernel runs in another folder
        monkeypatch.setenv("GATEDRNN_DATA", str(Path(os.environ["GATEDRNN_DATA"]).resolve()))
    elif shared.is_dir():
        monkeypatch.setenv("GATEDRNN_DATA", str(shared))   # the LM notebook trains on PTB, else on generated text
    nb = nbformat.read(path, as_version=4)
    t0 = time.perf_counter()
    nbclient.NotebookClient(nb, timeout=LIMIT_SECONDS, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    seconds = time.perf_counter() - t0
    assert seconds < LIMIT_SECONDS, f"{path.name} took {seconds:.0f} s"
