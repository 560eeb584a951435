"""A vocabulary: tokens <-> int32 ids, word or character level, saved as JSON.

Ids follow the order in which tokens first appear in the text the vocabulary was built from (the book's
``preprocess`` does the same), so a corpus and its vocabulary are reproducible without sorting.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy

from gatedrnn.atomic import write_text_atomic
from gatedrnn.config import parse_json
from gatedrnn.errors import UserError

LEVELS = ("word", "char")
FORMAT = "gatedrnn-vocab"


class Vocab:
    """``tokens[i]`` is the token of id ``i``; ``unk`` (if set, and in ``tokens``) stands for unseen tokens.

    ``level`` says how text is cut into tokens: ``"word"`` splits on whitespace, ``"char"`` keeps every
    character (spaces and newlines included).
    """

    def __init__(self, tokens, *, level: str = "word", unk: str | None = None):
        if level not in LEVELS:
            raise UserError(f"vocabulary level: expected one of {LEVELS}, got {level!r}")
        self.tokens = [str(t) for t in tokens]
        self.index = {t: i for i, t in enumerate(self.tokens)}
        if len(self.index) != len(self.tokens):
            raise UserError(f"vocabulary: expected distinct tokens, got {len(self.tokens) - len(self.index)} duplicates")
        if unk is not None and unk not in self.index:
            raise UserError(f"vocabulary unk: expected a token of the vocabulary, got {unk!r}")
        self.level, self.unk = level, unk

    # -- building -----------------------------------------------------------------------------------
    @classmethod
    def build(cls, tokens, *, level: str = "word", unk: str | None = None) -> "Vocab":
        """The distinct ``tokens`` in order of first appearance (``unk`` appended if it never appears)."""
        order = list(dict.fromkeys(tokens))
        if unk is not None and unk not in order:
            order.append(unk)
        return cls(order, level=level, unk=unk)

    def tokenize(self, text: str) -> list[str]:
        """Cut ``text`` into tokens at this vocabulary's level."""
        return text.split() if self.level == "word" else list(text)

    def join(self, tokens) -> str:
        return (" " if self.level == "word" else "").join(tokens)

    # -- mapping ------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token) -> bool:
        return token in self.index

    def encode(self, tokens) -> numpy.ndarray:
        """Tokens -> int32 ids; an unknown token maps to ``unk``, or raises if there is none."""
        index = self.index
        unk_id = index.get(self.unk, -1) if self.unk is not None else -1
        ids = numpy.fromiter((index.get(t, unk_id) for t in tokens), dtype=numpy.int32)
        if unk_id < 0 and ids.size and int(ids.min()) < 0:
            toks = list(tokens) if not isinstance(tokens, list) else tokens
            bad = next(t for t, i in zip(toks, ids) if i < 0)
            raise UserError(f"vocabulary: expected known tokens (this vocabulary has no unknown token), got {bad!r}")
        return ids

    def decode(self, ids) -> list[str]:
        ids = numpy.asarray(ids).reshape(-1)
        if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= len(self)):
            raise UserError(f"vocabulary: expected ids in [0, {len(self)}), got values in [{int(ids.min())}, {int(ids.max())}]")
        return [self.tokens[int(i)] for i in ids]

    # -- (de)serialisation --------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"format": FORMAT, "level": self.level, "unk": self.unk, "tokens": self.tokens}

    @classmethod
    def from_dict(cls, d, source: str = "vocabulary") -> "Vocab":
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            got = d.get("format") if isinstance(d, dict) else type(d).__name__
            raise UserError(f"{source}: expected a {FORMAT!r} object, got {got!r}")
        tokens = d.get("tokens")
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise UserError(f"{source}: expected 'tokens' to be a list of strings, got {type(tokens).__name__}")
        unk = d.get("unk")
        if unk is not None and not isinstance(unk, str):
            raise UserError(f"{source}: expected 'unk' to be a token (a string) or null, got {type(unk).__name__}")
        return cls(tokens, level=d.get("level", "word"), unk=unk)

    def save(self, path) -> Path:
        """Write the vocabulary as JSON, atomically (temporary file + rename)."""
        return write_text_atomic(path, json.dumps(self.to_dict(), ensure_ascii=False))

    @classmethod
    def load(cls, path) -> "Vocab":
        path = Path(path)
        if not path.is_file():
            got = "no such file" if not path.exists() else "a directory"
            raise FileNotFoundError(f"vocabulary {path}: expected a JSON file, got {got}")
        d = parse_json(path.read_bytes(), f"vocabulary {path}", expected="valid JSON")
        return cls.from_dict(d, source=f"vocabulary {path}")

    def __repr__(self) -> str:
        return f"Vocab({len(self)} {self.level} tokens, unk={self.unk!r})"
