"""The block language model a config describes (``--arch block``): a ``BlockLM`` of ``num_layers`` pre-norm
residual blocks of width ``hidden_size`` (``gatedrnn.models.block``), and AdamW's arguments for any model."""

from __future__ import annotations

from gatedrnn.lm.build import unigram_bias
from gatedrnn.lm.config import LMConfig
from gatedrnn.models import BlockLM
from gatedrnn.optim import decay_mask


def build_block_lm(config: LMConfig, vocab_size: int, train_ids=None) -> BlockLM:
    """The ``BlockLM`` of ``config``, seeded by ``config.seed``, its own initialisation (``init`` and ``input_gain``
    are the rnn models'); the output bias at the log unigram frequencies unless ``output_bias`` is zero."""
    forget = 1.0 if config.forget_bias is None else config.forget_bias
    model = BlockLM(vocab_size, config.hidden_size, config.num_layers, cell=config.cell, expansion=config.expansion,
                    conv_kernel=config.conv_kernel, ff_mult=config.ff_mult, norm=config.norm, forget_bias=forget,
                    tie_weights=config.tie_weights, dtype=config.dtype, seed=config.seed)
    if config.output_bias != "zero":
        unigram_bias(model, train_ids)
    return model


def optimizer_args(config: LMConfig, model) -> dict:
    """The optimizer's keyword arguments beyond ``lr``: AdamW's weight decay, on the matrices only."""
    if config.optimizer != "adamw":
        return {}
    return {"weight_decay": config.weight_decay, "decay": decay_mask(model.names, model.params)}
