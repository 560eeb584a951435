"""The forecasting fields, declared once (``option``: default, help, check): the ``Forecaster``'s settings
(``ForecasterSettings``: ``Forecaster(**fields)``, ``Forecaster.from_config``) and the run's (``ForecastConfig``,
forecast/config.py: the flags of ``gatedrnn forecast``, the run's ``config.json``). Both take the fields they share
from ``ForecasterFields``: one default, one check, one help text for the estimator, its signature and docstring
(``settings_signature``, ``settings_doc``) and ``--help``.

Each field's own check runs before its type check (``ForecasterFields.validate``): its words say the range
("time_limit: expected a finite positive number or None"), the type check's only the type. The checks of several
fields together are the estimator's (``ForecasterSettings.validate``): for the window model the seasonal naive base
against the window, covariates against the recursive strategy and the memory the sizes need (``checks.py``); for
the hybrid (``model="esrnn"``) the window model's own options left at their defaults. ``horizon`` and ``season`` are
the estimator's own: the run's mean something else (none: the held-out tail; the dataset's calendar season).
"""

from __future__ import annotations

import inspect
from dataclasses import MISSING, dataclass, fields
from typing import Sequence

from gatedrnn.config import Config, option
from gatedrnn.errors import (
    UserError,
    check_count,
    check_int,
    check_nonnegative,
    check_optional_int,
    check_positive,
    show,
)
from gatedrnn.forecast.checks import STRATEGIES, check_base, check_covariates, check_quantiles, check_sizes
from gatedrnn.forecast.esrnn_choice import MODELS
from gatedrnn.forecast.selection import AUTO, DEFAULT_TIME_LIMIT
from gatedrnn.layers import CELLS
from gatedrnn.train.callbacks import CLOCKS

BASES = ("auto", "snaive", "naive", "none")     # auto: snaive with a season, else naive
WINDOW_ONLY = ("num_layers", "base", "strategy", "mask", "covariates")   # no meaning for the hybrid ES-RNN
SEARCHED = ("window", "hidden_size", "max_steps", "strategy")   # left at None: chosen from the data at fit (selection.py)
FIRST = ("model", "cell", "horizon", "season", "window")   # the signature's first settings


def _cells():
    return list(CELLS)


def _window(name, v):
    return check_int(name, v, 2, none_ok=True)


def check_season(name, v):
    """A season length: a positive integer or None (1 and None: no season, as statsforecast and R)."""
    return check_int(name, v, 1, none_ok=True)


def _seconds(name, v):
    return check_positive(name, v, none_ok=True)


def _mask(name, v):
    if v is not None and not isinstance(v, bool):
        raise UserError(f"{name}: expected None, True or False, got {show(v)}")
    return v


def _quantiles(name, v):
    return check_quantiles(v)


def _covariates(name, v):
    return check_covariates(v)


@dataclass
class ForecasterFields(Config):
    """The fields a ``Forecaster`` and a forecasting run share (each declared once, here)."""

    window: int | None = option(None, "steps the model reads before forecasting (none: chosen from the data)",
                                check=_window, group="series")
    model: str = option("window", "window: the network reading each window normalised by itself; esrnn: the hybrid "
                        "ES-RNN (per-series Holt-Winters smoothing learned with a dilated network along whole series: "
                        "gatedrnn.forecast.esrnn_forecaster); auto: the settings search tries both", choices=MODELS,
                        group="model")
    cell: str = option("lstm", "recurrent cell", choices=_cells, group="model")
    hidden_size: int | None = option(None, "hidden units per layer (none: chosen from the data)",
                                     check=check_optional_int, group="model")
    num_layers: int = option(1, "recurrent layers", check=check_int, group="model")
    strategy: str | None = option(None, "direct: the network outputs the whole horizon at once; recursive: one "
                                  "step, applied again on its own forecasts (none: direct, and on a panel of fewer "
                                  "than 4 series without covariates both are tried by the settings search)",
                                  choices=STRATEGIES, group="model")
    n_models: int = option(1, "networks trained with seeds seed..seed+K-1, combined by the median", check=check_int,
                           group="model")
    max_steps: int | None = option(None, "training steps (Adam, cosine-decayed to 0 over them; none: chosen by early "
                                   "stopping on the held-out last horizon)", check=check_optional_int, group="training")
    time_limit: float | None = option(None, f"seconds of the settings search (window, size, steps left at none: "
                                      f"gatedrnn.forecast.selection; none: {DEFAULT_TIME_LIMIT:g})", check=_seconds,
                                      group="training")
    time_clock: str = option("wall", "what time_limit counts: wall (the clock) or cpu (this process's CPU time)",
                             choices=CLOCKS, group="training")
    batch_size: int = option(64, "windows per step", check=check_int, group="training")
    lr: float = option(3e-3, "Adam learning rate at the start", check=check_positive, group="training")
    clip: float = option(1.0, "global gradient-norm threshold, 0 = off", check=check_nonnegative, group="training")
    seed: int = option(0, "seed of the weights and of the batch order", check=check_count, group="training")

    def validate(self):
        for f in fields(self):          # each field's own check first (module docstring), then every type check
            check = f.metadata.get("check")
            if check is not None:
                check(f.name, getattr(self, f.name))
        return super().validate()


@dataclass
class ForecasterSettings(ForecasterFields):
    """The settings of one ``Forecaster``: ``Forecaster(**fields)`` and ``Forecaster.from_config(settings)``; its
    ``__init__`` checks them here (``validate``) and takes its attributes from ``window_model`` (the hybrid:
    ``shared`` and its own, esrnn_forecaster.py)."""

    horizon: int = option(1, "steps forecast from each origin (the network's outputs, direct; recursive: any number "
                          "of steps at predict)", check=check_int, group="series")
    season: int | None = option(None, "season length (None or 1: no season): the season input and the seasonal "
                                "naive base", check=check_season, group="series")
    quantiles: Sequence[float] = option([0.1, 0.9, 0.025, 0.975], "quantile levels besides the median (0.5 is "
                                        "added): lo-80/hi-80 are 0.1/0.9, lo-95/hi-95 0.025/0.975",
                                        check=_quantiles, group="model")
    base: str = option("auto", "what the outputs are added to: snaive (the window's seasonal naive forecast), naive "
                       "(its last value), none (0); auto: snaive with a season, else naive", choices=BASES,
                       group="model")
    covariates: Sequence[str] | str | None = option(None, "covariate columns of a long DataFrame (direct only; none: "
                                                    "every column but unique_id, ds, y; []: none)", check=_covariates,
                                                    group="series")
    mask: bool | None = option(None, "the 0/1 input of the padding of series shorter than window + horizon (none: "
                               "when one is shorter)", check=_mask, group="model")

    def validate(self) -> "ForecasterSettings":
        super().validate()
        if self.model == "esrnn":
            self.refuse_window_only()
        else:
            self.window_model()         # the window model's checks of several fields together
        return self

    def searched(self) -> tuple:
        """The fields left at None that ``fit`` chooses from the data (``selection.py``; the strategy only beside
        another: alone it is direct, with no search)."""
        found = tuple(k for k in SEARCHED if getattr(self, k) is None)
        return () if found == ("strategy",) else found

    def shared(self) -> dict:
        """The attributes the window model and the hybrid take alike: ``season`` 1 as None, ``lr``/``clip`` as
        floats, the quantile levels with 0.5 (sorted), ``time_limit`` None as ``DEFAULT_TIME_LIMIT``."""
        names = ("cell", "horizon", "num_layers", "batch_size", "seed", "n_models", "strategy", "time_clock")
        return {**{k: getattr(self, k) for k in names}, "season": None if self.season == 1 else self.season,
                "lr": float(self.lr), "clip": float(self.clip), "quantiles": check_quantiles(self.quantiles),
                "time_limit": float(DEFAULT_TIME_LIMIT if self.time_limit is None else self.time_limit)}

    def window_model(self) -> dict:
        """The window model's attributes (``shared`` and the window (None: twice the longer of the season and the
        horizon), the size and the steps (None: ``selection.AUTO`` until fit chooses them), the base resolved,
        ``covariate_choice``, ``mask_choice``), its checks of several fields together on the way."""
        a = {**self.shared(), "strategy": self.strategy or "direct"}     # None: direct until the search says
        out = 1 if self.strategy == "recursive" else self.horizon
        window = self.window if self.window is not None else 2 * max(a["season"] or 0, self.horizon)
        base = check_base(self.base, a["season"], window, out)
        choice = check_covariates(self.covariates)
        if self.strategy == "recursive" and choice:
            raise UserError(f"covariates: expected none with strategy 'recursive' (covariates need the direct "
                            f"strategy), got {choice}")
        hidden_size = AUTO["hidden_size"] if self.hidden_size is None else self.hidden_size
        max_steps = AUTO["max_steps"] if self.max_steps is None else self.max_steps
        n_in = (3 if a["season"] else 1) + (1 if self.mask else 0) + (1 + len(choice) if choice else 0)
        check_sizes(hidden_size, self.num_layers, self.batch_size, window + (out if choice else 0), n_in,
                    len(a["quantiles"]) * (1 if choice else out), self.n_models)
        return {**a, "window": window, "hidden_size": hidden_size, "max_steps": max_steps, "base": base,
                "covariate_choice": choice, "mask_choice": self.mask}

    def refuse_window_only(self) -> None:
        """The hybrid: the window model's own options (``WINDOW_ONLY``) at their defaults (``covariates=[]`` too:
        it ignores a DataFrame's extra columns)."""
        defaults = {f.name: default_of(f) for f in fields(ForecasterSettings)}
        for name in WINDOW_ONLY:
            v = getattr(self, name)
            given = check_covariates(v) not in (None, []) if name == "covariates" else \
                v is not None if defaults[name] is None else v != defaults[name]
            if given:
                raise UserError(f"{name}: expected the default with model='esrnn' (a setting of the window model), "
                                f"got {show(v)}")


def default_of(f):
    return f.default_factory() if f.default is MISSING else f.default


def _ordered(cls) -> list:
    """The fields of ``cls``, ``FIRST`` first."""
    return sorted(fields(cls), key=lambda f: FIRST.index(f.name) if f.name in FIRST else len(FIRST))


def settings_signature(cls, own: dict | None = None) -> inspect.Signature:
    """An estimator's signature from its settings dataclass ``cls``: every field by name with its one default
    (``FIRST`` first), then ``own`` (name -> default; a name of ``cls`` takes that default instead)."""
    P = inspect.Parameter
    named = {**{f.name: default_of(f) for f in _ordered(cls)}, **(own or {})}
    return inspect.Signature([P("self", P.POSITIONAL_ONLY), *(P(k, P.KEYWORD_ONLY, default=v) for k, v in named.items())])


def settings_doc(cls) -> str:
    """The fields of ``cls`` as docstring lines (``FIRST`` first): ``name = default``: help."""
    return "\n".join(f"    ``{f.name} = {default_of(f)!r}``: {f.metadata['help']}" for f in _ordered(cls))
