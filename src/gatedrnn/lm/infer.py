"""Using a trained language model: load it from a checkpoint, its perplexity on a split, text sampled from it
(``gatedrnn eval`` and ``gatedrnn generate``)."""

from __future__ import annotations

import math

import numpy

from gatedrnn.data.batching import TBPTTBatches
from gatedrnn.data.corpus import EOS, load_corpus
from gatedrnn.data.vocab import Vocab
from gatedrnn.errors import UserError
from gatedrnn.layers import SoftmaxCrossEntropy
from gatedrnn.lm.config import LMConfig
from gatedrnn.models.generate import sample
from gatedrnn.train.checkpoint import build_model, read_checkpoint, resolve_checkpoint
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


def evaluate_checkpoint(path, split: str = "test", *, data_dir=None, batch_size: int | None = None,
                        time_size: int | None = None, corpus=None) -> dict:
    """Perplexity of a checkpoint on a split of the corpus it was trained on -> {loss, ppl, tokens, checkpoint}."""
    model, vocab, meta = load_language_model(path)
    config = LMConfig.from_dict(meta["config"]) if "config" in meta else LMConfig()
    if corpus is None:
        spec = meta.get("corpus")
        if not spec:
            raise UserError(f"checkpoint {path}: expected the corpus it was trained on in meta.json, got none")
        corpus = load_corpus(spec["corpus"], spec.get("level"), data_dir)
    if corpus.vocab.tokens != vocab.tokens:
        raise UserError(f"checkpoint {path}: expected the vocabulary of corpus {corpus.name} ({len(corpus.vocab)} tokens), "
                         f"got a different one ({len(vocab)} tokens)")
    batches = TBPTTBatches(corpus.split(split), batch_size or config.eval_batch_size, time_size or config.time_size)
    loss = evaluate(model, SoftmaxCrossEntropy(), batches, carry_state=True)
    return {"loss": loss, "ppl": math.exp(loss), "tokens": batches.num_tokens, "checkpoint": str(resolve_checkpoint(path))}


def detokenize(vocab: Vocab, tokens) -> str:
    """Tokens back to text: words joined by spaces with ``<eos>`` as a line break; characters as they are."""
    if vocab.level == "char":
        return "".join(tokens)
    return " ".join(tokens).replace(f" {EOS} ", "\n").replace(f" {EOS}", "\n").replace(f"{EOS} ", "\n").replace(EOS, "\n")


def generate_text(path, start: str, length: int = 50, *, temperature: float = 1.0, top_k: int | None = None,
                  seed: int | None = 0, allow_unk: bool = False) -> str:
    """``start`` followed by ``length`` sampled tokens from the checkpoint's model (deterministic for a seed)."""
    model, vocab, _ = load_language_model(path)
    tokens = vocab.tokenize(start)
    if not tokens:
        raise UserError("--start: expected some text to start from, got an empty string")
    ids = vocab.encode(tokens)
    exclude = [] if allow_unk or vocab.unk is None else [vocab.index[vocab.unk]]
    out = sample(model, ids, length, numpy.random.default_rng(seed), temperature=temperature, top_k=top_k, exclude=exclude)
    return detokenize(vocab, tokens + vocab.decode(out))
