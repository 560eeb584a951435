"""Using a trained language model: load it from a checkpoint, its perplexity on a split, text sampled from it
(``gatedrnn eval`` and ``gatedrnn generate``). Generated text streams: ``iter_generated`` yields each token's text
as it is drawn and ``print_generated`` writes it at once, so a long ``--length`` shows text from the first token."""

from __future__ import annotations

import math
import os
import sys

import numpy

from gatedrnn.checkpoint_io import read_checkpoint
from gatedrnn.data.batching import TBPTTBatches
from gatedrnn.data.corpus import EOS, load_corpus
from gatedrnn.data.vocab import LEVELS, Vocab
from gatedrnn.errors import UserError, check_int, check_positive, show
from gatedrnn.layers import SoftmaxCrossEntropy
from gatedrnn.lm.config import LMConfig
from gatedrnn.models.generate import iter_sample
from gatedrnn.models.io import build_model, resolve_checkpoint
from gatedrnn.train.trainer import evaluate


def load_language_model(path):
    """-> (model in eval mode, vocabulary, meta) from a checkpoint or run folder."""
    ck = resolve_checkpoint(path)
    meta, weights, _ = read_checkpoint(ck)
    if "vocab" not in meta:
        raise UserError(f"checkpoint {ck}: expected a language-model checkpoint with a vocabulary, got one without")
    vocab = Vocab.from_dict(meta["vocab"], source=f"checkpoint {ck} vocabulary")
    model = build_model(meta, weights).eval()
    if getattr(model, "vocab_size", None) != len(vocab):
        raise UserError(f"checkpoint {ck}: expected a language model over {len(vocab)} tokens, got "
                         f"{type(model).__name__} with vocab_size {getattr(model, 'vocab_size', None)}")
    return model, vocab, meta


def check_corpus_vocab(corpus, tokens, checkpoint) -> None:
    """The corpus (as loaded now) has the vocabulary ``tokens`` the checkpoint's run was trained on: otherwise the
    corpus file was edited (or another one has its name) and its ids would not mean the model's tokens."""
    if corpus.vocab.tokens != tokens:
        n = len(tokens) if isinstance(tokens, list) else "?"
        raise UserError(f"corpus {corpus.name}: expected the vocabulary the run was trained on ({n} tokens, "
                        f"checkpoint {checkpoint}), got a different one ({len(corpus.vocab)} tokens): the corpus "
                        f"differs from the run's")


def _corpus_of(ck, meta: dict, data_dir):
    spec = meta.get("corpus")
    if not (isinstance(spec, dict) and isinstance(spec.get("corpus"), str) and spec["corpus"]
            and spec.get("level") in (None, *LEVELS)):
        raise UserError(f"checkpoint {ck}: expected meta.json 'corpus' to name the corpus the run was trained on "
                        f"({{\"corpus\": NAME or PATH, \"level\": word or char}}), got {show(spec)}")
    return load_corpus(spec["corpus"], spec.get("level"), data_dir)


def _run_size(ck, meta: dict, name: str) -> int:
    """The run's ``eval_batch_size``/``time_size`` (LMConfig's defaults for a checkpoint without a run config)."""
    config = meta.get("config", {})
    if not isinstance(config, dict):
        raise UserError(f"checkpoint {ck}: expected meta.json 'config' to be an object, got {show(config)}")
    return check_int(f"checkpoint {ck}: meta.json config {name}", config.get(name, getattr(LMConfig(), name)))


def evaluate_checkpoint(path, split: str = "test", *, data_dir=None, batch_size: int | None = None,
                        time_size: int | None = None, corpus=None) -> dict:
    """Perplexity of a checkpoint on a split of the corpus it was trained on -> {loss, ppl, tokens, checkpoint}.
    ``batch_size`` and ``time_size`` default to the run's ``eval_batch_size`` and ``time_size``."""
    for flag, value in (("--batch-size", batch_size), ("--time-size", time_size)):
        if value is not None:   # 0 is not "not given": it is refused, not replaced by the run's value
            check_int(flag, value)
    ck = resolve_checkpoint(path)
    model, vocab, meta = load_language_model(ck)
    if corpus is None:
        corpus = _corpus_of(ck, meta, data_dir)
    check_corpus_vocab(corpus, vocab.tokens, ck)
    given = batch_size is not None
    batches = TBPTTBatches(corpus.split(split), batch_size if batch_size is not None else _run_size(ck, meta, "eval_batch_size"),
                           time_size if time_size is not None else _run_size(ck, meta, "time_size"),
                           name=f"{split} split of corpus {corpus.name}",
                           batch_name="--batch-size" if given else "the run's eval_batch_size (--batch-size)")
    loss = evaluate(model, SoftmaxCrossEntropy(), batches, carry_state=True)
    return {"loss": loss, "ppl": math.exp(loss), "tokens": batches.num_tokens, "checkpoint": str(ck)}


def _pieces(vocab: Vocab, tokens, prev: str | None = None):
    """The text of each token in turn: characters as they are; words after a space, ``<eos>`` as a line break
    with no space on either side."""
    for t in tokens:
        if vocab.level == "char":
            yield t
        else:
            yield ("" if prev is None or t == EOS or prev == EOS else " ") + ("\n" if t == EOS else t)
        prev = t


def detokenize(vocab: Vocab, tokens) -> str:
    """Tokens back to text: words joined by spaces with ``<eos>`` as a line break; characters as they are."""
    return "".join(_pieces(vocab, tokens))


def _start_ids(vocab: Vocab, start: str, allow_unk: bool, warn):
    tokens = vocab.tokenize(start)
    if not tokens:
        raise UserError("--start: expected some text to start from, got an empty string")
    unknown = list(dict.fromkeys(t for t in tokens if t not in vocab))
    if unknown:
        what = "characters" if vocab.level == "char" else "words"
        listed = ", ".join(map(repr, unknown[:10])) + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
        if vocab.unk is None:
            raise UserError(f"--start: expected {what} of the model's vocabulary, got unknown {listed} (it has no "
                            f"unknown-token to read them as)")
        if not allow_unk:
            raise UserError(f"--start: expected {what} of the model's vocabulary, got unknown {listed}; pass "
                            f"--allow-unk to read them as {vocab.unk}")
        warn(f"--start: read the unknown {what} {listed} as {vocab.unk}")
    return tokens, vocab.encode(tokens)


def iter_generated(path, start: str, length: int = 50, *, temperature: float = 1.0, top_k: int | None = None,
                   seed: int | None = 0, allow_unk: bool = False, warn=None):
    """The text of ``start`` then of each of ``length`` sampled tokens, yielded as each is drawn (deterministic for
    a seed). Start tokens outside the vocabulary are an error, unless ``allow_unk``: then they are read as
    ``<unk>`` (said through ``warn``) and the model may also emit ``<unk>``. Everything is checked before the
    first piece."""
    check_int("--length", length, 0)
    check_positive("--temperature", temperature, zero_ok=True)
    if top_k is not None:
        check_int("--top-k", top_k)
    if seed is not None:
        check_int("--seed", seed, 0)
    model, vocab, _ = load_language_model(path)
    tokens, ids = _start_ids(vocab, start, allow_unk, warn or (lambda message: None))
    exclude = [] if allow_unk or vocab.unk is None else [vocab.index[vocab.unk]]
    drawn = iter_sample(model, ids, length, numpy.random.default_rng(seed), temperature=temperature, top_k=top_k,
                        exclude=exclude)
    return _text(vocab, tokens, drawn)


def _text(vocab: Vocab, tokens, drawn):
    yield from _pieces(vocab, tokens)
    prev = tokens[-1]
    for i in drawn:
        t = vocab.tokens[i]
        yield from _pieces(vocab, [t], prev)
        prev = t


def generate_text(path, start: str, length: int = 50, **kwargs) -> str:
    """``start`` followed by ``length`` sampled tokens from the checkpoint's model (deterministic for a seed);
    the keyword arguments are those of ``iter_generated``."""
    return "".join(iter_generated(path, start, length, **kwargs))


def print_generated(path, start: str, length: int = 50, *, out=None, err=None, **kwargs) -> None:
    """What ``gatedrnn generate`` prints: the generated text on ``out`` (stdout), written and flushed token by
    token, then a line break; notes on ``err`` (stderr). A reader that goes away (``| head``) ends it quietly."""
    out = out or sys.stdout
    pieces = iter_generated(path, start, length, warn=lambda m: print(f"gatedrnn generate: {m}", file=err or sys.stderr),
                            **kwargs)
    try:
        for piece in pieces:
            out.write(piece)
            out.flush()
        out.write("\n")
        out.flush()
    except BrokenPipeError:
        # point the file descriptor at /dev/null so that Python's own flush at exit does not complain again
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
