"""Optimizers (in place, no per-step allocation), gradient clipping and learning-rate schedules."""

from gatedrnn.optim.adam import Adam
from gatedrnn.optim.base import Optimizer
from gatedrnn.optim.clip import clip_grad_norm
from gatedrnn.optim.sgd import SGD

__all__ = ["Adam", "Optimizer", "SGD", "clip_grad_norm"]
