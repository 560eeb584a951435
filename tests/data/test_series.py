"""data/series.py: the bundled series, CSV reading and its one-line errors, and the split."""

import numpy as np
import pytest

from gatedrnn.data.series import load_series, read_csv, split
from gatedrnn.errors import UserError


def write(tmp_path, text, name="s.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_sunspots_and_co2_ship_with_statsmodels():
    pytest.importorskip("statsmodels", reason="the bundled series ship inside statsmodels (the forecast extra)")
    s = load_series("sunspots")
    assert len(s) == 309 and s.period == 11 and s.holdout == 30 and not s.seasonal
    assert s.time[0] == 1700 and s.time[-1] == 2008
    c = load_series("co2")
    assert len(c) == 2284 and c.period == 52 and c.holdout == 104 and c.seasonal
    assert np.isfinite(c.values).all() and "59 missing weeks" in c.note
    assert 1958 < c.time[0] < 1959 and 2001 < c.time[-1] < 2002


def test_csv_picks_the_only_numeric_column_or_the_named_one(tmp_path):
    p = write(tmp_path, "date,temp,hum\n2020-01-01,1.5,3\n2020-01-02,2.5,4\n2020-01-03,3.5,5\n")
    with pytest.raises(UserError, match=r"expected --column NAME to pick one of the columns \['date', 'temp', 'hum'\]"):
        read_csv(p)
    s = read_csv(p, "hum")
    assert s.values.tolist() == [3, 4, 5] and s.name == "s:hum" and s.period is None
    p2 = write(tmp_path, "date,temp\n2020-01-01,1.5\n2020-01-02,2.5\n", "two.csv")
    assert read_csv(p2).values.tolist() == [1.5, 2.5]
    p3 = write(tmp_path, "1\n2\n3\n", "bare.csv")                 # no header: columns are named 0, 1, ...
    assert read_csv(p3).values.tolist() == [1, 2, 3]
    assert read_csv(p3, "0", period=2).seasonal


@pytest.mark.parametrize("body, column, message", [
    ("v\n1\n\n2\n\n", None, r"column 'v': expected no gaps, got missing values on line 3 \(use --fill interpolate\)"),
    ("t,v\n1,1\n2\n3,\n4,4\n", "v", r"expected no gaps, got missing values on lines 3, 4 \(use --fill"),
    ("v\n1\nabc\n", None, r"expected a number on every row, got 'abc' on line 3"),
    ("v\n1\nnan\n2\n", None, r"expected no gaps, got missing values on line 3"),
    ("v\n1\n-inf\n", None, r"expected a finite number on every row, got '-inf' on line 3"),
    ("v\n", None, r"expected numeric rows after the header, got none"),
    ("\n\n", None, r"got an empty file"),
])
def test_bad_csv_is_one_clear_error(tmp_path, body, column, message):
    with pytest.raises(UserError, match=message) as info:
        read_csv(write(tmp_path, body), column)
    assert "\n" not in str(info.value)


def test_unknown_column_and_missing_file(tmp_path):
    p = write(tmp_path, "a,b\n1,2\n")
    with pytest.raises(UserError, match=r"expected --column to be one of \['a', 'b'\], got 'c'"):
        read_csv(p, "c")
    with pytest.raises(FileNotFoundError, match="expected sunspots, co2 or a CSV file"):
        load_series(str(tmp_path / "nope.csv"))
    with pytest.raises(UserError, match="only with a CSV file"):
        load_series("sunspots", column="x")
    with pytest.raises(UserError, match="series period: expected an integer >= 2 or None, got 1"):
        read_csv(p, "a", period=1)
    bad = tmp_path / "latin1.csv"
    bad.write_bytes(b"v\n1\n\xe9\n")
    with pytest.raises(UserError, match="expected UTF-8 text, got undecodable bytes"):
        read_csv(bad)


def test_split_refuses_a_series_too_short():
    train, test = split(np.arange(10.0), 3, min_train=5)
    assert train.tolist() == list(range(7)) and test.tolist() == [7, 8, 9]
    with pytest.raises(UserError, match=r"too short, expected at least 11 values \(8 to train on \+ 3 held out\), got 10"):
        split(np.arange(10.0), 3, min_train=8)



