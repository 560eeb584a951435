"""The language model a config describes: built, seeded, initialised the book's way, output bias at the unigram
frequencies (the reasons and the measurements are in ``gatedrnn.lm.presets``)."""

from __future__ import annotations

import math

import numpy

from gatedrnn.errors import UserError
from gatedrnn.lm.config import LMConfig
from gatedrnn.models import LanguageModel

DEFAULT_INIT_SCALE = 0.1     # Zaremba et al. 2014 (small and non-regularised models), TF's PTB tutorial


def build_language_model(config: LMConfig, vocab_size: int, train_ids=None):
    """The ``LanguageModel`` a config describes, seeded by ``config.seed``; ``train_ids`` (the training token
    ids) are needed for ``output_bias='unigram'``. ``forget_bias`` and ``output_bias`` left at None are 1.0 and
    ``unigram`` after the ``book`` and ``default`` initialisations; after ``uniform`` they stay in its draw."""
    if config.arch == "block":                   # lm/block.py imports this module: imported here, not above
        from gatedrnn.lm.block import build_block_lm
        return build_block_lm(config, vocab_size, train_ids)
    uniform = config.init == "uniform"
    forget = 1.0 if config.forget_bias is None else config.forget_bias
    model = LanguageModel(vocab_size, config.embed_size, config.hidden_size, config.num_layers, cell=config.cell,
                          dropout=config.dropout, tie_weights=config.tie_weights, forget_bias=forget,
                          dtype=config.dtype, seed=config.seed)
    if config.init == "book":
        book_init(model, forget, numpy.random.default_rng([config.seed, 1]))
    elif uniform:
        scale = DEFAULT_INIT_SCALE if config.init_scale is None else config.init_scale
        uniform_init(model, scale, numpy.random.default_rng([config.seed, 1]))
        if config.forget_bias is not None:
            for layer in model.rnn.layers:
                layer.set_forget_bias(config.forget_bias)
    if config.input_gain != 1.0:
        model.rnn.layers[0].Wx[...] *= config.input_gain
    if config.output_bias == "zero" and model.out.b is not None:
        model.out.b[...] = 0
    elif config.output_bias == "unigram" or (config.output_bias is None and not uniform):
        if train_ids is None:
            raise UserError("output_bias 'unigram': expected the training token ids, got none")
        unigram_bias(model, train_ids)
    return model


def unigram_bias(model, train_ids) -> None:
    """Set the output bias to the log of each token's (add-one smoothed) training frequency, so that the
    untrained model already predicts the unigram distribution (perplexity ~700 on PTB instead of the
    vocabulary size, 10,000): the first few hundred steps no longer go into learning word frequencies."""
    counts = numpy.bincount(numpy.asarray(train_ids).reshape(-1), minlength=model.vocab_size).astype(numpy.float64) + 1.0
    if counts.size != model.vocab_size:
        raise UserError(f"unigram bias: expected token ids below {model.vocab_size}, got up to {counts.size - 1}")
    model.out.b[...] = numpy.log(counts / counts.sum())


def book_init(model, forget_bias: float, rng: numpy.random.Generator) -> None:
    """Re-draw a ``LanguageModel``'s weights the way the book's ``Rnnlm``/``BetterRnnlm`` do: embedding
    N(0, 0.01^2), every recurrent and output matrix N(0, 1/fan_in) (Xavier's 1/sqrt(n) scaling), biases 0
    (the LSTM's forget-gate bias set to ``forget_bias``; the book's is 0)."""
    def normal(a, std):
        a[...] = rng.standard_normal(a.shape) * std

    normal(model.embed.W, 0.01)
    for layer in model.rnn.layers:
        if getattr(layer, "own_init", False):  # a cell with its own parametrisation (layers/fast_base.py) keeps its draw
            continue
        normal(layer.Wx, 1.0 / math.sqrt(layer.Wx.shape[0]))
        normal(layer.Wh, 1.0 / math.sqrt(layer.Wh.shape[0]))
        layer.b_ih[...] = 0
        layer.b_hh[...] = 0
        layer.set_forget_bias(forget_bias)   # the LSTM's forget block of bias_ih; nothing for other cells
    if model.out.W is not model.embed.W:
        normal(model.out.W, 1.0 / math.sqrt(model.out.W.shape[1]))
    model.out.b[...] = 0


def uniform_init(model, scale: float, rng: numpy.random.Generator) -> None:
    """Every parameter of the model, biases included, drawn uniformly in [-scale, scale] (the classic PTB recipe:
    Zaremba et al. 2014, ``init_scale``). Drawn in the order of ``model.params``; a tied matrix once."""
    seen: set[int] = set()
    for a in model.params:
        if id(a) in seen:
            continue
        seen.add(id(a))
        a[...] = rng.uniform(-scale, scale, size=a.shape)
