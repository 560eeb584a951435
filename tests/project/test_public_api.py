"""The public face (issue 28): ``gatedrnn.__all__`` names what the README teaches, each application package names
its public face only (no command internals), ``gatedrnn.classify.run`` is the module, and ``make_config`` has one
shape wherever it exists."""

import importlib
import inspect
import re
from pathlib import Path

import pytest

import gatedrnn as g

ROOT = Path(__file__).resolve().parents[2]
# what each package's __init__ may not export: a command's own machinery, imported from its module instead
COMMAND_INTERNALS = {"run", "make_config", "default_out", "format_table", "ForecastResult", "train_command",
                     "make_run_config", "resume_config", "print_generated", "ArimaChoice"}


def test_the_top_level_names_what_the_readme_teaches():
    text = (ROOT / "README.md").read_text()
    taught = set(re.findall(r"\bg\.([A-Za-z_]\w*)", text)) | set(re.findall(r"\bgatedrnn\.([A-Za-z_]\w*)\(", text))
    taught |= {n for n in re.findall(r"\bgatedrnn\.([A-Z]\w*)", text)}
    taught -= {"__version__"}
    assert taught, "no g.X in the README?"
    missing = sorted(n for n in taught if n not in g.__all__)
    assert not missing, f"the README teaches {missing}, which gatedrnn.__all__ does not name"
    for name in ("Forecaster", "Classifier", "load", "CELLS", "LSTM", "GRU", "RNN", "Trainer", "gradcheck"):
        assert name in g.__all__ and hasattr(g, name), name


@pytest.mark.parametrize("package", ["forecast", "classify", "lm"])
def test_an_application_package_names_its_public_face_only(package):
    mod = importlib.import_module(f"gatedrnn.{package}")
    assert all(hasattr(mod, name) for name in mod.__all__)
    leaked = sorted(set(mod.__all__) & COMMAND_INTERNALS)
    assert not leaked, f"gatedrnn.{package} exports command internals {leaked}"
    assert len(mod.__all__) <= 16


def test_the_estimators_are_one_object_everywhere():
    from gatedrnn.classify import Classifier
    from gatedrnn.forecast import Forecaster

    assert g.Forecaster is Forecaster and g.Classifier is Classifier


def test_classify_run_is_the_module():
    importlib.import_module("gatedrnn.classify.run")
    import gatedrnn.classify

    assert inspect.ismodule(gatedrnn.classify.run) and callable(gatedrnn.classify.run.run)


def test_make_config_has_one_shape():
    from gatedrnn.classify.config import make_config as classify_config
    from gatedrnn.forecast.config import make_config as forecast_config
    from gatedrnn.lm import presets

    shape = [p.name for p in inspect.signature(forecast_config).parameters.values()]
    assert shape == ["config_file", "flags"]
    assert [p.name for p in inspect.signature(classify_config).parameters.values()] == shape
    assert not hasattr(presets, "make_config") and "preset" in inspect.signature(presets.preset_config).parameters
