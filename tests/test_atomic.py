import pytest

from gatedrnn.atomic import atomic_file, write_text_atomic


def test_write_replaces_and_leaves_no_temporaries(tmp_path):
    p = tmp_path / "sub" / "a.json"
    write_text_atomic(p, "one")
    write_text_atomic(p, "two")
    assert p.read_text() == "two" and [f.name for f in p.parent.iterdir()] == ["a.json"]


def test_error_keeps_the_old_file(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("old")
    with pytest.raises(RuntimeError), atomic_file(p) as tmp:
        open(tmp, "w").write("half")
        raise RuntimeError("boom")
    assert p.read_text() == "old" and [f.name for f in tmp_path.iterdir()] == ["a.txt"]
