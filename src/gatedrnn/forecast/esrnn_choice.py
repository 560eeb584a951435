"""``Forecaster(model=...)``: which model the one forecasting engine fits.

``model="window"`` (the default) is the network of ``forecaster.py``: each window normalised by its own level and
scale, read from scratch at every forecast. ``model="esrnn"`` is the hybrid ES-RNN (``esrnn_forecaster.py``):
per-series Holt-Winters smoothing learned jointly with a global dilated recurrent network that runs along each
whole series, its state carried. ``Forecaster(model="esrnn", ...)`` returns an ``ESRNNForecaster`` (a
``Forecaster`` subclass with the same fit / predict / save / load / backtest / stream contract); ``Forecaster.load``
gives back whichever was saved (``hybrid_saved``).
"""

from __future__ import annotations

from typing import Any

from gatedrnn.errors import UserError, check_choice
from gatedrnn.models.esrnn import ESRNN

MODELS = ("window", "esrnn", "auto")     # auto: the settings search tries both (auto_model.py)


def hybrid() -> Any:
    """The ``ESRNNForecaster`` class (imported here, when asked: it is a ``Forecaster`` subclass)."""
    from gatedrnn.forecast.esrnn_forecaster import ESRNNForecaster

    return ESRNNForecaster


def hybrid_saved(network) -> bool:
    """Whether the first network of a saved forecaster is an ES-RNN (its forecaster is then the hybrid's)."""
    return isinstance(network, ESRNN)


class ModelChoice:
    """The ``Forecaster``'s base: ``model=`` picks the class built (module docstring); ``self.model`` names it."""

    model: str

    def __new__(cls, *args, model: str = "window", **kwargs):
        check_choice("model", model, MODELS)
        if model == "esrnn" and not issubclass(cls, hybrid()):
            cls = hybrid()
        obj = super().__new__(cls)
        obj.model = "esrnn" if issubclass(cls, hybrid()) else model if model == "auto" else "window"
        return obj


def refuse_export(f, what: str, why: str) -> None:
    """One line when ``f`` is the hybrid, which this export of the window model does not write (``why``)."""
    if getattr(f, "model", "window") == "esrnn":
        raise UserError(f"{what}: expected a Forecaster of model 'window', got model 'esrnn' ({why})")
