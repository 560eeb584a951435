"""The language-model run configuration: one dataclass, printed at the start of a run, saved with every checkpoint
and as the run's ``config.json``, and turned into the flags of ``gatedrnn train``."""

from __future__ import annotations

from dataclasses import dataclass

from gatedrnn.config import Config, option
from gatedrnn.errors import UserError, check_count, check_finite_number, check_int, check_nonnegative, check_positive, check_probability
from gatedrnn.layers import CELLS
from gatedrnn.layers.norms import NORMS
from gatedrnn.models.block import BLOCK_CELLS
from gatedrnn.optim import OPTIMIZERS

INITS = ("default", "book", "uniform")
OUTPUT_BIASES = ("zero", "unigram")
SCHEDULES = ("none", "plateau", "step", "cosine")
DTYPES = ("float32", "float64")
LEVELS = ("word", "char")
ARCHS = ("rnn", "block")


def _cells():
    return list(CELLS)


def _fraction(name, v):
    v = check_positive(name, v)
    if v > 1:
        raise UserError(f"{name}: expected a fraction in (0, 1], got {v}")
    return v


def _optional_count(name, v):
    return check_int(name, v, 0, none_ok=True)


def _optional_number(name, v):
    return v if v is None else check_finite_number(name, v)


def _optional_positive(name, v):
    return v if v is None else check_positive(name, v)


@dataclass
class LMConfig(Config):
    """Everything that defines a language-model training run (``--name value`` on the command line)."""

    preset: str = option("small", "the preset the run started from", flag=False)
    corpus: str = option("ptb", "ptb, tinyshakespeare, or a text file (split 90/5/5) or a folder with "
                         "train.txt/valid.txt/test.txt")
    level: str | None = option(None, "tokens of a text corpus (none = the corpus's own: ptb word, tinyshakespeare "
                               "char)", choices=LEVELS)
    arch: str = option("rnn", "rnn = embedding, a stack of recurrent layers, output layer; block = pre-norm residual "
                       "blocks of causal conv, minGRU/minLSTM and feed-forward (gatedrnn.models.BlockLM; d_model = "
                       "hidden_size, embed_size unused)", choices=ARCHS, group="model")
    cell: str = option("lstm", "recurrent cell", choices=_cells, group="model")
    expansion: float = option(2.0, "block: the minRNN's width as a multiple of hidden_size", check=check_positive,
                              group="model")
    conv_kernel: int = option(4, "block: taps of the causal depthwise conv", check=check_int, group="model")
    ff_mult: int = option(4, "block: the feed-forward width as a multiple of hidden_size", check=check_int,
                          group="model")
    norm: str = option("layer", "block: layer (LayerNorm) or rms (RMSNorm)", choices=lambda: sorted(NORMS),
                       group="model")
    embed_size: int = option(100, "embedding size", check=check_int, group="model")
    hidden_size: int = option(100, "hidden units per layer", check=check_int, group="model")
    num_layers: int = option(1, "recurrent layers", check=check_int, group="model")
    dropout: float = option(0.0, "dropout on the embedding, between layers and before the output", check=check_probability,
                            group="model")
    tie_weights: bool = option(False, "share the embedding and output matrices (needs embed_size == hidden_size)",
                               group="model")
    forget_bias: float | None = option(None, "LSTM forget-gate bias at the start (none = 1.0, but with init uniform "
                                       "the bias stays in the uniform draw)", check=_optional_number, group="model")
    input_gain: float = option(1.0, "multiply the first layer's input weights by this at the start",
                               check=check_positive, group="model")
    init: str = option("book", "weights: book = the book's Rnnlm (normal, scaled by fan-in), default = "
                       "LanguageModel's (uniform, the cells' own 1/sqrt(H)), uniform = every parameter, biases "
                       "included, uniform in +-init_scale (Zaremba et al. 2014, TF's PTB tutorial)", choices=INITS,
                       group="model")
    init_scale: float | None = option(None, "init uniform: the bound S of the draw (none = 0.1); only with init "
                                      "uniform", check=_optional_positive, group="model")
    output_bias: str | None = option(None, "output bias at the start: log unigram frequencies of the training split, "
                                     "or zero (none = unigram, but with init uniform the bias stays in the uniform "
                                     "draw)", choices=OUTPUT_BIASES, group="model")
    dtype: str = option("float32", "floating-point type", choices=DTYPES, group="model")
    optimizer: str = option("sgd", "optimizer", choices=lambda: sorted(OPTIMIZERS), group="optimisation")
    lr: float = option(20.0, "learning rate", check=check_positive, group="optimisation")
    weight_decay: float = option(0.0, "adamw: decoupled weight decay of the matrices (biases, norms and the "
                                 "embedding are not decayed)", check=check_nonnegative, group="optimisation")
    clip: float = option(0.25, "global gradient-norm threshold, 0 = off",
                         check=check_nonnegative, group="optimisation")
    schedule: str = option("none", "learning-rate schedule: plateau = divide by plateau_factor when validation "
                           "perplexity does not improve (the book's), step = keep the rate for step_start epochs then "
                           "multiply by step_factor every step_size epochs, cosine = half a cosine to cosine_floor",
                           choices=SCHEDULES, group="optimisation")
    plateau_factor: float = option(4.0, "plateau schedule: divide the rate by this", check=check_positive,
                                   group="optimisation")
    plateau_patience: int = option(0, "plateau schedule: epochs without improvement tolerated before dividing",
                                   check=check_count, group="optimisation")
    step_start: int = option(1, "step schedule: epochs at the full rate before the first decay", check=check_int,
                             group="optimisation")
    step_size: int = option(1, "step schedule: epochs between decays", check=check_int, group="optimisation")
    step_factor: float = option(0.5, "step schedule: multiply the rate by this at each decay", check=check_positive,
                                group="optimisation")
    cosine_warmup: int = option(0, "cosine schedule: steps of linear warm-up", check=check_count,
                                group="optimisation")
    cosine_floor: float = option(0.0, "cosine schedule: the rate at the end",
                                 check=check_nonnegative, group="optimisation")
    epochs: int = option(4, "passes over the training split", check=check_int, group="optimisation")
    max_steps: int | None = option(None, "stop after this many optimizer steps in total (none = all epochs)",
                                   check=lambda n, v: check_int(n, v, none_ok=True), group="optimisation")
    patience: int | None = option(None, "early stopping: stop after this many epochs without a better validation "
                                  "perplexity and keep the best weights (none = off)", check=_optional_count,
                                  group="optimisation")
    min_delta: float = option(0.0, "early stopping: the improvement in validation loss (nats) that counts",
                              check=check_nonnegative, group="optimisation")
    train_fraction: float = option(1.0, "train on this leading fraction of the training split (small-data "
                                   "experiments; validation and test stay whole)", check=_fraction, group="optimisation")
    time_limit: float = option(0.0, "stop after this many seconds of training wall time, 0 = no limit (equal "
                               "wall-clock budgets); the run is then tested like a finished one",
                               check=check_nonnegative, group="optimisation")
    time_clock: str = option("wall", "what time_limit and the validation records' seconds count: wall (the "
                             "clock) or cpu (this process's CPU time: steadier on a shared machine, with one BLAS "
                             "thread)", choices=("wall", "cpu"), group="optimisation")
    batch_size: int = option(20, "parallel streams of the training split", check=check_int, group="optimisation")
    time_size: int = option(35, "Truncated BPTT window length", check=check_int, group="optimisation")
    eval_batch_size: int = option(10, "parallel streams when evaluating", check=check_int, group="optimisation")
    seed: int = option(0, "seed of the weights and of dropout", check=check_count, group="optimisation")
    log_every: int = option(50, "steps between log records", check=check_int, group="run")
    eval_every: int = option(0, "steps between validation records in log.jsonl (learning curves finer than an "
                             "epoch), 0 = epoch ends only", check=check_count, group="run")
    checkpoint_every: int = option(500, "steps between mid-epoch checkpoints, 0 = epoch ends only",
                                   check=check_count, group="run")
    tensorboard: bool = option(False, "also write TensorBoard scalars to OUT/tensorboard (needs tensorboardX)",
                               group="run")

    def validate(self) -> "LMConfig":
        super().validate()
        if self.arch == "block" and self.cell not in BLOCK_CELLS:
            raise UserError(f"cell: expected one of {list(BLOCK_CELLS)} with arch block, got {self.cell!r}")
        if self.arch == "rnn" and self.tie_weights and self.embed_size != self.hidden_size:
            raise UserError(f"tie_weights: expected embed_size == hidden_size, got {self.embed_size} and {self.hidden_size}")
        if self.schedule == "step" and not self.step_factor <= 1:
            raise UserError(f"step_factor: expected a number in (0, 1], got {self.step_factor}")
        if self.init_scale is not None and self.init != "uniform":
            raise UserError(f"init_scale: expected init 'uniform' (the only initialisation with a scale), got init "
                            f"{self.init!r}")
        if self.schedule == "plateau" and not self.plateau_factor > 1:
            raise UserError(f"plateau_factor: expected a number > 1, got {self.plateau_factor}")
        return self

    def schedule_args(self, total_steps: int) -> dict:
        """The keyword arguments of ``gatedrnn.optim.make_schedule`` for this config's schedule."""
        return {"plateau": {"factor": self.plateau_factor, "patience": self.plateau_patience},
                "step": {"start": self.step_start, "step_size": self.step_size, "gamma": self.step_factor},
                "cosine": {"total_steps": total_steps, "warmup_steps": self.cosine_warmup, "min_lr": self.cosine_floor},
                }.get(self.schedule, {})
