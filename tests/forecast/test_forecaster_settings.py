"""The Forecaster's settings, declared once (issue 28, move 2): ``forecast.settings.ForecasterFields`` (what the
estimator and a forecasting run share) and ``ForecasterSettings`` (the estimator's): one default, one check and one
help text per field, for ``Forecaster(**fields)``, ``Forecaster.from_config``, the hybrid ES-RNN's shared settings,
the signature, the docstring and ``gatedrnn forecast --help``."""

from __future__ import annotations

import ast
import inspect
from dataclasses import MISSING, fields
from pathlib import Path

import pytest

from gatedrnn.errors import UserError
from gatedrnn.forecast import ForecastConfig, Forecaster
from gatedrnn.forecast.esrnn_forecaster import OWN, ESRNNForecaster
from gatedrnn.forecast.settings import ForecasterFields, ForecasterSettings

SRC = Path(__file__).resolve().parents[2] / "src" / "gatedrnn" / "forecast"


def _default(f):
    return f.default_factory() if f.default is MISSING else f.default


def _init_of(path: Path, cls: str) -> ast.FunctionDef:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    klass = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == cls)
    return next(n for n in klass.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")


def _checks_called(fn: ast.FunctionDef) -> list:
    """(helper, first argument) of every ``check_*(...)`` call in ``fn``."""
    out = []
    for node in ast.walk(fn):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name.startswith("check_"):
                first = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
                out.append((name, first))
    return out


def test_the_signature_and_docstring_are_the_settings():
    params = inspect.signature(Forecaster).parameters
    settings = {f.name: f for f in fields(ForecasterSettings)}
    assert set(params) - {"self"} == set(settings)
    for name, f in settings.items():
        assert params[name].default == _default(f), name
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert f"``{name} = {_default(f)!r}``: {f.metadata['help']}" in Forecaster.__doc__
    assert list(params)[1:6] == ["model", "cell", "horizon", "season", "window"]


def test_the_hybrid_takes_the_shared_settings_defaults():
    params = inspect.signature(ESRNNForecaster).parameters
    for f in fields(ForecasterSettings):
        assert params[f.name].default == ("esrnn" if f.name == "model" else _default(f)), f.name
    assert {k: params[k].default for k in OWN} == OWN
    own = inspect.signature(ESRNNForecaster.__init__).parameters
    assert {k: own[k].default for k in OWN} == OWN


def test_the_run_declares_the_shared_fields_through_the_same_fields():
    run = {f.name: f for f in fields(ForecastConfig)}
    for f in fields(ForecasterFields):
        assert run[f.name].metadata == f.metadata and _default(run[f.name]) == _default(f), f.name
    assert {"horizon", "season"} <= set(run) and run["horizon"].default is None      # the run's own meaning
    assert not {"quantiles", "base", "covariates", "mask"} & set(run)


def test_init_calls_no_check_helper():
    """``Forecaster.__init__`` validates through ``ForecasterSettings`` only; the hybrid's ``__init__`` checks none
    of the settings it shares by hand (only its own: season2, length, ...)."""
    assert _checks_called(_init_of(SRC / "forecaster.py", "Forecaster")) == []
    shared = {f.name for f in fields(ForecasterSettings)}
    hybrid = _checks_called(_init_of(SRC / "esrnn_forecaster.py", "ESRNNForecaster"))
    assert hybrid and not [c for c in hybrid if c[1] in shared], hybrid
    assert "ForecasterSettings.from_dict(" in inspect.getsource(Forecaster.__init__)


@pytest.mark.parametrize("kwargs, message", [
    ({"cell": "tcn"}, "cell: expected one of 'fastgrnn', "),
    ({"window": 1}, "window: expected an integer >= 2 or None, got 1"),
    ({"lr": -1}, "lr: expected a finite positive number, got -1"),
    ({"time_limit": 0}, "time_limit: expected a finite positive number or None, got 0"),
    ({"time_limit": "60"}, "time_limit: expected a finite positive number or None, got '60'"),
    ({"strategy": "x"}, "strategy: expected one of 'direct', 'recursive', got 'x'"),
    ({"mask": "yes"}, "mask: expected None, True or False, got 'yes'"),
    ({"quantiles": [10**400]}, "quantiles: expected levels strictly between 0 and 1, got "),
    ({"windows": 8}, "ForecasterSettings: expected keys among ["),
    ({"horizon": 13, "season": 12, "window": 20}, "window: expected at least 24 (the seasonal naive base needs 2"),
    ({"strategy": "recursive", "covariates": ["x"]}, "covariates: expected none with strategy 'recursive'"),
    ({"model": "esrnn", "num_layers": 2}, "num_layers: expected the default with model='esrnn'"),
    ({"model": "esrnn", "window": 1}, "window: expected an integer >= 2 or None, got 1"),
])
def test_refusals_are_one_line(kwargs, message):
    with pytest.raises(UserError) as e:
        Forecaster(**kwargs)
    assert str(e.value).startswith(message) and "\n" not in str(e.value)


def test_from_config_builds_the_default_forecaster_and_the_settings_own():
    f = Forecaster.from_config(ForecastConfig(dataset="x"))
    assert type(f) is Forecaster and f.settings() == Forecaster().settings()
    s = ForecasterSettings(horizon=6, season=12, window=24, hidden_size=8, quantiles=[0.2, 0.8])
    g = Forecaster.from_config(s)
    assert g.settings() == Forecaster(**s.to_dict()).settings()
    assert (g.window, g.hidden_size, g.quantiles, g.base, g.auto) == (24, 8, [0.2, 0.5, 0.8], "snaive", ("max_steps", "strategy"))
    h = Forecaster.from_config(ForecasterSettings(model="esrnn", horizon=4, season=12))
    assert isinstance(h, ESRNNForecaster) and h.settings()["window"] == 12


def test_settings_round_trip_and_the_resolved_attributes():
    """``settings()`` builds the same forecaster; the estimator's attributes are the settings resolved (season 1:
    none, the window from the season and horizon, the fallbacks of the search, the time budget)."""
    f = Forecaster(horizon=3, season=1, lr=1, clip=0, quantiles=(0.3, 0.7), covariates="x")
    assert (f.season, f.window, f.hidden_size, f.max_steps, f.time_limit) == (None, 6, 32, 500, 120.0)
    assert type(f.lr) is float and type(f.clip) is float and f.covariate_choice == ["x"] and f.base == "naive"
    assert Forecaster(**f.settings()).settings() == f.settings()
    assert f.auto == ("window", "hidden_size", "max_steps", "strategy") and f.strategy == "direct"
