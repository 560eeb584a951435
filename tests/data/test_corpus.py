import hashlib
import io
import urllib.error
import urllib.request

import numpy as np
import pytest

from gatedrnn.data import corpus as C


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No corpus anywhere: empty cache, no GATEDRNN_DATA, downloads allowed unless a test says otherwise."""
    monkeypatch.setenv("GATEDRNN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GATEDRNN_DATA", raising=False)
    monkeypatch.delenv("GATEDRNN_OFFLINE", raising=False)
    return tmp_path


def test_ptb_mikolov_split(data_dir):
    c = C.load_corpus("ptb", data_dir=data_dir)
    assert (len(c.train), len(c.valid), len(c.test)) == (929_589, 73_760, 82_430)
    assert len(c.vocab) == 10_000 and c.vocab.level == "word" and c.vocab.unk == "<unk>"
    assert c.train.dtype == np.int32 and c.train.min() >= 0 and c.train.max() < 10_000
    first = (data_dir / "ptb" / "ptb.train.txt").read_text().splitlines()[0].split()
    assert c.vocab.decode(c.train[: len(first) + 1]) == first + ["<eos>"]
    assert int((c.test == c.vocab.index["<eos>"]).sum()) == 3761  # one per line
    assert c.spec == {"corpus": "ptb"}


def test_tinyshakespeare_char_level(data_dir):
    c = C.load_corpus("tinyshakespeare", data_dir=data_dir)
    assert c.vocab.level == "char" and 60 <= len(c.vocab) <= 70
    assert len(c.train) + len(c.valid) + len(c.test) == 1_115_394
    assert c.vocab.join(c.vocab.decode(c.train[:14])) == "First Citizen:"


def test_text_file_word_and_char_and_folder(tmp_path):
    text = "".join(f"line {i} has words w{i % 7}\n" for i in range(200))
    (tmp_path / "t.txt").write_text(text)
    w = C.load_corpus(str(tmp_path / "t.txt"), "word")
    assert w.vocab.decode(w.train[:6]) == ["line", "0", "has", "words", "w0", "<eos>"]
    assert w.valid.max() == w.vocab.index["<unk>"] or (w.valid < len(w.vocab)).all()
    ch = C.load_corpus(str(tmp_path / "t.txt"), "char")
    assert len(ch.train) + len(ch.valid) + len(ch.test) == len(text)
    d = tmp_path / "folder"
    d.mkdir()
    for s, body in (("train", "a b c\nb c a\n"), ("valid", "a b\n"), ("test", "c d\n")):
        (d / f"{s}.txt").write_text(body)
    f = C.load_corpus(str(d))
    assert f.vocab.decode(f.test) == ["c", "<unk>", "<eos>"]
    with pytest.raises(FileNotFoundError, match="no such file"):
        C.load_corpus(str(tmp_path / "nope.txt"))
    (d / "valid.txt").unlink()
    with pytest.raises(FileNotFoundError, match="got no valid.txt"):
        C.load_corpus(str(d))
    (tmp_path / "tiny.txt").write_text("a\n")
    with pytest.raises(ValueError, match="at least 2 tokens in every split"):
        C.load_corpus(str(tmp_path / "tiny.txt"))


def test_digest_mismatch_is_reported(isolated):
    d = isolated / "data" / "ptb"
    d.mkdir(parents=True)
    (d / "ptb.train.txt").write_text("not the real file\n")
    with pytest.raises(ValueError, match="expected SHA-256 fcea919f.*delete it"):
        C.locate("ptb.train", isolated / "data")


def test_offline_without_files_says_where_to_put_them(isolated, monkeypatch):
    def offline(*a, **k):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(FileNotFoundError) as exc:
        C.load_corpus("ptb")
    msg = str(exc.value)
    assert "\n" not in msg and "no network" in msg and str(isolated / "cache" / "ptb" / "ptb.train.txt") in msg
    assert "GATEDRNN_DATA" in msg
    monkeypatch.setenv("GATEDRNN_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="downloading is off"):
        C.locate("tinyshakespeare")


class _FakeResponse(io.BytesIO):
    headers = {"Content-Length": "11"}


def test_download_checks_digest_and_renames(isolated, monkeypatch):
    body = b"hello world"
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: _FakeResponse(body))
    dest = isolated / "dl" / "f.txt"
    with pytest.raises(ValueError, match="expected SHA-256 0000"):
        C.download("http://x/f.txt", dest, "0" * 64, progress=False)
    assert not dest.parent.exists() or list(dest.parent.iterdir()) == []  # nothing half-written
    C.download("http://x/f.txt", dest, hashlib.sha256(body).hexdigest(), progress=False)
    assert dest.read_bytes() == body and list(dest.parent.iterdir()) == [dest]


def test_found_in_cache_after_download(isolated, monkeypatch):
    body = b"cached text\n"
    src = C.Source("demo/d.txt", "http://x/d.txt", hashlib.sha256(body).hexdigest())
    monkeypatch.setitem(C.SOURCES, "demo", src)
    calls = []
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: calls.append(url) or _FakeResponse(body))
    p1 = C.locate("demo", progress=False)
    p2 = C.locate("demo", progress=False)  # second time: from the cache, no download
    assert p1 == p2 == isolated / "cache" / "demo" / "d.txt" and calls == ["http://x/d.txt"]
