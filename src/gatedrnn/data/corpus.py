"""Corpora as int32 token ids: Penn Treebank, Tiny Shakespeare, or any plain text file.

Where the files come from, in order:

1. ``data_dir`` (the ``--data-dir`` option), then the folder named by ``GATEDRNN_DATA``, then the cache
   folder (``GATEDRNN_CACHE``, else ``$XDG_CACHE_HOME/gatedrnn``, else ``~/.cache/gatedrnn``). A folder may
   hold a file under its corpus sub-folder (``ptb/ptb.train.txt``) or directly (``ptb.train.txt``).
2. Otherwise the file is downloaded once from its public source into the cache folder, with a progress bar,
   written to a temporary file, checked against its SHA-256 digest and only then renamed into place.

Every known file is checked against its digest when it is found, so a truncated or different file is
reported instead of silently training on it. Offline with no files, one error says where to put them.

* Penn Treebank: Mikolov's split of the Wall Street Journal text (Mikolov et al. 2010; ~929k/73k/82k tokens,
  10,000 words, rare words already ``<unk>``), one sentence a line, ``<eos>`` appended to every line, the
  vocabulary built from the training split. Source: the ``data/`` folder of the tomsercu/lstm repository.
* Tiny Shakespeare (Karpathy's char-rnn): one 1.1 MB file, character level by default, split 90/5/5 in order.
* Any text file (word or character level, split 90/5/5 in order), or a folder holding ``train.txt``,
  ``valid.txt`` and ``test.txt``; the vocabulary comes from the training part, and ``<unk>`` stands for tokens
  only seen in validation or test.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy

from gatedrnn.data.vocab import Vocab
from gatedrnn.errors import UserError


@dataclass(frozen=True)
class Source:
    relpath: str  # where the file lives below a data folder
    url: str
    sha256: str


_PTB_URL = "https://raw.githubusercontent.com/tomsercu/lstm/master/data/{}"
SOURCES = {
    "ptb.train": Source("ptb/ptb.train.txt", _PTB_URL.format("ptb.train.txt"),
                        "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf"),
    "ptb.valid": Source("ptb/ptb.valid.txt", _PTB_URL.format("ptb.valid.txt"),
                        "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2"),
    "ptb.test": Source("ptb/ptb.test.txt", _PTB_URL.format("ptb.test.txt"),
                       "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0"),
    "tinyshakespeare": Source("tinyshakespeare/input.txt",
                              "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
                              "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"),
}
CORPORA = ("ptb", "tinyshakespeare")
SPLITS = ("train", "valid", "test")
EOS, UNK = "<eos>", "<unk>"


@dataclass
class Corpus:
    """A tokenised corpus: ``train``/``valid``/``test`` int32 id arrays sharing ``vocab``.

    ``spec`` records how to load it again (``load_corpus(**spec)``), e.g. for evaluating a checkpoint.
    """

    name: str
    vocab: Vocab
    train: numpy.ndarray
    valid: numpy.ndarray
    test: numpy.ndarray
    spec: dict = field(default_factory=dict)

    def split(self, name: str) -> numpy.ndarray:
        if name not in SPLITS:
            raise UserError(f"split: expected one of {SPLITS}, got {name!r}")
        return getattr(self, name)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{s} {len(getattr(self, s)):,}" for s in SPLITS)
        return f"Corpus({self.name}: {sizes} tokens, {len(self.vocab):,} {self.vocab.level}s)"


# -- finding and downloading files -------------------------------------------------------------------
def cache_dir() -> Path:
    """The download cache: ``GATEDRNN_CACHE``, else ``$XDG_CACHE_HOME/gatedrnn``, else ``~/.cache/gatedrnn``."""
    if os.environ.get("GATEDRNN_CACHE"):
        return Path(os.environ["GATEDRNN_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "gatedrnn"


def search_dirs(data_dir=None) -> list[Path]:
    """The folders searched for corpus files, in order."""
    dirs = [Path(data_dir).expanduser()] if data_dir else []
    if os.environ.get("GATEDRNN_DATA"):
        dirs.append(Path(os.environ["GATEDRNN_DATA"]).expanduser())
    dirs.append(cache_dir())
    return dirs


def sha256_of(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_digest(path: Path, src: Source) -> Path:
    got = sha256_of(path)
    if got != src.sha256:
        raise UserError(f"{path}: expected SHA-256 {src.sha256}, got {got} (a different or damaged file; "
                         f"delete it to download a fresh copy from {src.url})")
    return path


def download(url: str, dest, sha256: str | None = None, *, progress: bool = True, timeout: float = 30.0) -> Path:
    """Fetch ``url`` into ``dest`` through a temporary file in the same folder, checking ``sha256``.

    Nothing is left at ``dest`` unless the whole file arrived and matched the digest.
    """
    import urllib.request

    from tqdm.auto import tqdm

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.part-", dir=dest.parent)
    h = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            total = int(resp.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=f"downloading {dest.name}",
                      disable=not progress, leave=False) as bar:
                for chunk in iter(lambda: resp.read(1 << 16), b""):
                    out.write(chunk)
                    h.update(chunk)
                    bar.update(len(chunk))
        if sha256 is not None and h.hexdigest() != sha256:
            raise UserError(f"download {url}: expected SHA-256 {sha256}, got {h.hexdigest()}")
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def locate(key: str, data_dir=None, *, allow_download: bool = True, progress: bool = True) -> Path:
    """The path of the known file ``key`` (see ``SOURCES``), downloading it into the cache if need be."""
    if key not in SOURCES:
        raise UserError(f"corpus file: expected one of {sorted(SOURCES)}, got {key!r}")
    src = SOURCES[key]
    dirs = search_dirs(data_dir)
    for d in dirs:
        for p in (d / src.relpath, d / Path(src.relpath).name):
            if p.is_file():
                return _check_digest(p, src)
    dest = cache_dir() / src.relpath
    where = (f"put {Path(src.relpath).name} at {dest} (or in a folder named by --data-dir or GATEDRNN_DATA, "
             f"as {src.relpath})")
    if not allow_download or os.environ.get("GATEDRNN_OFFLINE"):
        raise FileNotFoundError(f"{key}: not found in {', '.join(map(str, dirs))} and downloading is off; {where}")
    try:
        return download(src.url, dest, src.sha256, progress=progress)
    except OSError as exc:  # urllib's URLError is an OSError: offline, DNS, HTTP error ...
        reason = getattr(exc, "reason", None) or exc
        raise FileNotFoundError(f"{key}: not found in {', '.join(map(str, dirs))} and the download from {src.url} "
                                f"failed ({reason}); {where}") from None


# -- reading and tokenising ----------------------------------------------------------------------------
def _read(path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: expected UTF-8 text, got undecodable bytes ({exc.reason} at byte {exc.start})") from None


def tokenize(text: str, level: str) -> list[str]:
    """Word level: the words of every non-empty line followed by ``<eos>``; character level: every character."""
    if level == "char":
        return list(text)
    if level != "word":
        raise UserError(f"level: expected 'word' or 'char', got {level!r}")
    out: list[str] = []
    for line in text.splitlines():
        words = line.split()
        if words:
            out.extend(words)
            out.append(EOS)
    return out


def _split_in_order(tokens: list, fractions=(0.9, 0.05, 0.05)):
    n = len(tokens)
    a = int(n * fractions[0])
    b = a + int(n * fractions[1])
    return tokens[:a], tokens[a:b], tokens[b:]


def _from_tokens(name, parts, level, spec) -> Corpus:
    train, valid, test = parts
    if len(train) < 2 or len(valid) < 2 or len(test) < 2:
        raise UserError(f"corpus {name}: expected at least 2 tokens in every split, got "
                         f"{len(train)}/{len(valid)}/{len(test)} (train/valid/test)")
    vocab = Vocab.build(train, level=level, unk=UNK)
    return Corpus(name, vocab, vocab.encode(train), vocab.encode(valid), vocab.encode(test), spec)


def load_ptb(data_dir=None, *, allow_download: bool = True, progress: bool = True) -> Corpus:
    """Penn Treebank (Mikolov split): ``<eos>`` after every line, vocabulary (10,000 words) from train."""
    parts = [tokenize(_read(locate(f"ptb.{s}", data_dir, allow_download=allow_download, progress=progress)), "word")
             for s in SPLITS]
    return _from_tokens("ptb", parts, "word", {"corpus": "ptb"})


def load_text(path, level: str = "word", fractions=(0.9, 0.05, 0.05), name: str | None = None) -> Corpus:
    """A plain text file split 90/5/5 in order, or a folder with ``train.txt``/``valid.txt``/``test.txt``."""
    path = Path(path).expanduser()
    spec = {"corpus": str(path.resolve()), "level": level}
    if path.is_dir():
        files = [path / f"{s}.txt" for s in SPLITS]
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise FileNotFoundError(f"corpus folder {path}: expected train.txt, valid.txt and test.txt, got no {', '.join(missing)}")
        parts = [tokenize(_read(f), level) for f in files]
    elif path.is_file():
        parts = _split_in_order(tokenize(_read(path), level), fractions)
    else:
        raise FileNotFoundError(f"corpus: expected 'ptb', 'tinyshakespeare' or a path to a text file or folder, got {str(path)!r} "
                                f"(no such file)")
    return _from_tokens(name or path.stem, parts, level, spec)


def load_corpus(corpus: str, level: str | None = None, data_dir=None, *, allow_download: bool = True,
                progress: bool = True) -> Corpus:
    """``"ptb"`` (word level), ``"tinyshakespeare"`` (character level unless ``level`` says otherwise), or a path."""
    if corpus == "ptb":
        if level not in (None, "word"):
            raise UserError(f"ptb level: expected 'word' (the Mikolov split is word level), got {level!r}")
        return load_ptb(data_dir, allow_download=allow_download, progress=progress)
    if corpus == "tinyshakespeare":
        path = locate("tinyshakespeare", data_dir, allow_download=allow_download, progress=progress)
        c = load_text(path, level or "char", name="tinyshakespeare")
        c.spec = {"corpus": "tinyshakespeare", "level": level or "char"}
        return c
    return load_text(corpus, level or "word")
