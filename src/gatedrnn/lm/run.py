"""Language-model runs end to end: corpus -> TBPTT batches -> model -> Trainer -> test perplexity.

A run's folder (``--out``) holds ``last/`` and ``best/`` checkpoints (weights + ``meta.json`` with the
``LMConfig``, the vocabulary, the corpus and the whole training state), ``log.jsonl``, ``epochs.csv``,
``curves.png``, ``vocab.json``, ``config.json`` (re-runs the run: ``gatedrnn train --config RUN/config.json``) and,
when the run finishes, ``results.json`` with the test perplexity.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path

from gatedrnn.atomic import remove_temporaries, write_text_atomic
from gatedrnn.config import load_config_file
from gatedrnn.data.corpus import load_corpus
from gatedrnn.errors import UserError
from gatedrnn.lm.config import LMConfig
from gatedrnn.lm.infer import check_corpus_vocab, evaluate_checkpoint
from gatedrnn.lm.presets import preset_values
from gatedrnn.lm.trainer import make_trainer
from gatedrnn.run_lock import run_lock
from gatedrnn.train.checkpoint import locate_checkpoint, read_checkpoint, recover_checkpoints, remove_checkpoint
from gatedrnn.train.console import say
from gatedrnn.train.distributed import communicator, digest
from gatedrnn.train.stop import StopReason
from gatedrnn.train.trainer import Trainer

# what may change when a run is resumed; everything else must stay as the run started
RESUMABLE = ("epochs", "max_steps", "log_every", "checkpoint_every", "patience", "min_delta", "tensorboard")
# how a run ended: finished (a time limit too, but --resume may continue it), and so its best weights tested
FINISHED = (StopReason.DONE, StopReason.EARLY_STOPPING)
TESTED = FINISHED + (StopReason.TIME_LIMIT,)
# everything a run writes into its folder: --overwrite removes all of it first
RUN_FILES = ("last", "best", "log.jsonl", "epochs.csv", "curves.png", "vocab.json", "config.json", "results.json",
             "tensorboard")


def make_run_config(*, config_file=None, preset: str | None = None, flags: dict | None = None) -> LMConfig:
    """A new run's config: the preset's values (``preset``, else the file's ``preset``, else small), then the
    config file's, then the command line's ``flags``."""
    from_file = load_config_file(config_file) if config_file else {}
    name = preset or from_file.get("preset") or "small"
    given = {**from_file, **(flags or {})}
    return LMConfig.from_dict({**preset_values(name, given), **given, "preset": name})


def resume_config(out_dir, overrides: dict) -> LMConfig:
    """The config saved in ``out_dir/last``, with the ``RESUMABLE`` fields of ``overrides`` applied
    (``max_steps`` only when given again). Any other override that differs from the saved run is an error."""
    last = Path(out_dir) / "last"
    if locate_checkpoint(last) is None:  # also finds the checkpoint of a save killed between its two renames
        raise FileNotFoundError(f"resume: expected a checkpoint at {last} from an earlier run, got none")
    meta, _, _ = read_checkpoint(last)
    if "config" not in meta:
        raise UserError(f"resume: expected a language-model training checkpoint at {last}, got one without a config")
    values = LMConfig.from_dict(meta["config"]).to_dict()
    values["max_steps"] = None  # a stopping point of one invocation, not part of the run: give it again to stop again
    for key, v in overrides.items():
        if key in RESUMABLE:
            values[key] = v
        elif values.get(key) != v:
            raise UserError(f"resume: --{key.replace('_', '-')} {v!r} differs from the run's {values.get(key)!r}; "
                            f"only {', '.join('--' + k.replace('_', '-') for k in RESUMABLE)} may change on resume")
    return LMConfig.from_dict(values)


def head_of_training(corpus, fraction: float):
    """``corpus`` with its training split cut to the leading ``fraction`` of its tokens (the vocabulary, the
    validation and test splits unchanged)."""
    if fraction >= 1:
        return corpus
    n = int(len(corpus.train) * fraction)
    if n < 2:
        raise UserError(f"train_fraction: expected a fraction leaving at least 2 training tokens, got {fraction} "
                        f"of {len(corpus.train)}")
    return replace(corpus, train=corpus.train[:n])


def default_out(config: LMConfig) -> str:
    name = config.corpus if config.corpus in ("ptb", "tinyshakespeare") else Path(config.corpus).stem
    return f"runs/{name}-{config.preset}-{config.cell}"


def _start(trainer: Trainer, config: LMConfig, corpus, out_dir: Path, overwrite: bool) -> None:
    if overwrite:
        for name in RUN_FILES:
            p = out_dir / name
            if name in ("last", "best"):
                remove_checkpoint(p)  # and what killed saves left beside it: no reader may find the old run's
            else:
                shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
        remove_temporaries(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    corpus.vocab.save(out_dir / "vocab.json")
    trainer.log({"event": "start", "config": config.to_dict(), "params": trainer.model.num_params(), "cores": os.cpu_count()})


def _resume(trainer: Trainer, corpus, out_dir: Path, echo) -> None:
    meta, _, _ = read_checkpoint(out_dir / "last")
    check_corpus_vocab(corpus, (meta.get("vocab") or {}).get("tokens"), out_dir / "last")   # before any shape error
    trainer.load(out_dir / "last")
    echo(f"resumed from {out_dir / 'last'} at step {trainer.step} (epoch {trainer.epoch + 1}, batch {trainer.pos})")


def train_language_model(config: LMConfig, out_dir, *, data_dir=None, resume: bool = False, overwrite: bool = False,
                         progress: bool = True, echo=say) -> dict:
    """Train (or resume) the run ``config`` describes in ``out_dir``; returns the summary, with the test
    perplexity of the best checkpoint when the run finished (all epochs, or stopped early)."""
    config.validate()
    out_dir = Path(out_dir)
    # one training per folder (under MPI rank 0 holds it): a second one gets a one-line error naming this process
    with communicator().on_root(run_lock(out_dir)):
        return _train_locked(config, out_dir, data_dir, resume, overwrite, progress, echo)


def _train_locked(config: LMConfig, out_dir: Path, data_dir, resume: bool, overwrite: bool, progress: bool,
                  echo) -> dict:
    t0 = time.perf_counter()
    comm = communicator()  # under mpiexec an error on any rank ends every rank after a ``together`` block; rank 0 writes
    with comm.together():
        if not overwrite and comm.is_root:
            recover_checkpoints(out_dir)  # a checkpoint a killed save left aside goes back in place; orphans go
        if not resume and (out_dir / "last").exists() and not overwrite:
            raise UserError(f"--out {out_dir}: expected a folder without an earlier run, got one with last/; "
                            f"pass --resume to continue it, --overwrite to start again, or another --out")
        corpus = head_of_training(load_corpus(config.corpus, config.level, data_dir, progress=progress),
                                  config.train_fraction)
        echo(f"gatedrnn train: {corpus}")
        trainer = make_trainer(config, corpus, out_dir, progress=progress, echo=echo)
    comm.check_same("the config and the corpus", digest(config.to_dict(), corpus.train, corpus.valid))
    with comm.together():
        if resume:
            _resume(trainer, corpus, out_dir, echo)
        elif comm.is_root:
            _start(trainer, config, corpus, out_dir, overwrite)
        if comm.is_root:
            write_text_atomic(out_dir / "config.json", json.dumps(config.to_dict(), indent=1))
    echo(f"training: {len(trainer.train_data)} windows of {config.batch_size}x{config.time_size} per epoch, "
         f"checkpoints in {out_dir}")
    summary = trainer.fit()
    summary["out_dir"] = str(out_dir)
    if summary["stopped"] in TESTED and comm.is_root:
        _test(trainer, config, corpus, out_dir, summary, data_dir, time.perf_counter() - t0, echo)
    elif summary["stopped"] == StopReason.MAX_STEPS and comm.is_root:
        _stopped_results(trainer, config, out_dir, summary, time.perf_counter() - t0)
    return summary


def _stopped_results(trainer, config, out_dir: Path, summary: dict, wall: float) -> None:
    """``results.json`` for a run stopped by ``max_steps``: what it has (the validation perplexity at the stop),
    no test perplexity (the run is not finished: ``--resume`` continues it and writes the final results)."""
    results = {"stopped": StopReason.MAX_STEPS, "val_ppl": summary.get("val_ppl"), "val_loss": summary.get("val_loss"),
               "best_val_ppl": math.exp(trainer.best_val) if math.isfinite(trainer.best_val) else None,
               "steps": trainer.step, "epochs": trainer.epoch, "wall_seconds_this_process": wall,
               "train_seconds": summary["train_seconds"], "cores": os.cpu_count(), "checkpoint": str(out_dir / "last"),
               "config": config.to_dict()}
    write_text_atomic(out_dir / "results.json", json.dumps(results, indent=1))


def _test(trainer, config, corpus, out_dir: Path, summary: dict, data_dir, wall: float, echo) -> None:
    """Test perplexity of the best checkpoint, into the summary, ``results.json`` and the log."""
    best = out_dir / "best" if (out_dir / "best").is_dir() else out_dir / "last"
    res = evaluate_checkpoint(best, "test", data_dir=data_dir, corpus=corpus)
    summary.update(test_loss=res["loss"], test_ppl=res["ppl"], test_tokens=res["tokens"], checkpoint=str(best))
    results = {"test_ppl": res["ppl"], "test_loss": res["loss"], "test_tokens": res["tokens"],
               "best_val_ppl": math.exp(trainer.best_val) if math.isfinite(trainer.best_val) else None,
               "steps": trainer.step, "epochs": trainer.epoch, "stopped": summary["stopped"],
               "wall_seconds_this_process": wall, "train_seconds": summary["train_seconds"],
               "cores": os.cpu_count(), "checkpoint": str(best), "config": config.to_dict()}
    write_text_atomic(out_dir / "results.json", json.dumps(results, indent=1))
    trainer.log({"event": "test", **{k: v for k, v in results.items() if k != "config"}})
    echo(f"test perplexity {res['ppl']:.2f} ({res['tokens']:,} tokens, checkpoint {best}); "
         f"wall time {wall / 60:.1f} min on {os.cpu_count()} cores")


def train_command(*, flags: dict, config_file=None, preset=None, out=None, resume: bool = False,
                  overwrite: bool = False, data_dir=None, progress: bool = True, echo=say) -> dict:
    """What ``gatedrnn train`` does with its parsed arguments: build the config (or take the run's, to resume),
    train, and say how to continue a stopped run. Under ``mpiexec -n N`` every rank runs this and rank 0 alone
    prints (``gatedrnn.train.distributed``)."""
    comm = communicator()
    with comm.quiet():
        return _train_command(flags=flags, config_file=config_file, preset=preset, out=out, resume=resume,
                              overwrite=overwrite, data_dir=data_dir, progress=progress and comm.is_root,
                              echo=comm.root_echo(echo))


def _train_command(*, flags: dict, config_file, preset, out, resume: bool, overwrite: bool, data_dir, progress: bool,
                   echo) -> dict:
    if resume:
        if out is None:
            raise UserError("--resume: expected --out naming the run folder to continue, got none")
        if config_file or preset:
            raise UserError("--resume: expected the run's own config, got --config or --preset as well")
        config = resume_config(out, flags)
    else:
        config = make_run_config(config_file=config_file, preset=preset, flags=flags)
    out = out or default_out(config)
    summary = train_language_model(config, out, data_dir=data_dir, resume=resume, overwrite=overwrite,
                                   progress=progress, echo=echo)
    if summary["stopped"] not in FINISHED:
        echo(f"stopped at step {summary['step']}; continue with: gatedrnn train --out {out} --resume")
    return summary
