"""Text the project makes itself, so that a demo needs no download."""

from __future__ import annotations

import numpy

SUBJECTS = ["the cat", "the dog", "a bird", "the old man", "my sister", "the small robot", "a tired student"]
VERBS = ["sees", "likes", "follows", "draws", "remembers", "finds", "carries"]
OBJECTS = ["the red ball", "a long river", "the quiet house", "an apple", "the broken clock", "a paper boat"]
ENDINGS = ["today", "at night", "in the rain", "every morning", "again", "by the sea"]


def toy_sentences(num_chars: int, seed: int = 0) -> str:
    """Sentences from a tiny grammar (subject verb object ending.), ``num_chars`` characters long."""
    rng = numpy.random.default_rng(seed)
    parts, n = [], 0
    while n < num_chars:
        s = " ".join(lst[rng.integers(len(lst))] for lst in (SUBJECTS, VERBS, OBJECTS, ENDINGS)) + ".\n"
        parts.append(s)
        n += len(s)
    return "".join(parts)[:num_chars]
