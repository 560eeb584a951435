"""Hostile inputs for series, forecasts and streams (issue 11, items 6, 7 and 10), with a property-based layer
over CSV cells and stream lines: each input either works or ends in one UserError line (exit status 2) with
nothing written, no traceback, and no NaN printed after a rejected value."""

import contextlib
import csv
import hashlib
import io
import math
import os
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gatedrnn.cli import main
from gatedrnn.data.series import load_series, read_csv
from gatedrnn.errors import UserError
from gatedrnn.forecast.metrics import rmse
from gatedrnn.models import LanguageModel, SequenceRegressor
from gatedrnn.train.checkpoint import save_checkpoint

FAST = settings(max_examples=int(os.environ.get("HOSTILE_EXAMPLES", 30)), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def wave(n=60):
    t = np.arange(n)
    return 50 + 10 * np.sin(t / 3) + 0.05 * t


def write_csv(path: Path, header, rows) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        if header is not None:
            w.writerow(header)
        w.writerows(rows)
    return path


def tree_hash(root: Path) -> str:
    """A hash of every file name and content under ``root``."""
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        h.update(str(p.relative_to(root)).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def cli(argv, stdin_text=None):
    """Run the CLI in-process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.ExitStack() as stack:
        if stdin_text is not None:
            stack.enter_context(mock.patch("sys.stdin", io.StringIO(stdin_text)))
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


def assert_one_error_line(rc, err, command):
    assert rc == 2, err
    assert err.count("\n") == 1 and err.startswith(f"gatedrnn {command}: error: "), err
    assert "Traceback" not in err


# -- fixtures: tiny checkpoints ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("checkpoints")
    lm = save_checkpoint(root / "lm", LanguageModel(12, 4, 6, 1, seed=0))
    reg = save_checkpoint(root / "regressor", SequenceRegressor(2, 4, 3, seed=0))
    return {"lm": Path(lm), "regressor": Path(reg)}


# -- item 6: huge finite values --------------------------------------------------------------------------------



def test_plain_regressor_stream_refuses_values_that_overflow_its_float32(checkpoints):
    rc, out, err = cli(["stream", str(checkpoints["regressor"])], "1 2\n3 1e200\n4 5\n")
    assert_one_error_line(rc, err, "stream")
    assert "stdin line 2:" in err and len(out.splitlines()) == 1 and "nan" not in out



@pytest.mark.parametrize("where", [5, 55])      # in the training part, in the held-out tail
def test_forecast_refuses_a_huge_cell_and_writes_nothing(tmp_path, where):
    v = [f"{x:.4f}" for x in wave(70)]
    v[where] = "1e308"
    p = write_csv(tmp_path / "big.csv", ["value"], [[x] for x in v])
    before = tree_hash(tmp_path)
    rc, _, err = cli(["forecast", "--dataset", str(p), "--max-steps", "2", "--no-arima", "--no-plot",
                      "--window", "8", "--out", str(tmp_path / "run")])
    assert_one_error_line(rc, err, "forecast")
    assert not (tmp_path / "run").exists() and tree_hash(tmp_path) == before


def test_rmse_of_finite_errors_is_finite():
    assert rmse([1e200, 0.0], [0.0, 0.0]) == pytest.approx(1e200 / math.sqrt(2))
    assert rmse([1.0, 2.0], [0.0, 0.0]) == math.sqrt(2.5)


# -- item 7: a bad cell in the target column -------------------------------------------------------------------
def test_a_bad_cell_in_the_target_column_never_picks_another_column(tmp_path):
    v = [f"{x:.3f}" for x in wave(40)]
    v[20] = "abc"
    p = write_csv(tmp_path / "t.csv", ["t", "value"], [[i, x] for i, x in enumerate(v)])
    with pytest.raises(UserError, match=r"several numeric columns; 'value' has 'abc' on line 22$"):
        read_csv(p)
    with pytest.raises(UserError, match=r"column 'value': expected a number on every row, got 'abc' on line 22$"):
        read_csv(p, "value")
    d = write_csv(tmp_path / "d.csv", ["date", "value"], [[f"2020-01-{i + 1:02d}", x] for i, x in enumerate(v)])
    with pytest.raises(UserError, match=r"column 'value': expected a number on every row, got 'abc' on line 22$"):
        load_series(str(d))
    mostly_bad = write_csv(tmp_path / "m.csv", ["date", "value"],
                           [[f"day {i}", x if i < 3 else "abc"] for i, x in enumerate(v)])
    with pytest.raises(UserError, match=r"column 'value': expected a number on every row, got 'abc' on line 5$"):
        read_csv(mostly_bad)


def test_forecast_with_a_bad_target_cell_is_one_line(tmp_path):
    v = [f"{x:.3f}" for x in wave(60)]
    v[30] = "abc"
    p = write_csv(tmp_path / "t.csv", ["t", "value"], [[i, x] for i, x in enumerate(v)])
    for extra in ([], ["--column", "value"]):
        rc, _, err = cli(["forecast", "--dataset", str(p), "--max-steps", "2", "--no-arima", "--no-plot",
                          "--out", str(tmp_path / "run")] + extra)
        assert_one_error_line(rc, err, "forecast")
        assert "'abc' on line 32" in err and not (tmp_path / "run").exists()


# -- item 10: a language model fed what is not a token id ------------------------------------------------------
@pytest.mark.parametrize("line", ["inf", "1e400", "-inf", "nan", "3.5", "-1", "12", "1e300"])
def test_language_model_stream_refuses_what_is_not_a_token_id(checkpoints, line):
    rc, out, err = cli(["stream", str(checkpoints["lm"])], f"3\n{line}\n4\n")
    assert_one_error_line(rc, err, "stream")
    assert "stdin line 2: expected integer token ids in [0, 12)" in err and len(out.splitlines()) == 1


def test_stream_refuses_text_that_is_not_utf8(checkpoints, tmp_path):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "gatedrnn.cli", "stream", str(checkpoints["lm"])],
                          input=b"3\n\xff\xfe\n", capture_output=True, timeout=120)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("gatedrnn stream: error: stdin line 2: expected ")      # UTF-8 text, or numbers
    assert proc.stdout.decode().split() == [proc.stdout.decode().split()[0]]


# -- properties: CSV cells --------------------------------------------------------------------------------------
HUGE = ["1e200", "-1e308", "1e308", "1.7e308", "1e39", "-1e39", "1e-320", "1e400", "1e160"]
NANS = ["nan", "NaN", "-nan", "inf", "-Infinity", "+inf"]
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=6)
CELL = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False).map(repr),
    st.integers(-1000, 1000).map(str),
    st.sampled_from(["", " "]),
    TEXT,
    st.sampled_from(HUGE),
    st.sampled_from(NANS),
)
NUMBER = st.floats(-1e3, 1e3, allow_nan=False).map(lambda v: f"{v:.6g}")


def column(n):
    """``n`` numbers with up to two hostile cells put in."""
    def put(args):
        cells, bad = args
        for k, cell in bad:
            cells[k % n] = cell
        return cells

    return st.tuples(st.lists(NUMBER, min_size=n, max_size=n),
                     st.lists(st.tuples(st.integers(0, n - 1), CELL), max_size=2)).map(put)


def _finite_number(cell: str) -> bool:
    try:
        return math.isfinite(float(cell))
    except ValueError:
        return False


@FAST
@given(data=st.data(), ncols=st.integers(1, 3), nrows=st.integers(1, 12), named=st.booleans())
def test_property_read_csv_returns_clean_values_or_one_line(tmp_path_factory, data, ncols, nrows, named):
    labels = st.lists(st.sampled_from(["day", "x", "2020-01-01", "a b"]), min_size=nrows, max_size=nrows)
    cols = [data.draw(column(nrows) if i == 0 or data.draw(st.booleans()) else labels) for i in range(ncols)]
    rows = [list(r) for r in zip(*cols)]
    path = write_csv(tmp_path_factory.mktemp("csv") / "s.csv", [f"c{i}" for i in range(ncols)], rows)
    name = "c0" if named else None
    try:
        s = read_csv(path, name)
    except UserError as exc:
        assert "\n" not in str(exc)
        event("refused")
        return
    event("read")
    while rows and not any(c.strip() for c in rows[-1]):     # blank lines at the end are not values
        rows.pop()
    assert s.values.dtype == np.float64 and np.isfinite(s.values).all() and len(s) == len(rows)
    picked = int(s.name.split(":c")[-1])
    assert all(_finite_number(r[picked].strip()) for r in rows)
    if name is None:            # no other column is numeric throughout: the pick was not a guess between two
        others = [i for i in range(ncols) if i != picked]
        assert not any(all(_finite_number(r[i].strip()) for r in rows) for i in others)


@FAST
@given(injections=st.lists(st.tuples(st.integers(0, 49), CELL), max_size=3), extra_column=st.booleans(),
       existing=st.booleans())
def test_property_forecast_works_or_writes_nothing(tmp_path_factory, injections, extra_column, existing):
    cells = [f"{x:.4f}" for x in wave(50)]
    for k, cell in injections:
        cells[k] = cell
    root = tmp_path_factory.mktemp("fc")
    if existing:                                  # a run folder from before: a refused run leaves it as it was
        (root / "run").mkdir()
        (root / "run" / "notes.txt").write_text("an earlier run\n")
    rows = [[f"day {i}", c] for i, c in enumerate(cells)] if extra_column else [[c] for c in cells]
    p = write_csv(root / "s.csv", ["date", "value"] if extra_column else ["value"], rows)
    before = tree_hash(root)
    rc, out, err = cli(["forecast", "--dataset", str(p), "--max-steps", "2", "--no-arima", "--no-plot",
                        "--window", "6", "--hidden-size", "4", "--out", str(root / "run")])
    event(f"exit status {rc}")
    if rc == 0:
        import json

        assert err == "" and (root / "run" / "model" / "meta.json").is_file()
        results = json.loads((root / "run" / "results.json").read_text())
        assert all(math.isfinite(r["rmse"]) and math.isfinite(r["mae"]) for r in results["rows"])
        last = json.loads((root / "run" / "model" / "meta.json").read_text())["forecaster"]["tails"]
        assert all(math.isfinite(v) for row in last for v in row)
    else:
        assert_one_error_line(rc, err, "forecast")
        assert tree_hash(root) == before and (root / "run").exists() == existing


# -- properties: stream lines -----------------------------------------------------------------------------------
NUMBER_TEXT = st.one_of(
    st.floats(-200, 200, allow_nan=False).map(lambda v: f"{v:.6g}"),
    st.integers(-3, 15).map(str),
    st.sampled_from(HUGE + NANS),
)
GOOD = {"forecaster": st.floats(0, 100).map(lambda v: f"{v:.4g}"), "lm": st.integers(0, 11).map(str),
        "regressor": st.lists(st.floats(-1e3, 1e3).map(lambda v: f"{v:.6g}"), min_size=2, max_size=2).map(", ".join)}
BAD = st.one_of(
    NUMBER_TEXT,
    st.lists(NUMBER_TEXT, min_size=2, max_size=3).map(", ".join),
    TEXT.filter(lambda t: "\n" not in t and "\r" not in t),
    st.sampled_from(["", "# a comment", "  "]),
)


def lines_for(kind):
    """Stream lines: good values for ``kind`` (one or several a line) with up to two lines of anything put in."""
    good = GOOD[kind] if kind == "regressor" else \
        st.one_of(GOOD[kind], st.lists(GOOD[kind], min_size=2, max_size=3).map(" ".join))

    def put(args):
        lines, bad = args
        for k, line in bad:
            lines.insert(k % (len(lines) + 1), line)
        return lines

    return st.tuples(st.lists(good, min_size=1, max_size=8),
                     st.lists(st.tuples(st.integers(0, 10), BAD), max_size=2)).map(put)


def _stream_lines(kind, checkpoints, lines):
    rc, out, err = cli(["stream", str(checkpoints[kind])], "".join(line + "\n" for line in lines))
    assert rc in (0, 2), err
    event(f"{kind}: exit status {rc}, {len(out.splitlines())} predictions")
    if rc == 2:
        assert_one_error_line(rc, err, "stream")
        assert err.startswith("gatedrnn stream: error: stdin line ")
    else:
        assert err == ""
    return rc, out.splitlines()


def _values(lines):
    n = 0
    for line in lines:
        body = line.split("#", 1)[0].strip()
        if body:
            n += len(body.replace(",", " ").split())
    return n



@FAST
@given(lines=lines_for("lm"))
def test_property_language_model_stream_predicts_each_id_or_stops_at_one_line(checkpoints, lines):
    rc, out = _stream_lines("lm", checkpoints, lines)
    if rc == 0:
        assert len(out) == _values(lines)
    assert all(0 <= int(y.split()[0]) < 12 for y in out)


@FAST
@given(lines=lines_for("regressor"))
def test_property_regressor_stream_predicts_each_line_or_stops_at_one_line(checkpoints, lines):
    rc, out = _stream_lines("regressor", checkpoints, lines)
    if rc == 0:
        assert len(out) == sum(1 for line in lines if line.split("#", 1)[0].strip())
    assert all(len(y.split()) == 3 and all(math.isfinite(float(v)) for v in y.split()) for y in out)


