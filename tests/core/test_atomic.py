from pathlib import Path

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


def test_temporaries_are_named_for_their_target_and_removed_after_a_kill(tmp_path):
    from gatedrnn.atomic import make_temporary_dir, make_temporary_file, remove_temporaries

    seen = []
    with atomic_file(tmp_path / "curves.png", suffix=".png") as tmp:
        seen.append(tmp)
        open(tmp, "wb").write(b"png")
    assert Path(seen[0]).name.startswith(".curves.png.tmp-") and seen[0].endswith(".png")
    # what a process killed inside atomic_file or a checkpoint save leaves behind
    left = [make_temporary_file(tmp_path / "a.json"), make_temporary_file(tmp_path / "b.png", ".png"),
            make_temporary_dir(tmp_path / "last")]
    (tmp_path / ".hidden").write_text("not ours")
    assert sorted(remove_temporaries(tmp_path)) == sorted(left)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".hidden", "curves.png"]
