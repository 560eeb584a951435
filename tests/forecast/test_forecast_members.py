"""Forecaster ensembles trained as one batched network (forecast/members.py): equal to the members trained one
after another by train_network (float64 round-off), fallbacks, and the fitted Forecaster unchanged downstream."""

import numpy as np
import pytest

from gatedrnn import backend
from gatedrnn.forecast import Forecaster
from gatedrnn.forecast.features import to_panel
from gatedrnn.forecast.members import batched_applies, train_members
from gatedrnn.models import SequenceRegressor
from gatedrnn.models.member_regressor import MemberRegressor


def _series(n=4, seed=0):
    rng = np.random.default_rng(seed)
    return [np.sin(np.arange(150 + 13 * i) / 3.0 + i) * (1 + i) + rng.normal(0, 0.2, 150 + 13 * i) + 5 * i
            for i in range(n)]


def _max_diff(a, b):
    return max(float(np.abs(x - y).max()) for ma, mb in zip(a, b) for x, y in zip(ma.params, mb.params))


@pytest.fixture
def float64(monkeypatch):
    monkeypatch.setattr(backend, "DEFAULT_DTYPE", np.float64)


@pytest.mark.parametrize("layers,clip,mask,strategy,threads", [
    (1, 0.0, False, "direct", 1), (1, 0.02, False, "direct", 2), (2, 0.02, True, "direct", 1),
    (1, 0.05, False, "recursive", 1)])
def test_batched_members_equal_sequential_runs(float64, layers, clip, mask, strategy, threads, monkeypatch):
    """Each member of the batched training (on one thread, or its members split over two) ends with the weights
    and the history record of its own train_network run (per-member clipping engaged at clip 0.02: the gradient
    norms are ~0.1 and above)."""
    monkeypatch.setattr(MemberRegressor, "MIN_ITEMS", 1)
    f = Forecaster(horizon=3, season=12, window=20, hidden_size=6, num_layers=layers, max_steps=25, batch_size=8,
                   n_models=3, clip=clip, seed=5, mask=mask, strategy=strategy)
    panel = to_panel(_series())
    seq, h_seq = train_members(f, panel, batched=False)
    bat, h_bat = train_members(f, panel, batched=True, threads=threads)
    assert batched_applies(f) and bat[0].params[0].dtype == np.float64
    assert all(isinstance(m, SequenceRegressor) and not m.training for m in bat)
    assert _max_diff(seq, bat) < 1e-12
    for a, b in zip(h_seq, h_bat):
        assert a["seed"] == b["seed"] and a["steps"] == b["steps"] == 25
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-12)
    assert [r["seed"] for r in h_bat] == [5, 6, 7]


def test_one_member_batched_is_its_run(float64):
    f = Forecaster(horizon=2, window=10, hidden_size=4, max_steps=15, batch_size=4, clip=0.05, seed=2)
    panel = to_panel(_series(2))
    assert not batched_applies(f)                  # one member: the sequential loop unless asked
    seq, _ = train_members(f, panel)
    bat, _ = train_members(f, panel, batched=True)
    assert _max_diff(seq, bat) < 1e-12


def test_other_cells_and_covariates_fall_back_to_the_loop():
    gru = Forecaster(cell="gru", horizon=2, window=10, hidden_size=4, max_steps=5, batch_size=4, n_models=2)
    assert not batched_applies(gru)
    models, history = train_members(gru, to_panel(_series(2)), batched=True)   # asked, but not an LSTM: the loop
    assert [m.config["cell"] for m in models] == ["gru", "gru"] and [r["seed"] for r in history] == [0, 1]
    cov = Forecaster(horizon=2, window=10, hidden_size=4, max_steps=5, batch_size=4, n_models=2)
    cov.covariates = ["x"]
    assert not batched_applies(cov)


def test_fitted_batched_forecaster_predicts_saves_and_streams(tmp_path):
    """float32, the Forecaster's own fit: the K members are ordinary networks (predict, save/load, stream)."""
    ys = _series(3)
    f = Forecaster(horizon=4, season=12, window=24, hidden_size=8, max_steps=20, n_models=3, seed=1).fit(ys)
    assert len(f.models) == 3 and [r["seed"] for r in f.history] == [1, 2, 3]
    assert all(np.isfinite(r["train_loss"]) for r in f.history)
    assert not np.array_equal(f.models[0].params[0], f.models[1].params[0])
    p = f.predict()
    back = Forecaster.load(f.save(tmp_path / "ens"))
    np.testing.assert_array_equal(back.predict()["y_hat"], p["y_hat"])
    out = back.stream().push(float(ys[0][-1]), "0")
    assert out["y_hat"].shape == (4,) and np.isfinite(out["y_hat"]).all()


def test_ensemble_speed_benchmark_small(capsys, monkeypatch):
    """benchmarks/ensemble_speed.py at its small size on the generated panel: every way timed, the table, the
    ratio, and the batched members equal to the sequential ones."""
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "ensemble_speed.py"
    spec = importlib.util.spec_from_file_location("ensemble_speed", script)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    monkeypatch.setattr(MemberRegressor, "MIN_ITEMS", 1)
    doc = bench.main(["--size", "small", "--synthetic", "--threads", "2"])
    text = capsys.readouterr().out
    assert "| members K | sequential s (wall)" in text and "5 batched / 2 sequential:" in text
    assert "5 batched 2 threads / 2 sequential:" in text
    assert set(doc["medians"]) == {f"{k} {w}" for k in (1, 2, 5) for w in ("sequential", "batched", "batched 2 threads")}
    assert doc["ratio_5_batched_2_sequential"] > 0 and doc["max_weight_difference"] < 1e-4
