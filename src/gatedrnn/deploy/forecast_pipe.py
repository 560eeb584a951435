"""A ``Forecaster.save`` folder on a pipe (what ``gatedrnn stream FOLDER`` runs for one): new values of its series
read from a text stream, the next ``horizon`` forecasts of that series printed after each.

Input, one value per line: ``VALUE`` for a forecaster fitted on one series, ``ID,VALUE`` for a panel (the id as
the forecaster knows it, text up to the last comma); empty lines and ``#`` comments are skipped. Every series
continues from where its fitted history ended (``Forecaster.stream``: the saved last window and length).

Output: a header line naming the columns, ``unique_id,ahead,y_hat,lo-80,hi-80,lo-95,hi-95`` (the interval
columns of the forecaster's quantiles), then after each value ``horizon`` lines, one per step ahead (1 ..
horizon), numbers with 12 significant digits.

A bad line (not a number, a value that is not finite or that would overflow once normalised, an unknown id) is
one line on stderr naming it, and the stream goes on with every series as it was; once the input ends, the
command fails with one line counting the refused lines (exit status 2). A forecaster with covariates is refused
with one line before anything is read (a stream cannot know their future values). How the folder loads and what
a stream of it needs come through the forecaster's export adapter (``deploy.adapters.ForecasterFacts``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from gatedrnn.data.numbers import is_number
from gatedrnn.deploy.adapters import ForecasterFacts
from gatedrnn.errors import UserError


def parse_line(text: str, panel: bool) -> tuple[str | None, float | None, str | None]:
    """(id or None, value, None) of one input line, (None, None, None) for an empty or comment line, (None, None,
    problem) for a line that is not ``VALUE`` (``ID,VALUE`` for a panel)."""
    line = text.split("#", 1)[0].strip()
    if not line:
        return None, None, None
    sid = None
    if panel:
        if "," not in line:
            return None, None, (f"expected ID,VALUE (a panel model: the series id, a comma, its new value), got "
                                f"{line[:60]!r}")
        sid, line = (part.strip() for part in line.rsplit(",", 1))
    if not is_number(line):
        return None, None, (f"expected {'a number after the comma' if panel else 'one number per line'}, got "
                            f"{line[:40]!r}")
    return sid, float(line), None


def stream_forecaster(facts: ForecasterFacts, found: Path, lines, emit, warn=None) -> None:
    """Stream the lines ``lines`` (``(line number, text)``) through the forecaster saved beside ``found`` (its first
    member's checkpoint, loaded by ``facts``, its export adapter's); see the module docstring."""
    warn = warn or (lambda text: print(text, file=sys.stderr, flush=True))
    f = facts.load_folder(found)
    facts.check_streamable(f, f"stream {found.parent}")
    s = f.stream()
    panel = len(s.ids) > 1
    names = [name for name, _ in s.columns]
    emit(",".join(["unique_id", "ahead", *names]))
    refused = read = 0
    for n, text in lines:
        sid, value, bad = parse_line(text, panel)
        if value is None and bad is None:
            continue
        read += 1
        bad = bad or s.problem(value, sid)
        if bad is not None:
            refused += 1
            warn(f"stdin line {n}: {bad}")
            continue
        out = s.push(value, sid)
        sid = s.ids[s.series(sid)]
        for k in range(f.horizon):
            emit(",".join([sid, str(k + 1), *(f"{out[name][k]:.12g}" for name in names)]))
    if refused:
        raise UserError(f"stream: expected every line to be a value of a series, got {refused} of {read} refused "
                        f"(each named above; the others were forecast)")
