"""Presets: a preset is data, the values it gives to ``LMConfig``'s fields; flags and config files override them.

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

``--init default --input-gain 1 --output-bias zero`` gives LanguageModel's own start with a zero output bias.

``--init uniform --init-scale S`` is the classic recipe (Zaremba et al. 2014, TF's PTB tutorial): every parameter,
biases included, uniform in +-S. A preset's start-up adjustments (``output_bias``, ``input_gain``, ``forget_bias``)
are then dropped, so the biases stay in the draw, unless the config file or the flags give them
(``preset_values``). Without it, a 2-layer 200-unit model from the book's start sits on the unigram plateau for
the whole first epoch (validation perplexity ~704); with it the first epoch ends near 180.
"""

from __future__ import annotations

from gatedrnn.errors import check_choice
from gatedrnn.lm.config import LMConfig

PRESETS = {
    "small": dict(embed_size=100, hidden_size=100, num_layers=1, dropout=0.0, tie_weights=False, optimizer="sgd",
                  lr=20.0, clip=0.25, schedule="none", epochs=4, batch_size=20, time_size=35, init="book",
                  output_bias="unigram", input_gain=2.0),
    "medium": dict(embed_size=650, hidden_size=650, num_layers=2, dropout=0.5, tie_weights=True, optimizer="sgd",
                   lr=20.0, clip=0.25, schedule="plateau", epochs=40, batch_size=20, time_size=35, init="book",
                   output_bias="unigram", input_gain=1.0),  # the gain is not measured over 40 epochs: the book's scale
}


# what a preset adjusts after its initialisation: dropped under init uniform (the draw is the whole start)
START_ADJUSTMENTS = ("output_bias", "input_gain", "forget_bias")


def preset_values(preset: str, given: dict) -> dict:
    """The preset's values under ``given`` (a config file's and the flags' values): all of them, but without
    ``START_ADJUSTMENTS`` when ``given`` asks for ``init`` uniform."""
    check_choice("preset", preset, PRESETS)
    values = dict(PRESETS[preset])
    if given.get("init", values.get("init")) == "uniform":
        for name in START_ADJUSTMENTS:
            values.pop(name, None)
    return values


def preset_config(preset: str = "small", **overrides) -> LMConfig:
    """The preset's config with ``overrides`` applied (``None`` values leave the preset's)."""
    given = {k: v for k, v in overrides.items() if v is not None}
    return LMConfig.from_dict({**preset_values(preset, given), **given, "preset": preset})


def shown_defaults() -> dict:
    """For the help of ``gatedrnn train``: each field's default, with the presets' values where they set it."""
    base = LMConfig()
    out = {}
    for name in base.to_dict():
        per = {p: v[name] for p, v in PRESETS.items() if name in v}
        if per:
            out[name] = ", ".join(f"{p} {v!r}" for p, v in per.items())
    return out
