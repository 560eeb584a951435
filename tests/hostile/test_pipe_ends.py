"""Issue 20 follow-ups at the ends of a pipe: `gatedrnn stream ... | head -1` stops quietly when its reader goes
away (exit status 141, as a program killed by SIGPIPE, nothing on stderr); stdin numbers follow the one grammar of
numbers in files (no `1_000`, no non-ASCII digits); ``to_numpy`` reads pandas objects as their values."""

import io
import os
import subprocess
import sys

import numpy as np
import pytest

from gatedrnn.backend import to_numpy
from gatedrnn.deploy.pipe import stream_checkpoint
from gatedrnn.errors import UserError
from gatedrnn.models import SequenceRegressor
from gatedrnn.train.checkpoint import save_checkpoint


@pytest.fixture
def ck(tmp_path):
    return save_checkpoint(tmp_path / "ck", SequenceRegressor(2, 3, 1, seed=0))


def test_a_reader_that_goes_away_ends_the_stream_quietly(ck, tmp_path):
    lines = "".join(f"{i % 7 * 0.1:.1f} {i % 5 * 0.2:.1f}\n" for i in range(200_000))
    (tmp_path / "in.txt").write_text(lines)
    cmd = f"'{sys.executable}' -m gatedrnn.cli stream '{ck}' < '{tmp_path / 'in.txt'}' | head -1; echo \"${{PIPESTATUS[0]}}\""
    done = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=120,
                          env={"OPENBLAS_NUM_THREADS": "1", "PATH": "/usr/bin:/bin",
                               **{k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ}})
    out = done.stdout.splitlines()
    assert len(out) == 2 and out[1] == "141", done
    assert done.stderr == "", done.stderr


@pytest.mark.parametrize("bad", ["1_000 2", "\u0661\u0662 3", "\uff11 2", "0x10 1"])
def test_stdin_numbers_are_plain_decimals(ck, bad):
    with pytest.raises(UserError, match="stdin line 1: expected numbers"):
        stream_checkpoint(ck, stdin=io.StringIO(bad + "\n"), stdout=io.StringIO())


def test_to_numpy_reads_pandas_objects_as_their_values():
    pd = pytest.importorskip("pandas")
    assert np.array_equal(to_numpy(pd.Series([1.0, 2.0])), [1.0, 2.0])
    assert to_numpy(pd.DataFrame({"a": [1, 2], "b": [3, 4]})).shape == (2, 2)
