"""A checkpoint on a pipe: observations read from a text stream one line at a time, each prediction written at
once (what ``gatedrnn stream CHECKPOINT < values.txt`` runs).

``stream_checkpoint(path, stdin, stdout)`` loads the checkpoint (``models.io.resolve_checkpoint``: a
checkpoint folder or a run folder) and picks by its application's adapter (``deploy/adapters.py``):

* a folder written by ``forecast.Forecaster.save`` (every ``gatedrnn forecast`` run): a new value per line
  (``id,value`` for a panel), the next
  ``horizon`` forecasts of that series with their intervals after each (``deploy/forecast_pipe.py``, where a bad
  line is one line on stderr and the stream goes on);
* a checkpoint written by ``Classifier.save``: ``input_size`` raw numbers per line, standardised with the mean and
  std saved beside the network (``classify/export_adapter.py`` checks them), as ``Classifier`` does; prints the
  logits after each step (the last equal ``Classifier.decision_function`` of the whole sequence);
* any other sequence regressor: ``input_size`` numbers per line; prints its outputs;
* a language model: token ids; prints the most likely next id (and its token when the vocabulary is known).

Numbers are separated by commas or blanks; empty lines and ``#`` comments are skipped. Memory stays constant
(``Stream`` keeps only the recurrent state). The first bad line (not numbers, text that is not UTF-8, a value
that is not finite or would overflow the model's float32, a token id that is not an integer of the vocabulary)
ends the stream with one ``UserError`` line naming it, after the predictions of the lines before it; so does a
line whose prediction is not finite (nothing but numbers is printed). A closed stdin or stdout
(``gatedrnn stream CK <&-``) is one line too.
"""

from __future__ import annotations

import math
import re
import sys

import numpy

from gatedrnn.data.numbers import is_number
from gatedrnn.deploy.adapters import adapter_for
from gatedrnn.errors import UserError
from gatedrnn.models.block_lm import BlockLM
from gatedrnn.models.io import load_checkpoint, resolve_checkpoint
from gatedrnn.models.language_model import LanguageModel
from gatedrnn.models.stream import Stream


def _lines(lines):
    """The lines of ``lines``; text that is not UTF-8 is one ``UserError`` naming the line."""
    it, n = iter(lines), 0
    while True:
        n += 1
        try:
            line = next(it)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise UserError(f"stdin line {n}: expected UTF-8 text, got undecodable bytes ({exc.reason})") from None
        yield n, line


def numbers(lines):
    """(line number, list of floats) for every non-empty, non-comment line; commas or blanks separate numbers."""
    for n, line in _lines(lines):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        toks = re.split(r"[,\s]+", line)
        bad = next((tok for tok in toks if not is_number(tok)), None)   # plain decimals, as in every file
        if bad is not None:
            raise UserError(f"stdin line {n}: expected numbers, got {bad[:40]!r}")
        yield n, [float(tok) for tok in toks]


def _standard_streams(stdin, stdout):
    """``stdin`` and ``stdout``, or the process's own; one line when the process was started with one closed
    (``gatedrnn stream CK <&-``: Python then has ``sys.stdin = None``)."""
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    for name, f, what in (("stdin", stdin, "the observations"), ("stdout", stdout, "where the predictions go")):
        if f is None:
            raise UserError(f"stream: expected an open {name} ({what}), got it closed")
    return stdin, stdout


def _finite(values, where: str) -> None:
    """Every output finite before it is printed; else one line naming the input line that caused it."""
    if not all(math.isfinite(v) for v in values):
        raise UserError(f"{where}: expected an input for which the model's output stays finite, got one that gives "
                        f"NaN or Inf (the values are beyond what the model's float32 carries)")


def stream_checkpoint(checkpoint, stdin=None, stdout=None) -> None:
    """Run the checkpoint at ``checkpoint`` over the lines of ``stdin`` (default ``sys.stdin``), writing and
    flushing one line per prediction to ``stdout`` (default ``sys.stdout``); see the module docstring."""
    stdin, stdout = _standard_streams(stdin, stdout)
    found = resolve_checkpoint(checkpoint)
    model, meta, _ = load_checkpoint(found)

    def emit(text):
        stdout.write(text + "\n")
        stdout.flush()

    with numpy.errstate(over="ignore", invalid="ignore"):     # every output is checked finite before it is printed
        _run(model, meta, found, stdin, emit)


def _run(model, meta, found, stdin, emit) -> None:
    """Pick what the checkpoint holds (see the module docstring) and stream ``stdin`` through it."""
    adapter = adapter_for(meta)
    if adapter.whole is not None:                           # an application's object, streamed whole
        adapter.whole.stream(found, _lines(stdin), emit)
    elif isinstance(model, (LanguageModel, BlockLM)):        # token ids in, the next token out
        _next_tokens(Stream(model), (meta.get("vocab") or {}).get("tokens"), stdin, emit)
    else:                                                   # values in, through the application's pre-processing
        _regress(Stream(model, standardize=adapter.io(found, model, meta).standardize), stdin, emit)


def _next_tokens(s, tokens, stdin, emit) -> None:
    V = s.model.vocab_size
    for n, values in numbers(stdin):
        for v in values:
            if not (0 <= v < V and v == math.floor(v)):        # NaN and Inf fail the comparisons
                raise UserError(f"stdin line {n}: expected integer token ids in [0, {V}), got {v:g}")
            logits = s.step(int(v))
            _finite(logits.tolist(), f"stdin line {n}")
            nxt = int(logits.argmax())
            emit(f"{nxt}\t{tokens[nxt]}" if tokens and nxt < len(tokens) else str(nxt))


def _regress(s, stdin, emit) -> None:
    D = s.input_size
    for n, values in numbers(stdin):
        if len(values) != D:
            raise UserError(f"stdin line {n}: expected {D} number{'s' if D > 1 else ''} per line (the model's "
                            f"input_size), got {len(values)}")
        s.check_input(values, f"stdin line {n}")
        y = s.step(values).tolist()
        _finite(y, f"stdin line {n}")
        emit(" ".join(f"{v:.6g}" for v in y))
