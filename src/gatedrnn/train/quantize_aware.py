"""Quantisation-aware fine-tuning to int8 weights, as a ``Trainer`` callback.

``QuantizationAware(total_steps, start_fraction=2/3)``: from ``start_fraction`` of the steps on, every step's
forward and backward run on the weights rounded to the int8 grid that ``models/quantize.py`` uses after training
(symmetric, one scale per output unit: ``scale = max |w| / 127``), while the update goes to the float weights kept
aside (the straight-through estimator: the gradient at the rounded weights is applied to the float ones). When
training ends the weights are left on the grid, so the post-training quantiser reproduces them exactly and the
int8 model computes what was trained.

Quantised: every full matrix of the recurrent layers (``weight_ih``, ``weight_hh``: internally (inputs, outputs),
one scale per column) and the head's ``weight`` ((outputs, inputs), one scale per row). Biases and a fast cell's
scalars stay float32, as in ``models/quantize.py``. The factors of a low-rank matrix are refused in one line:
the post-training quantiser rounds their product, which rounding the factors does not reproduce.

``activations="q15"`` (default ``"float"``) also puts the activations on the integer grid of the fixed-point C step
(``gatedrnn export --c DIR --fixed q15``) over the same steps: every step's hidden state is rounded to int16 with 13
fractional bits (Q2.13, saturating), as that step keeps it, with the straight-through estimator in the backward
pass (``layers/fast_base.py``'s ``state_grid``). Only the cells with an integer kernel (FastGRNN, FastRNN) take it;
another cell is refused in one line. The rounding is switched off again when training ends (the float model then
runs, exports and streams as any other).
"""

from __future__ import annotations

from gatedrnn.backend import xp
from gatedrnn.errors import UserError, check_choice, check_int, check_probability
from gatedrnn.layers.fast_base import FastLayer
from gatedrnn.train.callbacks import Callback

QMAX = 127


def fake_quantize_(a, axis: int):
    """Round ``a`` in place to the symmetric int8 grid with one scale per slice along ``axis`` (0: per column of
    a (inputs, outputs) matrix; 1: per row); a slice of zeros stays zero."""
    w = a.astype(xp.float64)
    top = xp.abs(w).max(axis=axis, keepdims=True)
    scale = (top / QMAX).astype(xp.float32).astype(xp.float64)   # the float32 scale the quantiser stores
    safe = xp.where(scale > 0, scale, 1.0)
    a[...] = (xp.clip(xp.rint(w / safe), -QMAX, QMAX) * scale).astype(xp.float32)
    return a


def quantized_matrices(model) -> dict[str, int]:
    """name -> the axis its scales run along, for the matrices ``models/quantize.py`` rounds."""
    out = {}
    for name, p, _ in model.named_params():
        last = name.split(".")[-1]
        if p.ndim != 2 or not (name.startswith("rnn.") or name.startswith("head.")):
            continue
        if name.startswith("rnn.") and (last.startswith("weight_ih_1") or last.startswith("weight_hh_1")
                                        or last.startswith("weight_ih_2") or last.startswith("weight_hh_2")):
            raise UserError(f"quantisation-aware training: expected full weight matrices, got the low-rank factor "
                            f"{name} (the int8 export rounds their product)")
        out[name] = 0 if name.startswith("rnn.") else 1
    return out


QUANTIZE = ("none", "int8", "int8-q15")       # an application's choice: none, the int8 weights, also the Q15 states


def check_quantize(quantize: str, cell_class, rank_ih=None, rank_hh=None) -> None:
    """A ``quantize`` choice for a stack of ``cell_class`` with those ranks, in one line: a low-rank model has no
    int8 grid to train on, and ``int8-q15`` needs a cell with an integer kernel."""
    check_choice("quantize", quantize, QUANTIZE)
    if quantize != "none" and (rank_ih is not None or rank_hh is not None):
        raise UserError(f"quantize: expected none for a low-rank model (the int8 export rounds the product of the "
                        f"factors, not the factors), got {quantize}")
    if quantize == "int8-q15" and not issubclass(cell_class.layer_class, FastLayer):
        raise UserError(f"quantize: expected int8 or none for a cell without an integer kernel (int8-q15: fastgrnn, "
                        f"fastrnn), got {quantize} with {cell_class.layer_class.name}")


def callback_for(quantize: str, steps: int) -> list:
    """The callbacks of a ``quantize`` choice over ``steps`` training steps: none, or one ``QuantizationAware``."""
    if quantize == "none":
        return []
    return [QuantizationAware(steps, activations="q15" if quantize == "int8-q15" else "float")]


def grid_layers(model) -> list:
    """The recurrent layers whose states ``activations="q15"`` rounds; one line for a cell without an integer step."""
    layers = list(getattr(getattr(model, "rnn", None), "layers", []))
    for layer in layers:
        if not isinstance(layer, FastLayer):
            raise UserError(f"quantisation-aware training activations='q15': expected a cell with an integer kernel "
                            f"(fastgrnn, fastrnn), got {getattr(layer, 'name', type(layer).__name__)}")
    if not layers:
        raise UserError(f"quantisation-aware training activations='q15': expected a model with a recurrent stack, "
                        f"got {type(model).__name__}")
    return layers


class QuantizationAware(Callback):
    """Forward and backward on int8-rounded weights, updates on the float ones; see the module docstring."""

    def __init__(self, total_steps: int, start_fraction: float = 2 / 3, activations: str = "float"):
        check_int("total_steps", total_steps)
        check_probability("start_fraction", start_fraction)
        check_choice("activations", activations, ("float", "q15"))
        self.start = int(round(start_fraction * total_steps))
        self.activations = activations
        self._shadow: dict = {}
        self._rounded: dict = {}
        self._grid: list = []

    def _params(self, model) -> dict:
        return {n: p for n, p, _ in model.named_params()}

    def on_train_begin(self, trainer) -> None:
        self.targets = quantized_matrices(trainer.model)
        self._grid = grid_layers(trainer.model) if self.activations == "q15" else []

    def on_step_begin(self, trainer) -> None:
        if trainer.step < self.start:
            return
        for layer in self._grid:
            layer.state_grid = True
        params = self._params(trainer.model)
        for name, axis in self.targets.items():
            p = params[name]
            self._shadow[name] = p.copy()
            fake_quantize_(p, axis)
            self._rounded[name] = p.copy()

    def on_step_end(self, trainer, logs) -> None:
        if not self._shadow:
            return
        params = self._params(trainer.model)
        for name, shadow in self._shadow.items():     # float weights + the update the rounded ones received
            p = params[name]
            p -= self._rounded[name]
            p += shadow
        self._shadow, self._rounded = {}, {}

    def on_train_end(self, trainer, summary) -> None:
        for layer in self._grid:
            layer.state_grid = False
        params = self._params(trainer.model)
        for name, axis in self.targets.items():
            fake_quantize_(params[name], axis)
        summary["int8_grid"] = sorted(self.targets)
        if self._grid:
            summary["q15_states"] = len(self._grid)
