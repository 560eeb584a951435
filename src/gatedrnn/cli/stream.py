"""``gatedrnn stream CHECKPOINT < values.txt``: predictions printed as the observations arrive on stdin."""

from __future__ import annotations

import re
import sys
from pathlib import Path


def register(sub):
    p = sub.add_parser("stream", help="read observations from stdin one at a time, print each prediction at once",
                       description="Runs a checkpoint one step at a time (constant memory: only the recurrent state is "
                                   "kept) and prints a prediction per observation as soon as it is read. A forecaster "
                                   "from `gatedrnn forecast` reads one number per step and prints the forecast of the "
                                   "next value (nan after the first, which only primes the change input); any other "
                                   "sequence regressor reads input_size numbers per line and prints its outputs; a "
                                   "language model reads token ids and prints the most likely next id (and token).")
    p.add_argument("checkpoint", help="a checkpoint folder (meta.json + model.npz) or a run folder holding model/, "
                                      "best/ or last/")
    p.set_defaults(func=run)


def find_checkpoint(path) -> Path:
    """A checkpoint folder, or the model/, best/ or last/ checkpoint inside a run folder."""
    path = Path(path)
    for cand in (path, path / "model", path / "best", path / "last"):
        if (cand / "meta.json").is_file():
            return cand
    raise FileNotFoundError(f"checkpoint {path}: expected a folder with meta.json and model.npz (or a run folder "
                            f"holding model/, best/ or last/), got {'no such path' if not path.exists() else 'neither'}")


def _numbers(lines):
    """(line number, list of floats) for every non-empty, non-comment line; commas or spaces separate numbers."""
    for n, line in enumerate(lines, start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        out = []
        for tok in re.split(r"[,\s]+", line):
            try:
                out.append(float(tok))
            except ValueError:
                raise ValueError(f"stdin line {n}: expected numbers, got {tok[:40]!r}") from None
        yield n, out


def run(args, stdin=None, stdout=None):
    from gatedrnn.data.series import SeriesScaler
    from gatedrnn.deploy import SeriesStream, Stream
    from gatedrnn.models import LanguageModel
    from gatedrnn.train.checkpoint import load_checkpoint

    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    model, meta, _ = load_checkpoint(find_checkpoint(args.checkpoint))

    def emit(text):
        stdout.write(text + "\n")
        stdout.flush()

    series = meta.get("series")
    if isinstance(series, dict) and series.get("kind") == "forecaster":
        s = SeriesStream(model, SeriesScaler.from_dict(series.get("scaler", {})))
        for _, values in _numbers(stdin):
            for v in values:
                emit(f"{s.step(v):.6g}")
        return 0
    s = Stream(model)
    if isinstance(model, LanguageModel):
        tokens = (meta.get("vocab") or {}).get("tokens")
        for n, values in _numbers(stdin):
            for v in values:
                if v != int(v):
                    raise ValueError(f"stdin line {n}: expected integer token ids, got {v:g}")
                nxt = int(s.step(int(v)).argmax())
                emit(f"{nxt}\t{tokens[nxt]}" if tokens and nxt < len(tokens) else str(nxt))
        return 0
    D = s.input_size
    for n, values in _numbers(stdin):
        if len(values) != D:
            raise ValueError(f"stdin line {n}: expected {D} number{'s' if D > 1 else ''} per line (the model's "
                             f"input_size), got {len(values)}")
        y = s.step(values)
        emit(" ".join(f"{v:.6g}" for v in y.tolist()))
    return 0
