"""What the lab's configs share: the cell choices and the checks of their fields (all through ``gatedrnn.errors``)."""

from __future__ import annotations

import os

from gatedrnn.errors import UserError, check_count, check_finite_number, check_int
from gatedrnn.layers import CELLS


def cells() -> list:
    """The cell names of the registry ``gatedrnn.layers.CELLS``: the choices of every lab config's cell field."""
    return list(CELLS)


def check_length(name, v):
    """A sequence length: an integer >= 2."""
    return check_int(name, v, 2)


def check_file_stem(name, v):
    """A file name stem for ``--name``: a non-empty string naming a file inside the output folder (no path
    separator, not ``.`` or ``..``, no NUL), so that nothing is written outside ``--out``. Returns ``v``."""
    seps = [c for c in ("/", os.sep, os.altsep, "\0") if c]
    if not isinstance(v, str) or v.strip() in ("", ".", "..") or any(c in v for c in seps):
        raise UserError(f"{name}: expected a file name without a path separator or '..' (files go into --out), "
                        f"got {v!r}")
    return v


def check_each(check=None, *, empty_ok: bool = False):
    """The check of a list field: one or more values (none allowed with ``empty_ok``), each passing
    ``check(name, value)`` when given (the field's choices are checked by ``Config.validate``)."""
    def run(name, values):
        if not isinstance(values, list) or not (values or empty_ok):
            raise UserError(f"{name}: expected one or more values, got {values!r}")
        for v in values if check is not None else ():
            check(name, v)
        return values
    return run


some = check_each()
finite_numbers = check_each(check_finite_number)
positive_ints = check_each(check_int)
seed_list = check_each(check_count, empty_ok=True)
