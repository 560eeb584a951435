"""Every field of every config dataclass in the package, fed hostile values (issue 11, item 5): each value either
validates, and then the config is written as JSON without NaN or Inf and reads back equal, or it is refused with one
``UserError`` line. Good values pass."""

import dataclasses
import importlib
import json
import pkgutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gatedrnn
from gatedrnn.config import Config
from gatedrnn.errors import UserError
from gatedrnn.lm import PRESETS, LMConfig


def _all_configs() -> list:
    for info in pkgutil.walk_packages(gatedrnn.__path__, "gatedrnn."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    found, todo = [], [Config]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.append(sub)
            todo.append(sub)
    return sorted(set(found), key=lambda c: c.__name__)


CONFIGS = _all_configs()
BASE = {"ForecastConfig": {"dataset": "sunspots"}, "ClassifyConfig": {"dataset": "japanesevowels"}}   # need a dataset
FIELDS = [(cls, f.name) for cls in CONFIGS for f in dataclasses.fields(cls)]


def base_of(cls) -> dict:
    return {**cls().to_dict(), **BASE.get(cls.__name__, {})}


def test_every_config_is_found():
    names = {c.__name__ for c in CONFIGS}
    assert {"LMConfig", "ForecastConfig", "ClassifyConfig", "TaskConfig", "ForgetBiasConfig", "ClipConfig", "QuickstartConfig",
            "GradflowConfig", "TBPTTConfig", "OverfitConfig"} <= names, names


SCALARS = (st.floats() | st.sampled_from([float("nan"), float("inf"), -float("inf"), 0.0, -0.0, 1e308, -1e-320])
           | st.integers() | st.sampled_from([0, -1, 1, 2**63, -(2**63), 10**30, 10**400, -(10**400)])
           | st.booleans() | st.none() | st.text(max_size=6) | st.sampled_from(["lstm", "nan", "1", "", "none"]))
VALUES = SCALARS | st.lists(SCALARS, max_size=3) | st.dictionaries(st.text(max_size=4), SCALARS, max_size=2)


def check_outcome(cls, values: dict) -> None:
    try:
        cfg = cls.from_dict(values)
    except UserError as exc:
        msg = str(exc)
        assert "\n" not in msg and 0 < len(msg) < 1000, msg
        return
    text = json.dumps(cfg.to_dict(), allow_nan=False)     # what config.json is written from: no NaN, no Inf
    assert cls.from_dict(json.loads(text)) == cfg


@settings(max_examples=400, deadline=None)
@given(where=st.sampled_from(FIELDS), value=VALUES)
def test_a_hostile_field_value_validates_or_is_one_line(where, value):
    cls, name = where
    check_outcome(cls, {**base_of(cls), name: value})


@settings(max_examples=100, deadline=None)
@given(cls=st.sampled_from(CONFIGS), data=st.data())
def test_several_hostile_values_at_once(cls, data):
    values = base_of(cls)
    for name in data.draw(st.lists(st.sampled_from([f.name for f in dataclasses.fields(cls)]), min_size=1, max_size=4)):
        values[name] = data.draw(VALUES)
    check_outcome(cls, values)


@pytest.mark.parametrize("cls", CONFIGS, ids=lambda c: c.__name__)
def test_defaults_pass(cls):
    cfg = cls.from_dict(base_of(cls))
    json.dumps(cfg.to_dict(), allow_nan=False)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_pass(preset):
    LMConfig.from_dict({**PRESETS[preset], "preset": preset})


GOOD_LM = st.fixed_dictionaries({}, optional={
    "lr": st.floats(1e-6, 100), "clip": st.floats(0, 10), "forget_bias": st.floats(-10, 10),
    "dropout": st.floats(0, 0.99), "input_gain": st.floats(0.01, 10), "min_delta": st.floats(0, 1),
    "cosine_floor": st.floats(0, 1), "seed": st.integers(0, 2**64), "hidden_size": st.integers(1, 1000),
    "num_layers": st.integers(1, 4), "batch_size": st.integers(1, 64), "max_steps": st.none() | st.integers(1, 10**6),
    "patience": st.none() | st.integers(0, 5), "level": st.sampled_from([None, "word", "char"]),
    "tensorboard": st.booleans(), "lr_as_int": st.integers(1, 50)})


@settings(max_examples=100, deadline=None)
@given(GOOD_LM)
def test_good_lm_values_pass(values):
    if "lr_as_int" in values:          # an integer where a float is declared (JSON "lr": 20) is a number
        values["lr"] = values.pop("lr_as_int")
    cfg = LMConfig.from_dict({**LMConfig().to_dict(), **values})
    json.dumps(cfg.to_dict(), allow_nan=False)


@pytest.mark.parametrize("name, value, msg", [
    ("tie_weights", "false", "tie_weights: expected true or false, got 'false'"),
    ("tensorboard", 1, "tensorboard: expected true or false, got 1"),
    ("corpus", ["ptb"], "corpus: expected a string, got ['ptb']"),
    ("cell", [], "cell: expected a string, got []"),
    ("level", [None], "level: expected a string or None, got [None]"),
    ("lr", 10**400, "lr: expected a finite positive number, got 1000"),
])
def test_values_that_used_to_pass(name, value, msg):
    """Each of these validated before issue 11 (or crashed with a traceback: the huge integer)."""
    with pytest.raises(UserError) as exc:
        LMConfig.from_dict({**LMConfig().to_dict(), name: value})
    assert msg in str(exc.value) and len(str(exc.value)) < 200


EXTREMES = [10**400, -(10**400), 2**63, float("nan"), float("inf"), -1e-320, [10**400], {"a": 10**400}]


@pytest.mark.parametrize("where", FIELDS, ids=lambda w: f"{w[0].__name__}.{w[1]}")
def test_every_field_meets_the_extremes(where):
    """Every field, every extreme value, deterministically: a random sweep found ``density`` overflowing on a huge
    integer only once in many runs."""
    cls, name = where
    for value in EXTREMES:
        check_outcome(cls, {**base_of(cls), name: value})
