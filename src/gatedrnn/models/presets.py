"""Training configurations: one dataclass, printed at the start of a run and saved with every checkpoint.

Presets (the book's chapter 6, *Deep Learning from Scratch 2*, which follows Zaremba et al. 2014):

* ``small``  — the book's ``Rnnlm``: embedding 100, one LSTM layer of 100, plain SGD at lr 20, gradients
  clipped to global norm 0.25, 4 epochs of batch 20 x time 35. The book reports test perplexity ~136.
* ``medium`` — the book's ``BetterRnnlm``: embedding 650, two LSTM layers of 650, dropout 0.5, output layer
  tied to the embedding, SGD lr 20, clip 0.25, 40 epochs, lr divided by 4 whenever validation perplexity does
  not improve. The book reports ~75 (hours of CPU time).

Both start from the book's initialisation (embedding N(0, 0.01^2), every other matrix N(0, 1/fan_in), biases 0,
the LSTM forget-gate bias at ``forget_bias``) with two additions, measured on PTB with the small preset (seed 0):

* the output bias starts at the log unigram frequencies of the training split (Karpathy's "init well": the
  untrained model predicts word frequencies, validation perplexity ~685 instead of 10,000, so no steps are spent
  learning them). 4-epoch test perplexity: 138.9 with LanguageModel's uniform initialisation, 139.6 with the
  book's, 135.1 with the book's plus the unigram bias.
* ``input_gain`` (small: 2) multiplies the first layer's input weights, N(0, 4/fan_in) instead of N(0, 1/fan_in).
  With the embedding at std 0.01 the input term of the gates starts at std ~0.01, and the embedding's gradient,
  which passes through those weights, is small: 4% of the squared gradient norm at the first step (15% with the
  gain; the LSTM biases take most of the rest). Doubling them: validation perplexity after 200 steps 369 instead of
  427 (seeds 1, 2: 372, 389 instead of 414, 402), after 4 epochs the same or better (best valid 140.65 vs 140.33
  with seed 0, 140.26 vs 141.02 with seed 1; test 135.07 vs 135.12, 134.55 vs 135.40). A gain of 4 overfits (train
  perplexity 89 vs 94, valid 144.5); a larger embedding instead (std 0.3, 1.0) trains worse (train 101, 128; valid
  147.8, 187.5). ``medium`` keeps the book's scale (1): the gain is not measured over its 40 epochs.

``--init default --output-bias zero --input-gain 1`` gives the plain LanguageModel start.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields

import numpy


@dataclass
class TrainConfig:
    """Everything that defines a language-model training run (``--name value`` on the command line)."""

    preset: str = "small"
    corpus: str = "ptb"            # 'ptb', 'tinyshakespeare' or a path to a text file / folder
    level: str | None = None       # 'word' or 'char'; None = the corpus's own (ptb: word, tinyshakespeare: char)
    cell: str = "lstm"             # lstm | gru | rnn
    embed_size: int = 100
    hidden_size: int = 100
    num_layers: int = 1
    dropout: float = 0.0
    tie_weights: bool = False
    forget_bias: float = 1.0
    input_gain: float = 1.0        # the first layer's input weights are multiplied by this at the start (small: 2)
    init: str = "book"             # book (the book's Rnnlm: N(0, 1/fan_in), embedding N(0, 0.01^2)) | default (LanguageModel's)
    output_bias: str = "unigram"   # unigram (log frequency of each token in the training split) | zero
    optimizer: str = "sgd"         # sgd | momentum | adagrad | rmsprop | adam
    lr: float = 20.0
    clip: float = 0.25             # global-norm clipping threshold; 0 = off
    schedule: str = "none"         # none | plateau (the book's /4) | step | cosine
    epochs: int = 4
    max_steps: int | None = None   # stop after this many optimizer steps in total (None = run all epochs)
    batch_size: int = 20
    time_size: int = 35
    eval_batch_size: int = 10
    seed: int = 0
    dtype: str = "float32"
    log_every: int = 50
    checkpoint_every: int = 500    # steps between mid-epoch checkpoints (0 = only at epoch ends)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"training config: expected keys among {sorted(names)}, got unknown {unknown}")
        return cls(**d).validate()

    def validate(self) -> "TrainConfig":
        def positive(name):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: expected a positive integer, got {v!r}")

        for name in ("embed_size", "hidden_size", "num_layers", "epochs", "batch_size", "time_size",
                     "eval_batch_size", "log_every"):
            positive(name)
        if self.max_steps is not None:
            positive("max_steps")
        if not self.lr > 0:
            raise ValueError(f"lr: expected a positive number, got {self.lr}")
        if not (math.isfinite(self.input_gain) and self.input_gain > 0):
            raise ValueError(f"input_gain: expected a positive number, got {self.input_gain}")
        if self.clip < 0:
            raise ValueError(f"clip: expected a number >= 0 (0 = off), got {self.clip}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout: expected 0 <= dropout < 1, got {self.dropout}")
        if self.tie_weights and self.embed_size != self.hidden_size:
            raise ValueError(f"tie_weights: expected embed_size == hidden_size, got {self.embed_size} and {self.hidden_size}")
        if self.output_bias not in OUTPUT_BIASES:
            raise ValueError(f"output_bias: expected one of {OUTPUT_BIASES}, got {self.output_bias!r}")
        if self.init not in INITS:
            raise ValueError(f"init: expected one of {INITS}, got {self.init!r}")
        if self.checkpoint_every < 0:
            raise ValueError(f"checkpoint_every: expected a number >= 0, got {self.checkpoint_every}")
        return self

    def describe(self) -> str:
        """The config as aligned ``name = value`` lines, for the top of a training log."""
        width = max(len(f.name) for f in fields(self))
        return "\n".join(f"  {f.name:<{width}} = {getattr(self, f.name)!r}" for f in fields(self))


INITS = ("default", "book")
OUTPUT_BIASES = ("zero", "unigram")

PRESETS = {
    "small": dict(embed_size=100, hidden_size=100, num_layers=1, dropout=0.0, tie_weights=False, optimizer="sgd",
                  lr=20.0, clip=0.25, schedule="none", epochs=4, batch_size=20, time_size=35, init="book",
                  output_bias="unigram", input_gain=2.0),
    "medium": dict(embed_size=650, hidden_size=650, num_layers=2, dropout=0.5, tie_weights=True, optimizer="sgd",
                   lr=20.0, clip=0.25, schedule="plateau", epochs=40, batch_size=20, time_size=35, init="book",
                   output_bias="unigram", input_gain=1.0),  # the gain is not measured over 40 epochs: the book's scale
}


def make_config(preset: str = "small", **overrides) -> TrainConfig:
    """The preset's config with ``overrides`` applied (``None`` values leave the preset's)."""
    if preset not in PRESETS:
        raise ValueError(f"preset: expected one of {sorted(PRESETS)}, got {preset!r}")
    names = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ValueError(f"training config: expected keys among {sorted(names)}, got unknown {unknown}")
    values = {**PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None}}
    return TrainConfig(preset=preset, **values).validate()


def build_language_model(config: TrainConfig, vocab_size: int, train_ids=None):
    """The ``LanguageModel`` a config describes, seeded by ``config.seed``; ``train_ids`` (the training token
    ids) are needed for ``output_bias='unigram'``."""
    from gatedrnn.models.language_model import LanguageModel

    model = LanguageModel(vocab_size, config.embed_size, config.hidden_size, config.num_layers, cell=config.cell,
                          dropout=config.dropout, tie_weights=config.tie_weights, forget_bias=config.forget_bias,
                          dtype=config.dtype, seed=config.seed)
    if config.init == "book":
        book_init(model, config.forget_bias, numpy.random.default_rng([config.seed, 1]))
    if config.input_gain != 1.0:
        model.rnn.layers[0].Wx[...] *= config.input_gain
    if config.output_bias == "unigram":
        if train_ids is None:
            raise ValueError("output_bias 'unigram': expected the training token ids, got none")
        unigram_bias(model, train_ids)
    return model


def unigram_bias(model, train_ids) -> None:
    """Set the output bias to the log of each token's (add-one smoothed) training frequency, so that the
    untrained model already predicts the unigram distribution (perplexity ~700 on PTB instead of the
    vocabulary size, 10,000): the first few hundred steps no longer go into learning word frequencies."""
    counts = numpy.bincount(numpy.asarray(train_ids).reshape(-1), minlength=model.vocab_size).astype(numpy.float64) + 1.0
    if counts.size != model.vocab_size:
        raise ValueError(f"unigram bias: expected token ids below {model.vocab_size}, got up to {counts.size - 1}")
    model.out.b[...] = numpy.log(counts / counts.sum())


def book_init(model, forget_bias: float, rng: numpy.random.Generator) -> None:
    """Re-draw a ``LanguageModel``'s weights the way the book's ``Rnnlm``/``BetterRnnlm`` do: embedding
    N(0, 0.01^2), every recurrent and output matrix N(0, 1/fan_in) (Xavier's 1/sqrt(n) scaling), biases 0
    (the LSTM's forget-gate bias set to ``forget_bias``; the book's is 0)."""
    def normal(a, std):
        a[...] = rng.standard_normal(a.shape) * std

    normal(model.embed.W, 0.01)
    for layer in model.rnn.layers:
        normal(layer.Wx, 1.0 / math.sqrt(layer.Wx.shape[0]))
        normal(layer.Wh, 1.0 / math.sqrt(layer.Wh.shape[0]))
        layer.b_ih[...] = 0
        layer.b_hh[...] = 0
        if layer.gates == 4:  # LSTM (i, f, g, o)
            H = layer.hidden_size
            layer.b_ih[H:2 * H] = forget_bias
    if model.out.W is not model.embed.W:
        normal(model.out.W, 1.0 / math.sqrt(model.out.W.shape[1]))
    model.out.b[...] = 0
