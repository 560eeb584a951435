"""Everything read from a file, as a hostile user meets it (issue 20 §6 and §7): CSV rows and cells that were
misread without a word, dates that pandas completes or misreads, files that are not UTF-8, JSON and TOML with
duplicated keys, absurd nesting or digits, sizes of 1e12 in a config, and a model.npz whose headers declare
arrays the file cannot hold. Each is read right and said, or one ``UserError`` line; never a traceback, a
MemoryError or a silently different answer."""

import datetime
import io
import json
import os
import shutil
import zipfile
from dataclasses import fields

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gatedrnn.cli import main
from gatedrnn.config import Config, load_config_file
from gatedrnn.data.series import read_csv
from gatedrnn.data.uea import read_ts
from gatedrnn.errors import UserError
from gatedrnn.models import SequenceRegressor
from gatedrnn.train.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint

pd = pytest.importorskip("pandas")
LARGE = os.environ.get("GATEDRNN_HOSTILE_SIZE", "small") == "large"      # more examples per property (~1 min)
FAST = settings(max_examples=500 if LARGE else 40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
FUZZ = settings(FAST, max_examples=1000 if LARGE else 60)
TS_HEADER = "@problemName Toy\n@univariate true\n@equalLength false\n@classLabel true a b\n@data\n"


def one_line(exc_info) -> str:
    text = str(exc_info.value)
    assert "\n" not in text and text, text
    return text


def csv(tmp_path, text, name="s.csv"):
    p = tmp_path / name
    (p.write_bytes if isinstance(text, bytes) else p.write_text)(text)
    return p


def daily(n=8, start="2020-01-01"):
    return [d.strftime("%Y-%m-%d") for d in pd.date_range(start, periods=n, freq="D")]


def dated_csv(tmp_path, stamps, name="d.csv"):
    return csv(tmp_path, "date,value\n" + "".join(f"{d},{k + 0.5 * (k % 3)}\n" for k, d in enumerate(stamps)), name)


# -- §6 CSV: a row with an extra field, numbers Python reads but a data file does not mean ------------------------
def test_a_csv_row_with_an_extra_field_is_refused_not_read_as_another_column(tmp_path):
    rows = [f"{d},{k}" for k, d in enumerate(daily())]
    rows[3] = f"{daily()[3]},9,3"                   # the value moved one field right: 9 is not the value
    p = csv(tmp_path, "date,value\n" + "\n".join(rows) + "\n")
    with pytest.raises(UserError) as e:
        read_csv(p)
    assert "expected at most 2 fields on every row (as the header), got 3 on line 5" in one_line(e)
    ok = csv(tmp_path, "date,value\n" + "\n".join(f"{d},{k}," for k, d in enumerate(daily())) + "\n", "ok.csv")
    assert read_csv(ok).values.tolist() == list(range(8))      # a trailing empty field is no value


def test_a_header_naming_a_column_twice_is_refused_not_a_guess(tmp_path):
    p = csv(tmp_path, "value,note,value\n" + "".join(f"{k},n{k},{100 - k}\n" for k in range(8)))
    for column in ("value", None):
        with pytest.raises(UserError) as e:
            read_csv(p, column)
        assert "expected distinct column names in the header, got 'value' twice (columns 1 and 3)" in one_line(e)


@pytest.mark.parametrize("cell, like", [("1_000", "0x10"), ("１２", "0b11"), ("١٢", "1__0"), ("1_0.5", "1e5e5")])
def test_only_plain_decimal_numbers_are_numbers(tmp_path, cell, like):
    for text in (cell, like):                       # Python's float reads the first, not the second
        with pytest.raises(UserError) as e:
            read_csv(csv(tmp_path, f"value\n1\n{text}\n3\n4\n"))
        assert f"expected a number on every row, got {text!r} on line 3" in one_line(e)


# -- §6 dates: mixed formats, a time of day alone, integers ----------------------------------------------------
@pytest.mark.parametrize("bad", ["01/04/2020", "Jan 4 2020", "", "2020-01-04x", "9999-99-99", "2020-13-04"])
def test_a_date_column_with_one_odd_cell_is_one_line_not_row_numbers(tmp_path, bad):
    stamps = daily()
    stamps[3] = bad
    p = dated_csv(tmp_path, stamps)
    with pytest.raises(UserError) as e:
        read_csv(p)
    assert "expected a date in every cell of the date column 'date', got " in one_line(e) and "on line 5" in str(e.value)


def test_a_time_of_day_alone_never_gets_todays_date(tmp_path):
    p = csv(tmp_path, "time,value\n" + "".join(f"{h:02d}:00,{h % 5}\n" for h in range(8)))
    s = read_csv(p)
    assert s.dates is None and s.time_label == "row"
    assert "column 'time' not read as dates: '00:00' on line 2 (a time of day" in s.note
    with pytest.raises(UserError) as e:
        read_csv(p, date_column="time")
    assert "expected a date in every cell of column 'time', got '00:00' on line 2 (a time of day" in one_line(e)
    year_less = csv(tmp_path, "day,value\n" + "".join(f"{k + 1} Jan,{k % 5}\n" for k in range(8)), "j.csv")
    with pytest.raises(UserError, match="without its year"):
        read_csv(year_less, date_column="day")


def test_integer_ds_is_never_nanoseconds_since_1970(tmp_path):
    from gatedrnn.forecast.features import to_panel

    for ds in (np.arange(30), np.arange(30) * 1.0, np.arange(30) > 5):
        frame = pd.DataFrame({"unique_id": "a", "ds": ds, "y": np.sin(np.arange(30.0))})
        with pytest.raises(UserError) as e:
            to_panel(frame)
        assert "numbers are not read as dates" in one_line(e)
    p = csv(tmp_path, "ds,value\n" + "".join(f"{k + 1},{k % 5}\n" for k in range(8)))
    with pytest.raises(UserError, match=r"got '1' on line 2 \(integers are not read as dates"):
        read_csv(p, "value", date_column="ds")


def test_different_utc_offsets_are_read_as_utc_and_said(tmp_path):
    stamps = [f"2024-03-{d:02d}T12:00:00+0{1 + (d > 4)}:00" for d in range(1, 9)]    # summer time from day 5:
    s = read_csv(dated_csv(tmp_path, [s.replace("T12", "T13") if "+02" in s else s for s in stamps]))
    assert s.freq == "D" and "timestamps with different UTC offsets read as UTC" in s.note
    assert str(s.dates[0])[:19] == "2024-03-01T11:00:00" and str(s.dates[-1])[:19] == "2024-03-08T11:00:00"
    mixed = stamps[:3] + [stamps[3][:19]] + stamps[4:]                                    # one without an offset
    with pytest.raises(UserError) as e:
        read_csv(dated_csv(tmp_path, mixed, "m.csv"))
    assert "no UTC offset after timestamps with one" in one_line(e)


DATE_CELLS = st.one_of(
    st.sampled_from(["2020-01-01", "01/02/2020", "2020-01-01T00:00+01:00", "2020-01-01T00:00Z", "10:00", "Jan",
                     "5 Jan", "10000-01-01", "0000-00-00", "2020-13-45", "nan", "", "1e9", "1", "99999", "NaT",
                     "2020-01-01 EST", "2020-01-01T00:00+25:00", "today", "now", "2262-04-12", "1677-09-21"]),
    st.dates(datetime.date(1, 1, 1), datetime.date(9999, 12, 31)).map(str),
    st.text(alphabet="0123456789-/:TZ+ ", max_size=20))


@FAST
@given(cells=st.lists(DATE_CELLS, min_size=1, max_size=6), named=st.booleans())
@example(cells=["2020-01-01T00:00Z", "2020-01-02T00:00+01:00"], named=True)
@example(cells=["10000-01-01", "10001-01-01", "10002-01-01"], named=True)
def test_property_every_date_cell_is_read_or_one_line(tmp_path_factory, cells, named):
    """A CSV date column and a DataFrame's ds column: read into a DatetimeIndex, or one UserError; never
    pandas' DateParseError, OutOfBoundsDatetime or mixed-timezone ValueError."""
    from gatedrnn.forecast.features import to_panel

    p = tmp_path_factory.mktemp("dates") / "d.csv"
    p.write_text("date,value\n" + "".join(f"{c.strip()},{k % 3 + 0.5 * k}\n" for k, c in enumerate(cells)))
    try:
        s = read_csv(p, "value", date_column="date" if named else None)
        assert s.dates is None or len(s.dates) >= len(cells)
    except UserError as exc:
        assert "\n" not in str(exc)
    try:
        to_panel(pd.DataFrame({"unique_id": "a", "ds": cells, "y": np.arange(len(cells), dtype=float)}))
    except UserError as exc:
        assert "\n" not in str(exc)


# -- §7 .ts files: not UTF-8, numbers Python reads but the format does not mean --------------------------------
@pytest.mark.parametrize("data, what", [
    ((TS_HEADER + "1,2,3:a\n").encode() + b"4,\xff5:b\n", "expected UTF-8 text, got undecodable bytes"),
    ((TS_HEADER + "1,2,3:a\n1_000,2:b\n").encode(), "got '1_000'"),
    ((TS_HEADER + "1,2,3:a\nNaN,2:b\n").encode(), "got 'NaN'"),
    ((TS_HEADER + "1,2,3:a\n2,inf:b\n").encode(), "got 'inf'"),
    ((TS_HEADER + "1,2,3:a\n2,1e999:b\n").encode(), "got '1e999'"),
    ((TS_HEADER + "1,2,3:a\n２,1:b\n").encode(), "got '２'"),
])
def test_ts_files_that_are_not_utf8_or_hold_odd_numbers_are_one_line(tmp_path, data, what):
    p = tmp_path / "Toy_TRAIN.ts"
    p.write_bytes(data)
    with pytest.raises(UserError) as e:
        read_ts(p)
    assert what in one_line(e)


@pytest.mark.parametrize("header, what", [
    (TS_HEADER.replace("@data", "@univariate false\n@dimensions 2\n@data"), "expected each header line once, got "
                                                                             "@univariate again"),
    (TS_HEADER.replace("true a b", "true a b a"), "expected distinct class labels in @classLabel, got 'a' twice"),
])
def test_ts_header_lines_given_twice_are_refused_not_the_last_one_kept(tmp_path, header, what):
    p = tmp_path / "Toy_TRAIN.ts"
    p.write_text(header + "1,2:3,4:a\n")
    with pytest.raises(UserError) as e:
        read_ts(p)
    assert what in one_line(e)


# -- §6/§7 JSON and TOML: duplicated keys, not UTF-8, nesting, digits -----------------------------------------
@pytest.mark.parametrize("name, data, what", [
    ("dup.json", b'{"hidden_size": 8, "hidden_size": 4096}', "expected each key once in an object, got 'hidden_size' twice"),
    ("latin1.json", '{"corpus": "caf\xe9"}'.encode("latin-1"), "expected UTF-8 text, got undecodable bytes"),
    ("latin1.toml", 'corpus = "caf\xe9"\n'.encode("latin-1"), "expected UTF-8 text, got undecodable bytes"),
    ("deep.json", b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested at most 64 levels deep"),
    ("deep.toml", b"a = " + b"[" * 100_000 + b"]" * 100_000 + b"\n", "nested at most 64 levels deep"),
    ("deep_tables.toml", b"a = " + b"{b = " * 3000 + b"1" + b"}" * 3000 + b"\n", "nested at most 64 levels deep"),
    ("dotted.toml", b"a" + b".a" * 3000 + b" = 1\n", "nested at most 64 levels deep"),     # tomllib: quadratic
    ("table.toml", b"[" + b".".join([b'"k"'] * 3000) + b"]\nx = 1\n", "nested at most 64 levels deep"),
    ("digits.toml", b"seed = " + b"7" * 5000 + b"\n", "expected numbers of a sensible size"),
])
def test_config_files_are_read_strictly_or_refused_in_one_line(tmp_path, capsys, name, data, what):
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(UserError) as e:
        load_config_file(p)
    assert what in one_line(e)
    assert main(["train", "--config", str(p), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and what in err and "Traceback" not in err and not (tmp_path / "run").exists()


def _config_classes():
    import gatedrnn.classify.config  # noqa: F401  (every application's config registers as a subclass)
    import gatedrnn.forecast.config  # noqa: F401
    import gatedrnn.lab.ablations  # noqa: F401
    import gatedrnn.lab.gradflow  # noqa: F401
    import gatedrnn.lab.overfit  # noqa: F401
    import gatedrnn.lab.quickstart  # noqa: F401
    import gatedrnn.lab.tasks  # noqa: F401
    import gatedrnn.lab.tbptt  # noqa: F401
    import gatedrnn.lm.config  # noqa: F401

    return [(cls, f.name) for cls in Config.__subclasses__() for f in fields(cls)
            if f.name in ("hidden_size", "embed_size", "batch_size", "eval_batch_size", "num_layers")]


def test_sizes_of_1e12_in_any_config_are_one_line_before_anything_is_allocated():
    found = _config_classes()
    assert len(found) >= 12
    for cls, name in found:
        for v in (10**12, 2**40):
            with pytest.raises(UserError) as e:       # the checks every config shares (an application's own
                Config.validate(cls(**{name: v}))     # cross-field checks may need a dataset first)
            assert one_line(e).startswith(f"{name}: expected a positive integer of at most ")


def test_a_size_of_1e12_in_a_config_file_is_one_line_from_the_cli(tmp_path, capsys):
    for key in ("hidden_size", "batch_size"):
        p = tmp_path / f"{key}.toml"
        p.write_text(f"{key} = 1_000_000_000_000\n")
        assert main(["train", "--config", str(p), "--out", str(tmp_path / "run")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"{key}: expected a positive integer of at most" in err


# -- §6/§7 checkpoints: meta.json keys twice, arrays that the file cannot hold ----------------------------------
@pytest.fixture()
def checkpoint(tmp_path):
    return save_checkpoint(tmp_path / "ck", SequenceRegressor(2, 4, 1, seed=0))


def test_meta_json_with_a_key_twice_or_deep_nesting_is_refused(checkpoint):
    meta = checkpoint / "meta.json"
    text = meta.read_text()
    meta.write_text(text.replace('"format"', '"version": 7, "format"', 1))
    with pytest.raises(UserError) as e:
        read_checkpoint(checkpoint)
    assert "meta.json: expected each key once in an object, got 'version' twice" in one_line(e)
    meta.write_text(text[:-1] + ', "deep": ' + "[" * 50_000 + "]" * 50_000 + "}")
    with pytest.raises(UserError, match="nested at most 64 levels deep"):
        read_checkpoint(checkpoint)


def npy_member(shape, descr="<f4", data=b"") -> bytes:
    f = io.BytesIO()
    np.lib.format.write_array_header_1_0(f, {"descr": descr, "fortran_order": False, "shape": tuple(shape)})
    return f.getvalue() + data


def test_a_model_npz_declaring_4_tb_in_64_bytes_is_one_line_not_a_memory_error(checkpoint):
    with zipfile.ZipFile(checkpoint / "model.npz", "w") as z:
        z.writestr("layers.0.weight.npy", npy_member((1 << 40,)))
    with pytest.raises(UserError) as e:
        load_checkpoint(checkpoint)
    assert "got shape (1099511627776,) of float32 (4,398,046,511,104 bytes) in 0 bytes of data" in one_line(e)


@FAST
@given(shape=st.lists(st.integers(0, 2**40), max_size=3), descr=st.sampled_from(["<f4", "<f8", "|u1", "<c16"]),
       extra=st.integers(0, 64), compress=st.booleans())
@example(shape=[2**31, 2**31], descr="<f8", extra=8, compress=False)
def test_property_npz_headers_are_checked_before_allocating(tmp_path_factory, shape, descr, extra, compress):
    """Whatever shape a member declares, loading is the array (when the member holds exactly its bytes) or one
    UserError line: never a MemoryError or an allocation of what the file does not hold."""
    ck = save_checkpoint(tmp_path_factory.mktemp("npz") / "ck", SequenceRegressor(2, 4, 1, seed=0))
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(ck / "extra.npz", "w", compression=method) as z:
        z.writestr("x.npy", npy_member(shape, descr, b"\0" * extra))
    try:
        _, _, arrays = load_checkpoint(ck)
    except UserError as exc:
        assert "\n" not in str(exc)
        return
    assert arrays["x"].nbytes == extra and arrays["x"].shape == tuple(shape)


def test_a_zip_member_that_is_no_array_or_declares_more_than_it_holds_is_refused(checkpoint):
    weights = dict(np.load(checkpoint / "model.npz"))
    with zipfile.ZipFile(checkpoint / "model.npz", "a") as z:
        z.writestr("notes.txt", b"x" * 10)
    with pytest.raises(UserError, match=r"expected only \.npy arrays, got member 'notes.txt'"):
        load_checkpoint(checkpoint)
    with open(checkpoint / "model.npz", "wb") as f:
        np.savez(f, **weights)
    assert load_checkpoint(checkpoint)[0].config == SequenceRegressor(2, 4, 1).config
    json.loads((checkpoint / "meta.json").read_text())


# -- every reader under mutated bytes ---------------------------------------------------------------------------
SEEDS = {
    "csv": b"date,value,note\n2020-01-01,1.5,a\n2020-01-02,2.5,b\n2020-01-03,3,c\n2020-01-04,4,d\n2020-01-05,5e0,e\n",
    "ts": TS_HEADER.encode() + b"1,2,3:a\n1.5,2:b\n",
    "json": b'{"hidden_size": 8, "cell": "lstm", "lr": 0.1, "seed": 1, "x": [1, {"y": 2}]}',
    "toml": b'hidden_size = 8\ncell = "lstm"\n[x]\na.b = [1, 2.5, "s"]\n',
}
PIECES = [b",", b";", b"\t", b"\n", b'"', b"'", b":", b"[", b"]", b"{", b"}", b"=", b".", b"0x10", b"1_000", b"nan",
          b"inf", b"\xff", b"\x00", b"10:00", b"+01:00", b"Z", b"99999", b"-", b"#", b"@data", b"?", b"1e999", b"[" * 500,
          b"a." * 300, b'{"a": ' * 300, b"\xef\xbb\xbf", b"2020-13-01", b"\r"]
EDITS = st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(PIECES), st.integers(0, 3)), min_size=1, max_size=6)


def mutated(seed: bytes, edits) -> bytes:
    b = bytearray(seed)
    for at, piece, cut in edits:
        at %= len(b) + 1
        b[at:at + cut] = piece
    return bytes(b)


@FUZZ
@given(kind=st.sampled_from(sorted(SEEDS) + ["meta.json", "model.npz"]), edits=EDITS, named=st.booleans())
@example(kind="ts", edits=[(40, b"\xff", 0)], named=False)
@example(kind="json", edits=[(1, b'"seed": 2, ', 0)], named=False)
def test_property_every_reader_gives_its_data_or_one_line(tmp_path_factory, kind, edits, named):
    """CSV, .ts, JSON and TOML configs, meta.json and model.npz with bytes inserted, replaced or cut: the reader
    returns its data or raises one UserError line (a missing or unreadable file: an OSError); nothing else."""
    d = tmp_path_factory.mktemp("fuzz")
    try:
        if kind == "csv":
            p = d / "f.csv"
            p.write_bytes(mutated(SEEDS[kind], edits))
            read_csv(p, "value" if named else None, date_column="date" if named else None)
        elif kind == "ts":
            p = d / "F_TRAIN.ts"
            p.write_bytes(mutated(SEEDS[kind], edits))
            read_ts(p)
        elif kind in ("json", "toml"):
            p = d / f"c.{kind}"
            p.write_bytes(mutated(SEEDS[kind], edits))
            load_config_file(p)
        else:
            ck = save_checkpoint(d / "ck", SequenceRegressor(2, 4, 1, seed=0))
            (ck / kind).write_bytes(mutated((ck / kind).read_bytes(), edits))
            load_checkpoint(ck)
    except UserError as exc:
        assert "\n" not in str(exc)
    except OSError:
        pass
    finally:
        shutil.rmtree(d, ignore_errors=True)
