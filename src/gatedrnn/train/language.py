"""Language-model runs end to end: corpus -> TBPTT batches -> model -> Trainer -> test perplexity, and the
checkpoint-side helpers behind ``gatedrnn eval`` and ``gatedrnn generate``.

A run's folder (``--out``) holds ``last/`` and ``best/`` checkpoints (weights + ``meta.json`` with the
``TrainConfig``, the vocabulary, the corpus and the whole training state), ``log.jsonl``, ``curves.png``,
``vocab.json``, ``config.json`` and, when the run finishes, ``results.json`` with the test perplexity.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy

from gatedrnn.atomic import write_text_atomic
from gatedrnn.data.batching import TBPTTBatches
from gatedrnn.data.corpus import EOS, load_corpus
from gatedrnn.data.vocab import Vocab
from gatedrnn.layers import SoftmaxCrossEntropy
from gatedrnn.models.generate import sample
from gatedrnn.models.presets import TrainConfig, build_language_model
from gatedrnn.optim import make_optimizer, make_schedule
from gatedrnn.train.checkpoint import build_model, read_checkpoint
from gatedrnn.train.trainer import Trainer, evaluate, say

# what may change when a run is resumed; everything else must stay as the run started
RESUMABLE = ("epochs", "max_steps", "log_every", "checkpoint_every")


def _write_json(path: Path, obj) -> None:
    write_text_atomic(path, json.dumps(obj, indent=1))


def resume_config(out_dir, overrides: dict) -> TrainConfig:
    """The config saved in ``out_dir/last``, with the ``RESUMABLE`` fields of ``overrides`` applied
    (``max_steps`` only when given again).

    Any other override that differs from the saved run is an error (a resumed run continues the same run).
    """
    last = Path(out_dir) / "last"
    if not (last / "meta.json").is_file():
        raise FileNotFoundError(f"resume: expected a checkpoint at {last} from an earlier run, got none")
    meta, _, _ = read_checkpoint(last)
    if "config" not in meta:
        raise ValueError(f"resume: expected a language-model training checkpoint at {last}, got one without a config")
    saved = TrainConfig.from_dict(meta["config"])
    values = saved.to_dict()
    values["max_steps"] = None  # a stopping point of one invocation, not part of the run: give it again to stop again
    for key, v in overrides.items():
        if v is None or key in RESUMABLE:
            if v is not None:
                values[key] = v
            continue
        if values.get(key) != v:
            raise ValueError(f"resume: --{key.replace('_', '-')} {v!r} differs from the run's {values.get(key)!r}; "
                             f"only {', '.join('--' + k.replace('_', '-') for k in RESUMABLE)} may change on resume")
    return TrainConfig.from_dict(values)


def train_language_model(config: TrainConfig, out_dir, *, data_dir=None, resume: bool = False, overwrite: bool = False,
                         progress: bool = True, echo=say) -> dict:
    """Train (or resume) the run ``config`` describes in ``out_dir``; returns the summary, with the test
    perplexity of the best checkpoint when the run finished."""
    t0 = time.perf_counter()
    config.validate()
    out_dir = Path(out_dir)
    if not resume and (out_dir / "last").exists() and not overwrite:
        raise ValueError(f"--out {out_dir}: expected a folder without an earlier run, got one with last/; "
                         f"pass --resume to continue it, --overwrite to start again, or another --out")
    corpus = load_corpus(config.corpus, config.level, data_dir, progress=progress)
    vocab = corpus.vocab
    echo(f"gatedrnn train: {corpus}")
    model = build_language_model(config, len(vocab), corpus.train)
    echo(f"model: {config.cell.upper()} language model, {model.num_params():,} parameters; config:")
    echo(config.describe())
    optimizer = make_optimizer(config.optimizer, model.params, model.grads, lr=config.lr)
    train_batches = TBPTTBatches(corpus.train, config.batch_size, config.time_size, drop_last=True)
    valid_batches = TBPTTBatches(corpus.valid, config.eval_batch_size, config.time_size)
    schedule = None
    if config.schedule not in ("none", None):
        extra = {"total_steps": config.max_steps or config.epochs * len(train_batches)} if config.schedule == "cosine" else {}
        schedule = make_schedule(config.schedule, optimizer, **extra)
    meta = {"config": config.to_dict(), "vocab": vocab.to_dict(), "corpus": corpus.spec}
    trainer = Trainer(model, SoftmaxCrossEntropy(), optimizer, train_data=train_batches, valid_data=valid_batches,
                      clip=config.clip or None, schedule=schedule, carry_state=True, epochs=config.epochs,
                      max_steps=config.max_steps, out_dir=out_dir, checkpoint_every=config.checkpoint_every,
                      log_every=config.log_every, progress=progress, meta=meta, echo=echo)
    if resume:
        saved = trainer.load(out_dir / "last")
        if saved.get("vocab", {}).get("tokens") != vocab.tokens:
            raise ValueError(f"resume: expected the corpus vocabulary of the run in {out_dir}, got a different one")
        echo(f"resumed from {out_dir / 'last'} at step {trainer.step} (epoch {trainer.epoch + 1}, batch {trainer.pos})")
    else:
        out_dir.mkdir(parents=True, exist_ok=True)
        if overwrite:
            for name in ("log.jsonl", "results.json"):
                (out_dir / name).unlink(missing_ok=True)
        vocab.save(out_dir / "vocab.json")
        _write_json(out_dir / "config.json", config.to_dict())
        trainer.log({"event": "start", "config": config.to_dict(), "params": model.num_params(), "cores": os.cpu_count()})
    echo(f"training: {len(train_batches)} windows of {config.batch_size}x{config.time_size} per epoch, "
         f"checkpoints in {out_dir}")
    summary = trainer.fit()
    summary["out_dir"] = str(out_dir)
    if summary["stopped"] == "done":
        best = out_dir / "best" if (out_dir / "best").is_dir() else out_dir / "last"
        res = evaluate_checkpoint(best, "test", data_dir=data_dir, corpus=corpus)
        summary.update(test_loss=res["loss"], test_ppl=res["ppl"], test_tokens=res["tokens"], checkpoint=str(best))
        wall = time.perf_counter() - t0
        results = {"test_ppl": res["ppl"], "test_loss": res["loss"], "test_tokens": res["tokens"],
                   "best_val_ppl": math.exp(trainer.best_val) if math.isfinite(trainer.best_val) else None,
                   "steps": trainer.step, "epochs": trainer.epoch, "wall_seconds_this_process": wall,
                   "train_seconds": summary["train_seconds"],
                   "cores": os.cpu_count(), "checkpoint": str(best), "config": config.to_dict()}
        _write_json(out_dir / "results.json", results)
        trainer.log({"event": "test", **{k: v for k, v in results.items() if k != "config"}})
        echo(f"test perplexity {res['ppl']:.2f} ({res['tokens']:,} tokens, checkpoint {best}); "
             f"wall time {wall / 60:.1f} min on {os.cpu_count()} cores")
    return summary


# -- checkpoints ----------------------------------------------------------------------------------------
def resolve_checkpoint(path) -> Path:
    """A checkpoint folder, or a run folder (its ``best/``, else its ``last/``)."""
    path = Path(path)
    if (path / "meta.json").is_file():
        return path
    for name in ("best", "last"):
        if (path / name / "meta.json").is_file():
            return path / name
    raise FileNotFoundError(f"checkpoint {path}: expected a checkpoint folder (meta.json, model.npz) or a run folder "
                            f"with best/ or last/, got {'no such path' if not path.exists() else 'neither'}")


def load_language_model(path):
    """-> (model in eval mode, vocabulary, meta) from a checkpoint or run folder."""
    ck = resolve_checkpoint(path)
    meta, weights, _ = read_checkpoint(ck)
    if "vocab" not in meta:
        raise ValueError(f"checkpoint {ck}: expected a language-model checkpoint with a vocabulary, got one without")
    vocab = Vocab.from_dict(meta["vocab"], source=f"checkpoint {ck} vocabulary")
    model = build_model(meta, weights).eval()
    if getattr(model, "vocab_size", None) != len(vocab):
        raise ValueError(f"checkpoint {ck}: expected a language model over {len(vocab)} tokens, got "
                         f"{type(model).__name__} with vocab_size {getattr(model, 'vocab_size', None)}")
    return model, vocab, meta


def evaluate_checkpoint(path, split: str = "test", *, data_dir=None, batch_size: int | None = None,
                        time_size: int | None = None, corpus=None) -> dict:
    """Perplexity of a checkpoint on a split of the corpus it was trained on -> {loss, ppl, tokens, checkpoint}."""
    model, vocab, meta = load_language_model(path)
    config = TrainConfig.from_dict(meta["config"]) if "config" in meta else TrainConfig()
    if corpus is None:
        spec = meta.get("corpus")
        if not spec:
            raise ValueError(f"checkpoint {path}: expected the corpus it was trained on in meta.json, got none")
        corpus = load_corpus(spec["corpus"], spec.get("level"), data_dir)
    if corpus.vocab.tokens != vocab.tokens:
        raise ValueError(f"checkpoint {path}: expected the vocabulary of corpus {corpus.name} ({len(corpus.vocab)} tokens), "
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
        raise ValueError("--start: expected some text to start from, got an empty string")
    ids = vocab.encode(tokens)
    exclude = [] if allow_unk or vocab.unk is None else [vocab.index[vocab.unk]]
    out = sample(model, ids, length, numpy.random.default_rng(seed), temperature=temperature, top_k=top_k, exclude=exclude)
    return detokenize(vocab, tokens + vocab.decode(out))
