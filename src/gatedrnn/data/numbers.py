"""The one grammar of a number in a text file (CSV cells, ``.ts`` values): plain decimal notation.

``float`` alone reads more than a data file means: ``1_000`` (Python's digit grouping), full-width and other
non-ASCII digits (``１２``, ``١٢``), and NumPy's string conversion reads the same. A cell such as ``1_000`` or
``0x10`` is much more likely a typo or an export in another convention than the number Python makes of it, so
every reader of numbers in a file goes through ``is_number`` (and ``.ts`` lines through
``DECIMALS``): an optional sign, ASCII digits with at most one decimal point, an optional exponent, and the
words ``nan``/``inf``/``infinity`` (any case; each reader then refuses or treats them as gaps).
"""

from __future__ import annotations

import re

_DECIMAL = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
NUMBER = re.compile(rf"{_DECIMAL}|[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
# a whole comma-separated list of finite decimal numbers (a dimension of a .ts case), spaces around each allowed
DECIMALS = re.compile(rf"\s*{_DECIMAL}\s*(?:,\s*{_DECIMAL}\s*)*")


def is_number(text: str) -> bool:
    """Whether ``text`` (already stripped) is a number in plain decimal notation, or nan/inf."""
    return NUMBER.fullmatch(text) is not None


def first_non_decimal(tokens: list) -> str | None:
    """The first of ``tokens`` that is not a finite decimal number (nan and inf included), or None."""
    return next((t for t in tokens if re.fullmatch(_DECIMAL, t.strip()) is None), None)
