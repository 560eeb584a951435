import os
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
