"""The one way text from outside the generator reaches generated C: ``c_string`` (a string literal with every byte
outside a small safe set escaped) and ``c_comment`` (text for a ``/* ... */`` comment, reduced to a safe set of
characters). Every C emitter (``deploy/c99.py`` and any later one) puts class labels, names, paths and notes into
its output only through these two, so that nothing read from a checkpoint can end a comment or a literal and
become code.

Rules:

* A literal's bytes are the string's UTF-8 encoding (lone surrogates, which JSON can hold, as their 3-byte
  forms); letters, digits, space and ``_-.,:/+=@`` stay as they are, every other byte becomes a three-digit octal
  escape ``\\ooo`` (octal escapes end after three digits, unlike ``\\x``, so no following character can extend
  one; ``?`` is escaped, so no trigraph can form). A literal holds at most ``MAX_LITERAL`` bytes, which keeps
  it within the 4095 characters C99 compilers must accept (``-pedantic`` warns past them).
* A comment keeps letters, digits, space and ``_-.,:;=+()[]<>%#&|!~^@'`` (no ``*``, ``/``, ``\\``, ``?``, no quote
  characters, no control characters, nothing outside ASCII); anything else becomes ``_``, so a comment can neither
  end, nest, continue nor hold a trigraph.
"""

from __future__ import annotations

import string

MAX_LITERAL = 1024

_SAFE_BYTES = frozenset((string.ascii_letters + string.digits + " _-.,:/+=@").encode("ascii"))
_SAFE_COMMENT = frozenset(string.ascii_letters + string.digits + " _-.,:;=+()[]<>%#&|!~^@'")


def utf8(value: str) -> bytes:
    """``value``'s bytes as a literal holds them (lone surrogates kept as their 3-byte forms)."""
    return str(value).encode("utf-8", "surrogatepass")


def c_string(value: str | bytes) -> str:
    """``value`` (text, or bytes as they are) as a C string literal, quotes included (see the module docstring).
    Raises ``ValueError`` past ``MAX_LITERAL`` bytes: a caller refuses (a ``UserError`` naming what was too long)
    or shortens first (``shorten``)."""
    data = value if isinstance(value, bytes) else utf8(value)
    if len(data) > MAX_LITERAL:
        raise ValueError(f"a C string literal of at most {MAX_LITERAL} bytes, got {len(data)}")
    return '"' + "".join(chr(b) if b in _SAFE_BYTES else f"\\{b:03o}" for b in data) + '"'


def shorten(value: str, limit: int = MAX_LITERAL) -> bytes:
    """``value``'s bytes, cut to the last ``limit`` of them (after a leading ``...``) when longer: for a path, whose
    end says most. A cut through a multi-byte character leaves escaped bytes, never a broken literal."""
    data = utf8(value)
    return data if len(data) <= limit else b"..." + data[len(data) - (limit - 3):]


def c_comment(text: str) -> str:
    """``text`` with every character outside the comment set replaced by ``_`` (see the module docstring)."""
    return "".join(ch if ch in _SAFE_COMMENT else "_" for ch in str(text))


def strings_section(prefix: str, labels, origin) -> tuple[list[str], list[str]]:
    """-> (header lines, source lines) declaring and defining the export's strings: ``<prefix>_origin`` (where the
    model came from, e.g. the checkpoint's path; shortened to its end) and, for a classifier with labels,
    ``<PREFIX>_NUM_CLASSES`` and ``<prefix>_class_names`` (the label of each logit, in order). Raises
    ``ValueError`` for a label over ``MAX_LITERAL`` bytes."""
    p, P = prefix, prefix.upper()
    head = ["/* where the model came from (a checkpoint's path), as a string */",
            f"extern const char {p}_origin[];"]
    body = [f"const char {p}_origin[] = {c_string(shorten(str(origin or '')))};"]
    if labels is not None:
        names = [c_string(str(label)) for label in labels]
        head += [f"#define {P}_NUM_CLASSES {len(names)}", "/* the class label of each output logit, in order */",
                 f"extern const char *const {p}_class_names[{P}_NUM_CLASSES];"]
        body += [f"const char *const {p}_class_names[{P}_NUM_CLASSES] = {{"] + \
                [f"    {name}," for name in names] + ["};"]
    return head, body
