"""Optimizers (in place, no per-step allocation), gradient clipping and learning-rate schedules."""

from gatedrnn.errors import UserError
from gatedrnn.optim.adagrad import AdaGrad
from gatedrnn.optim.adam import Adam
from gatedrnn.optim.adamw import AdamW, decay_mask
from gatedrnn.optim.base import Optimizer
from gatedrnn.optim.clip import clip_grad_norm
from gatedrnn.optim.groups import ParamGroups, param_groups
from gatedrnn.optim.momentum import Momentum
from gatedrnn.optim.rmsprop import RMSprop
from gatedrnn.optim.schedules import SCHEDULES, CosineDecay, PlateauDecay, Schedule, StepDecay, make_schedule
from gatedrnn.optim.sgd import SGD

OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "adagrad": AdaGrad, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW}


def make_optimizer(name: str, params, grads, lr: float, **kwargs) -> Optimizer:
    """Build an optimizer by name (``sgd``, ``momentum``, ``adagrad``, ``rmsprop``, ``adam``, ``adamw``)."""
    if name not in OPTIMIZERS:
        raise UserError(f"optimizer: expected one of {sorted(OPTIMIZERS)}, got {name!r}")
    return OPTIMIZERS[name](params, grads, lr=lr, **kwargs)


__all__ = ["AdaGrad", "Adam", "AdamW", "CosineDecay", "Momentum", "OPTIMIZERS", "Optimizer", "ParamGroups", "PlateauDecay",
           "RMSprop", "SCHEDULES", "SGD", "Schedule", "StepDecay", "clip_grad_norm", "decay_mask", "make_optimizer",
           "make_schedule", "param_groups"]
