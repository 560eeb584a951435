"""deploy/adapters.py: the applications hand their export adapters down to deploy (issue 28, move 4: deploy imports
no application). The table is filled by the applications' packages on ``import gatedrnn``, a fresh interpreter whose
first import is ``gatedrnn.deploy`` included; a kind without an adapter is exported as a network alone; the
Forecaster's emitters read the forecast side's facts from the adapter they are given."""

import dataclasses
import importlib.util
import subprocess
import sys

import numpy as np
import pytest

import gatedrnn.classify.export_adapter as classify_adapter
import gatedrnn.forecast.export_adapter as forecast_adapter
from gatedrnn.classify import Classifier
from gatedrnn.deploy.adapters import ADAPTERS, NETWORK, adapter_for, facts_of, register_adapter
from gatedrnn.deploy.c99_forecaster import forecaster_c_sources
from gatedrnn.deploy.export import export_c_checkpoint
from gatedrnn.deploy.forecaster_onnx import build_forecaster_onnx
from gatedrnn.errors import UserError
from gatedrnn.forecast import Forecaster
from gatedrnn.models import SequenceRegressor


@pytest.fixture(scope="module")
def forecaster(tiny):
    t = np.arange(40)
    return Forecaster(**tiny.forecaster, season=4, seed=0).fit([10 + np.sin(2 * np.pi * t / 4) + i for i in range(2)])


def test_every_application_hands_its_adapter_to_deploy():
    assert ADAPTERS == {"forecaster": forecast_adapter.ADAPTER, "classifier": classify_adapter.ADAPTER}
    assert adapter_for({"kind": "forecaster"}).whole is not None
    assert adapter_for({"kind": "regressor", "model": {"class": "SequenceRegressor"}}) is NETWORK


def test_a_forecaster_folder_exports_from_deploy_in_a_fresh_interpreter(forecaster, tmp_path):
    """``from gatedrnn.deploy import ...`` first in a new process: gatedrnn/__init__ imports the applications, whose
    packages register their adapters before the export runs; the C written equals the in-process one."""
    forecaster.save(tmp_path / "f")
    code = ("import sys\nfrom gatedrnn.deploy import export_c_checkpoint, export_checkpoint\n"
            "import gatedrnn.deploy.adapters as a\nprint(sorted(a.ADAPTERS))\n"
            f"export_c_checkpoint({str(tmp_path / 'f')!r}, {str(tmp_path / 'c')!r}, prefix='fc')\n"
            f"if {importlib.util.find_spec('onnx') is not None}:\n"
            f"    export_checkpoint({str(tmp_path / 'f')!r}, {str(tmp_path / 'f.onnx')!r})\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0] == "['classifier', 'forecaster']"
    assert "Forecaster, LSTM 4 units x 1" in run.stdout
    header, source = forecaster_c_sources(Forecaster.load(tmp_path / "f"), prefix="fc", origin=str(tmp_path / "f"))
    assert (tmp_path / "c" / "fc.h").read_text() == header
    assert (tmp_path / "c" / "fc.c").read_text() == source


def test_a_kind_without_an_adapter_is_exported_as_a_network_alone(tiny, tmp_path, monkeypatch):
    X = [np.random.default_rng(i).normal(size=(6, 2)) for i in range(12)]
    y = ["up" if x[:, 0].mean() > 0 else "down" for x in X]
    Classifier(**tiny.classifier, seed=0).fit(X, y).save(tmp_path / "clf")
    export_c_checkpoint(tmp_path / "clf", tmp_path / "with", echo=lambda _: None)
    assert '"up"' in (tmp_path / "with" / "model.c").read_text()
    monkeypatch.delitem(ADAPTERS, "classifier")
    assert adapter_for({"kind": "classifier"}) is NETWORK
    said = []
    export_c_checkpoint(tmp_path / "clf", tmp_path / "alone", echo=said.append)
    assert '"up"' not in (tmp_path / "alone" / "model.c").read_text()
    assert "logits of the classes" not in said[0] and "standardised" not in said[0]


def test_the_forecasters_emitters_read_the_facts_they_are_given(forecaster):
    _, source = forecaster_c_sources(forecaster, prefix="fc")
    assert f"fabs(value) > {forecast_adapter.VALUE_LIMIT!r}" in source
    facts = dataclasses.replace(forecast_adapter.FACTS, value_limit=123.5)
    _, source = forecaster_c_sources(forecaster, prefix="fc", facts=facts)
    assert "fabs(value) > 123.5)" in source


def test_an_object_of_no_application_is_refused_in_one_line():
    with pytest.raises(UserError, match=r"^Forecaster ONNX export: expected an object of an application with an "
                                        r"export adapter, got SequenceRegressor$"):
        build_forecaster_onnx(SequenceRegressor(1, 2, 1, seed=0))
    with pytest.raises(UserError, match="got object$"):
        facts_of(object(), "x")


@pytest.mark.parametrize("kind", ["no-such-kind", "regressor"])
def test_register_adapter_takes_an_application_kind_only(kind):
    with pytest.raises(ValueError, match="register_adapter: expected an application kind"):
        register_adapter(kind, NETWORK)
