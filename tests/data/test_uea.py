"""The UEA/UCR ``.ts`` reader: the format's header and data lines, variable lengths and several dimensions, where the
files are found, and every malformed file refused with one line naming the file and line."""

import os
from pathlib import Path

import numpy as np
import pytest

from gatedrnn.data.uea import load_uea, locate_uea, read_ts
from gatedrnn.errors import UserError

HEADER = """# a comment
@problemName Toy
@timeStamps false
@missing false
@univariate false
@dimensions 2
@equalLength false
@classLabel true a b c
@data
"""
CASES = "1,2,3:4,5,6:a\n7,8:9,10:b\n\n1.5:2.5:c\n"


def _write(tmp_path, text, name="Toy_TRAIN.ts"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_reads_variable_lengths_and_dimensions(tmp_path):
    d = read_ts(_write(tmp_path, HEADER + CASES))
    assert d.name == "Toy" and d.dimensions == 2 and d.classes == ("a", "b", "c") and len(d) == 3
    assert d.lengths.tolist() == [3, 2, 1]
    np.testing.assert_array_equal(d.X[0], [[1, 4], [2, 5], [3, 6]])
    assert d.y.tolist() == ["a", "b", "c"]


def test_univariate_equal_length_without_dimensions_line(tmp_path):
    text = "@problemName U\n@univariate true\n@equalLength true\n@seriesLength 3\n@classLabel true 0 1\n@data\n" \
           "1,2,3:0\n4,5,6:1\n"
    d = read_ts(_write(tmp_path, text))
    assert d.dimensions == 1 and d.X[1].shape == (3, 1) and d.y.tolist() == ["0", "1"]


@pytest.mark.parametrize("text, what", [
    ("@problemName T\n@dimension 2\n@classLabel true a\n@data\n1:a\n", "expected a header line"),
    ("@problemName T\n@classLabel true a b\n1,2:a\n", "expected a header line (@...) or @data"),
    ("@problemName T\n@classLabel true a b\n", "expected a @data line"),
    ("1,2:a\n", "expected a header line (@...) or @data"),
    ("@problemName T\n@timeStamps maybe\n@classLabel true a\n@data\n", "@timeStamps true or false"),
    ("@problemName T\n@timeStamps true\n@classLabel true a\n@data\n1:a\n", "time-stamped"),
    ("@problemName T\n@targetLabel true\n@data\n1:2\n", "expected a header line"),
    ("@problemName T\n@classLabel false\n@data\n1:2\n", "@classLabel true and the class labels"),
    ("@problemName T\n@data\n1:a\n", "expected a @classLabel true line"),
    ("@problemName T\n@dimensions x\n@classLabel true a\n@data\n", "positive integer"),
    ("@problemName T\n@classLabel true a\n@data\n", "at least one case"),
])
def test_wrong_header(tmp_path, text, what):
    with pytest.raises(UserError) as e:
        read_ts(_write(tmp_path, text))
    assert what in str(e.value) and "Toy_TRAIN.ts" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("cases, what", [
    ("1,2:3,4:a\n1,2:3,4:5,6:a\n", "line 11: expected 2 dimensions"),     # dimensions differ between cases
    ("1,2:3,4:a\n1,2:3,4\n", "line 11: expected 2 dimensions and a class label"),  # a missing label
    ("1,2:3,4:\n", "expected a class label after the last ':'"),
    ("1,2:3,4:d\n", "expected a label in @classLabel a b c, got 'd'"),      # an unknown label
    ("1,2::a\n", "empty sequence"),
    (":3:a\n", "empty sequence"),
    ("1,2:3:a\n", "dimensions of one length"),
    ("1,?:3,4:a\n", "no missing values"),
    ("1,x:3,4:a\n", "comma-separated numbers"),
])
def test_bad_cases(tmp_path, cases, what):
    with pytest.raises(UserError) as e:
        read_ts(_write(tmp_path, HEADER + cases))
    assert what in str(e.value) and "\n" not in str(e.value)


def test_dimensions_from_first_case_and_series_length(tmp_path):
    head = "@problemName T\n@classLabel true a\n@data\n"
    with pytest.raises(UserError, match="line 5: expected 2 dimensions .as the header or the first case., got 1"):
        read_ts(_write(tmp_path, head + "1,2:3,4:a\n1,2:a\n"))
    head = "@problemName T\n@equalLength true\n@seriesLength 2\n@classLabel true a\n@data\n"
    with pytest.raises(UserError, match="@seriesLength 2 values per dimension, got 3"):
        read_ts(_write(tmp_path, head + "1,2,3:a\n"))


def test_locate_by_prefix_folder_and_name(tmp_path, monkeypatch):
    _write(tmp_path, HEADER + CASES)
    _write(tmp_path, HEADER + "1:2:a\n", "Toy_TEST.ts")
    train, test = load_uea(str(tmp_path / "Toy"))
    assert len(train) == 3 and len(test) == 1
    folder = tmp_path / "uea" / "Toy"
    folder.mkdir(parents=True)
    for p in tmp_path.glob("Toy_*.ts"):
        (folder / p.name).write_text(p.read_text())
    assert locate_uea(str(folder))[0] == folder / "Toy_TRAIN.ts"
    assert locate_uea("Toy", data_dir=tmp_path)[1] == folder / "Toy_TEST.ts"
    monkeypatch.setenv("GATEDRNN_DATA", str(tmp_path))
    assert locate_uea("Toy")[0] == folder / "Toy_TRAIN.ts"


def test_absent_dataset_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("GATEDRNN_DATA", str(tmp_path))
    monkeypatch.setenv("GATEDRNN_CACHE", str(tmp_path / "cache"))
    with pytest.raises(FileNotFoundError) as e:
        locate_uea("basicmotions")
    msg = str(e.value)
    assert "BasicMotions_TRAIN.ts" in msg and str(tmp_path / "cache" / "uea" / "BasicMotions") in msg and "\n" not in msg


def test_test_labels_must_be_declared_by_train(tmp_path):
    _write(tmp_path, HEADER + CASES)
    _write(tmp_path, HEADER.replace("a b c", "a b c z") + "1:2:z\n", "Toy_TEST.ts")
    with pytest.raises(UserError, match="Toy_TEST.ts: expected labels in Toy_TRAIN.ts's @classLabel, got .'z'."):
        load_uea(str(tmp_path / "Toy"))


SHARED = Path(os.environ.get("GATEDRNN_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))


@pytest.mark.parametrize("name, shape, n", [("japanesevowels", (12, 9, 7, 29), (270, 370)),
                                            ("basicmotions", (6, 4, 100, 100), (40, 40))])
def test_real_files(name, shape, n):
    if not (SHARED / "uea").is_dir():
        pytest.skip(f"the UEA files are not under {SHARED}/uea")
    train, test = load_uea(name, SHARED)
    lengths = np.concatenate([train.lengths, test.lengths])
    assert (train.dimensions, len(train.classes), lengths.min(), lengths.max()) == shape
    assert (len(train), len(test)) == n
