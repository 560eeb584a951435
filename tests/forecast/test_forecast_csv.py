"""Real CSV files for `gatedrnn forecast`: `;` and `,` separators, a date column (the future's timestamps, the plots'
axis), gaps refused with the lines named or interpolated (--fill), and files without dates (row numbers)."""

import importlib.util
import sys

import numpy as np
import pytest

from gatedrnn.cli import main
from gatedrnn.data.series import read_csv
from gatedrnn.errors import MissingDependency, UserError

HAS_MPL = importlib.util.find_spec("matplotlib") is not None


def values(n, period=12):
    t = np.arange(n)
    return 10 + 3 * np.sin(2 * np.pi * t / period) + 0.02 * t


def write(tmp_path, text, name="s.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def monthly(tmp_path, n=48, sep=";", skip=()):
    """Monthly sales from 2015-01; ``;`` files with a decimal comma; rows in ``skip`` left out."""
    rows = [f"{2015 + k // 12}-{k % 12 + 1:02d}-01{sep}{v:.4f}" for k, v in enumerate(values(n)) if k not in skip]
    if sep == ";":
        rows = [r.replace(".", ",") for r in rows]
    return write(tmp_path, f"Month{sep}sales\n" + "\n".join(rows) + "\n")


def future_rows(out):
    return [r.split(",") for r in (out / "future.csv").read_text().splitlines()]


pytestmark = pytest.mark.skipif(importlib.util.find_spec("pandas") is None, reason="dates are read with pandas")


@pytest.mark.parametrize("sep", [";", ","])
def test_predict_continues_the_dates_of_a_monthly_file(tmp_path, sep, tiny):
    p = monthly(tmp_path, sep=sep)
    assert read_csv(p).values[1] == pytest.approx(values(2)[1], abs=1e-4)      # 1,5 is 1.5 in a ; file
    rc = main(["forecast", "--dataset", str(p), "--season", "12", "--predict", "3", *tiny.forecast_csv, "--out", str(tmp_path / "o")])
    rows = future_rows(tmp_path / "o")
    assert rc == 0 and rows[0] == ["step", "Month", "y_hat", "lo-80", "hi-80", "lo-95", "hi-95"]
    assert [r[1] for r in rows[1:]] == ["2019-01-01", "2019-02-01", "2019-03-01"]
    assert (tmp_path / "o" / "future.png").exists() == HAS_MPL


def test_hourly_timestamps_keep_their_time_of_day(tmp_path, tiny):
    pd = pytest.importorskip("pandas")
    ds = pd.date_range("2024-03-01", periods=60, freq="h")
    p = write(tmp_path, "time,load\n" + "".join(f"{d:%Y-%m-%d %H:%M},{v:.3f}\n" for d, v in zip(ds, values(60, 24))))
    rc = main(["forecast", "--dataset", str(p), "--predict", "2", "--no-plot", *tiny.forecast_csv, "--out", str(tmp_path / "o")])
    assert rc == 0 and [r[1] for r in future_rows(tmp_path / "o")[1:]] == ["2024-03-03T12:00:00", "2024-03-03T13:00:00"]
    assert not (tmp_path / "o" / "future.png").exists()


def test_a_gap_is_one_line_naming_the_lines_and_nothing_is_written(tmp_path, capsys, tiny):
    p = monthly(tmp_path, sep=",")
    text = p.read_text().splitlines()
    text[13] = text[13].split(",")[0] + ","                 # lines 14 and 15 of the file: empty and NaN cells
    text[14] = text[14].split(",")[0] + ",NaN"
    p.write_text("\n".join(text) + "\n")
    out = tmp_path / "o"
    rc = main(["forecast", "--dataset", str(p), "--predict", "3", *tiny.forecast_csv, "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and not out.exists() and "\n" not in err
    assert err.endswith("column 'sales': expected no gaps, got missing values on lines 14, 15 (use --fill interpolate)")
    q = monthly(tmp_path, sep=";", skip=(20,))                # a missing month
    assert main(["forecast", "--dataset", str(q), "--predict", "3", *tiny.forecast_csv, "--out", str(out)]) == 2 and not out.exists()
    assert "got missing timestamp 2016-09-01 (frequency MS) (use --fill interpolate)" in capsys.readouterr().err


def test_fill_interpolate_fills_cells_and_missing_timestamps(tmp_path, tiny):
    p = monthly(tmp_path, sep=";", skip=(20,))
    text = p.read_text().replace("2015-06-01;" + f"{values(6)[5]:.4f}".replace(".", ","), "2015-06-01;")
    p.write_text(text)
    s = read_csv(p, fill="interpolate")
    v = values(48)
    assert len(s) == 48 and s.freq == "MS" and "2 gaps filled by linear interpolation" in s.note
    assert s.values[5] == pytest.approx((v[4] + v[6]) / 2, abs=1e-4) and s.values[20] == pytest.approx((v[19] + v[21]) / 2, abs=1e-4)
    rc = main(["forecast", "--dataset", str(p), "--fill", "interpolate", "--predict", "2", "--no-plot", *tiny.forecast_csv,
               "--out", str(tmp_path / "o")])
    assert rc == 0 and [r[1] for r in future_rows(tmp_path / "o")[1:]] == ["2019-01-01", "2019-02-01"]
    end = write(tmp_path, "d,v\n2020-01-01,1\n2020-01-02,2\n2020-01-03,\n", "end.csv")
    with pytest.raises(UserError, match=r"expected a value before and after every gap to interpolate between, got "
                                        r"missing values on line 4 at the start or the end"):
        read_csv(end, fill="interpolate")


def test_a_file_without_dates_uses_row_numbers(tmp_path, tiny):
    p = write(tmp_path, "t;value\n" + "".join(f"{k};{v:.4f}\n" for k, v in enumerate(values(40))))
    s = read_csv(p, "value")
    assert s.dates is None and s.time_label == "row"
    rc = main(["forecast", "--dataset", str(p), "--column", "value", "--predict", "2", "--no-plot", *tiny.forecast_csv,
               "--out", str(tmp_path / "o")])
    rows = future_rows(tmp_path / "o")
    assert rc == 0 and rows[0][:2] == ["step", "row"] and [r[1] for r in rows[1:]] == ["40", "41"]


def test_date_columns_chosen_or_refused(tmp_path):
    two = write(tmp_path, "made,sold,v\n" + "".join(f"2020-01-0{k},2020-02-0{k},{k}\n" for k in range(1, 5)))
    with pytest.raises(UserError, match=r"expected --date-column NAME to pick one of the date columns \['made', 'sold'\]"):
        read_csv(two)
    s = read_csv(two, date_column="sold")
    assert s.time_label == "sold" and str(s.dates[0])[:10] == "2020-02-01" and s.freq == "D"
    years = write(tmp_path, "year,v\n" + "".join(f"{1990 + k},{k}\n" for k in range(5)), "years.csv")
    assert read_csv(years, "v").dates is None                      # numbers are values unless named
    assert str(read_csv(years, "v", date_column="year").dates[-1])[:4] == "1994"
    dup = write(tmp_path, "d,v\n2020-01-01,1\n2020-01-02,2\n2020-01-02,3\n", "dup.csv")
    with pytest.raises(UserError, match=r"column 'd': expected unique timestamps, got 2020-01-02 twice \(lines 3, 4\)"):
        read_csv(dup)
    back = write(tmp_path, "d,v\n2020-01-01,1\n2020-01-03,2\n2020-01-02,3\n", "back.csv")
    with pytest.raises(UserError, match=r"expected timestamps in increasing order, got 2020-01-02 on line 4 after 2020-01-03"):
        read_csv(back)
    bad = write(tmp_path, "d,v\n2020-01-01,1\nsoon,2\n", "bad.csv")
    with pytest.raises(UserError, match=r"expected a date in every cell of column 'd', got 'soon' on line 3"):
        read_csv(bad, "v", date_column="d")


def test_without_pandas_the_dates_are_not_read(tmp_path, monkeypatch):
    p = monthly(tmp_path, n=24, sep=",")
    monkeypatch.setitem(sys.modules, "pandas", None)            # import pandas -> ImportError
    s = read_csv(p)
    assert s.dates is None and "column 'Month' not read as dates: pandas is not installed" in s.note
    with pytest.raises(MissingDependency, match="needs pandas"):
        read_csv(p, date_column="Month")


def test_the_held_out_evaluation_plots_over_the_dates(tmp_path, tiny):
    p = monthly(tmp_path, sep=",")
    rc = main(["forecast", "--dataset", str(p), "--season", "12", "--holdout", "6", "--no-arima", *tiny.forecast_csv,
               "--out", str(tmp_path / "o")])
    assert rc == 0 and (tmp_path / "o" / "forecast.png").exists() == HAS_MPL
