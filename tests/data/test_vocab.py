import json

import numpy as np
import pytest

from gatedrnn.data.vocab import Vocab


def test_build_encode_decode_round_trip(tmp_path):
    v = Vocab.build("a b a c <unk>".split(), unk="<unk>")
    assert v.tokens == ["a", "b", "c", "<unk>"] and len(v) == 4
    ids = v.encode(["c", "a", "zzz"])
    assert ids.dtype == np.int32 and ids.tolist() == [2, 0, 3]
    assert v.decode(ids) == ["c", "a", "<unk>"]
    v.save(tmp_path / "v.json")
    w = Vocab.load(tmp_path / "v.json")
    assert w.tokens == v.tokens and w.unk == "<unk>" and w.level == "word"
    assert [p.name for p in tmp_path.iterdir()] == ["v.json"]  # no temporary left behind


def test_char_level_keeps_spaces_and_newlines():
    v = Vocab.build(list("ab a\n"), level="char")
    assert v.tokenize("a b\n") == ["a", " ", "b", "\n"]
    assert v.join(v.decode(v.encode(list("ba \n")))) == "ba \n"


def test_errors(tmp_path):
    v = Vocab.build(["a", "b"])
    with pytest.raises(ValueError, match="no unknown token.*'x'"):
        v.encode(["a", "x"])
    with pytest.raises(ValueError, match=r"expected ids in \[0, 2\)"):
        v.decode([0, 5])
    with pytest.raises(FileNotFoundError, match="expected a JSON file, got no such file"):
        Vocab.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{oops")
    with pytest.raises(ValueError, match="expected valid JSON"):
        Vocab.load(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text(json.dumps({"tokens": ["a"]}))
    with pytest.raises(ValueError, match="expected a 'gatedrnn-vocab' object"):
        Vocab.load(tmp_path / "other.json")
    (tmp_path / "dup.json").write_text(json.dumps({"format": "gatedrnn-vocab", "tokens": ["a", "a"]}))
    with pytest.raises(ValueError, match="distinct tokens"):
        Vocab.load(tmp_path / "dup.json")
    with pytest.raises(ValueError, match="level"):
        Vocab(["a"], level="byte")
