"""Forecaster(model="auto"): the settings search tries the hybrid ES-RNN beside the window model's candidates and
fits the better one (forecast/auto_model.py)."""

from __future__ import annotations

import numpy
import pytest

from gatedrnn.forecast import Forecaster, selection
from gatedrnn.forecast.auto_model import why_not
from gatedrnn.forecast.esrnn_forecaster import ESRNNForecaster
from gatedrnn.forecast.features import to_panel


def _panel(n=4, length=150, season=12):
    rng = numpy.random.default_rng(0)
    t = numpy.arange(length)
    return [30 + 5 * k + 4 * numpy.sin(2 * numpy.pi * t / season + k) + rng.normal(0, 0.3, length) for k in range(n)]


def _auto(**kw):
    return Forecaster(**{"horizon": 6, "season": 12, "model": "auto", "time_limit": 6, "time_clock": "cpu", **kw})


def test_the_hybrid_is_a_candidate_only_where_it_applies():
    ys = _panel()
    assert why_not(_auto(), to_panel(ys)) is None
    assert "no season" in why_not(_auto(season=None), to_panel(ys))
    assert "<= 0" in why_not(_auto(), to_panel([y - 40 for y in ys]))
    assert "not asked" in why_not(_auto(window=24), to_panel(ys))
    assert "not asked" in why_not(Forecaster(horizon=6, season=12, model="window"), to_panel(ys))
    assert "window-model option" in why_not(_auto(strategy="recursive"), to_panel(ys))


def test_auto_keeps_the_window_model_when_it_scores_better(monkeypatch):
    def hybrid_loses(f, panel, limit, echo):
        return {"model": "esrnn", "score": 1e9, "best_step": 50, "why": None}
    monkeypatch.setattr(selection, "try_hybrid", hybrid_loses)
    f = _auto().fit(_panel())
    assert type(f) is Forecaster and f.model == "window"
    assert [r.get("model") for r in f.selection["candidates"]][0] == "esrnn"        # tried first
    assert "model" not in f.selection["chosen"]


def test_auto_becomes_the_hybrid_when_it_scores_better(monkeypatch, tmp_path):
    real = selection._try

    def window_loses(f, cand, full, part, backs, limit):
        if isinstance(f, ESRNNForecaster):                 # the hybrid's own search
            return real(f, cand, full, part, backs, limit)
        return {**cand, "score": 1e9, "best_step": 50, "steps_run": 50, "stopped": "done", "schedule": 50,
                "seconds": 0.0}
    monkeypatch.setattr(selection, "_try", window_loses)
    lines = []
    f = _auto().fit(_panel(), echo=lines.append)
    assert isinstance(f, ESRNNForecaster) and f.model == "esrnn"
    assert f.selection["chosen"]["model"] == "esrnn" and f.settings()["model"] == "esrnn"
    assert any("ES-RNN" in line for line in lines) and f.models
    p = f.predict()
    assert p["y_hat"].shape == (4, 6) and numpy.isfinite(p["y_hat"]).all()
    f.save(tmp_path / "f")
    g = Forecaster.load(tmp_path / "f")
    assert isinstance(g, ESRNNForecaster)
    numpy.testing.assert_allclose(g.predict()["y_hat"], p["y_hat"], rtol=1e-12)
    again = Forecaster(**f.settings()).fit(_panel())          # the chosen settings refit without the search
    numpy.testing.assert_allclose(again.predict()["y_hat"], p["y_hat"], rtol=1e-12)


def test_an_unknown_model_is_one_line():
    with pytest.raises(Exception, match="model: expected one of"):
        Forecaster(horizon=6, model="arima")


def test_the_tables_name_the_model_fitted():
    from gatedrnn.forecast.experiment import model_name

    assert model_name(Forecaster(model="esrnn", horizon=4, season=12)) == "ES-RNN (LSTM 40 units)"
    assert model_name(Forecaster(horizon=4, hidden_size=16)) == "LSTM (16 units)"
