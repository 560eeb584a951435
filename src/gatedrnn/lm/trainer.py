"""``make_trainer(config, corpus, out_dir)``: the language model's ``Trainer`` built from its ``LMConfig``, in one
place: the model, the optimizer and its schedule, the TBPTT batches of the corpus' splits and the callbacks (the
CSV log, the unigram-plateau warning, early stopping, TensorBoard, validation every N steps, the time limit, the
console). ``run.train_language_model`` (and so ``gatedrnn train``) trains through it."""

from __future__ import annotations

from pathlib import Path

from gatedrnn.data.batching import TBPTTBatches
from gatedrnn.layers import SoftmaxCrossEntropy
from gatedrnn.lm.block import optimizer_args
from gatedrnn.lm.build import build_language_model
from gatedrnn.lm.config import LMConfig
from gatedrnn.lm.plateau import PlateauWarning, check_step, unigram_perplexity
from gatedrnn.optim import make_optimizer, make_schedule
from gatedrnn.train.callbacks import Callback, CSVLogger, EarlyStopping, TensorBoardLogger, TimeLimit, ValidateEvery
from gatedrnn.train.console import Console, EpochLines, say
from gatedrnn.train.distributed import communicator
from gatedrnn.train.trainer import Trainer


def _callbacks(config: LMConfig, out_dir: Path, corpus, steps_per_epoch: int, progress: bool, echo) -> list:
    cbs: list[Callback] = [CSVLogger(out_dir / "epochs.csv"),
                           PlateauWarning(unigram_perplexity(corpus.train, len(corpus.vocab)), check_step(steps_per_epoch))]
    if config.patience is not None:
        cbs.append(EarlyStopping(patience=config.patience, min_delta=config.min_delta))
    if config.tensorboard:
        cbs.append(TensorBoardLogger(out_dir / "tensorboard"))
    if config.eval_every:
        cbs.append(ValidateEvery(config.eval_every, config.time_clock))
    if config.time_limit:
        cbs.append(TimeLimit(config.time_limit, config.time_clock))
    # the console last, so that the others keep their places in the checkpoints' callback states
    return cbs + [Console(echo) if progress else EpochLines(echo)]


def make_trainer(config: LMConfig, corpus, out_dir, *, progress: bool = True, echo=say) -> Trainer:
    """The ``Trainer`` of the run ``config`` (validated here) describes on ``corpus`` (what ``data.corpus.load_corpus``
    returns: its vocabulary, its train and valid splits), its checkpoints and logs in ``out_dir``: the model
    (``build_language_model``), the optimizer, the TBPTT batches, the schedule and the callbacks, all from the
    ``LMConfig``. ``progress``: the console's bar (else one line per epoch); ``echo``: where the lines go.
    ``trainer.fit()`` trains; ``train_language_model`` adds the run folder, resuming and the test perplexity."""
    config.validate()
    out_dir = Path(out_dir)
    communicator().even_split("batch_size", config.batch_size)  # under mpiexec each rank trains on its share of the streams
    model = build_language_model(config, len(corpus.vocab), corpus.train)
    kind = f"{config.cell.upper()}{' block' if config.arch == 'block' else ''}"
    echo(f"model: {kind} language model, {model.num_params():,} parameters; config:")
    echo(config.describe())
    optimizer = make_optimizer(config.optimizer, model.params, model.grads, lr=config.lr,
                               **optimizer_args(config, model))
    train_batches = TBPTTBatches(corpus.train, config.batch_size, config.time_size, drop_last=True,
                                 name=f"train split of corpus {corpus.name}")
    total = config.max_steps or config.epochs * len(train_batches)
    schedule = None if config.schedule == "none" else make_schedule(config.schedule, optimizer, **config.schedule_args(total))
    meta = {"config": config.to_dict(), "vocab": corpus.vocab.to_dict(), "corpus": corpus.spec}
    return Trainer(model, SoftmaxCrossEntropy(), optimizer, train_data=train_batches,
                   valid_data=TBPTTBatches(corpus.valid, config.eval_batch_size, config.time_size,
                                           name=f"valid split of corpus {corpus.name}", batch_name="eval_batch_size"),
                   clip=config.clip or None, schedule=schedule, carry_state=True, epochs=config.epochs,
                   max_steps=config.max_steps, out_dir=out_dir, checkpoint_every=config.checkpoint_every,
                   log_every=config.log_every, perplexity=True, meta=meta,
                   callbacks=_callbacks(config, out_dir, corpus, len(train_batches), progress, echo), echo=echo)
