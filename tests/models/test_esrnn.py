"""The hybrid ES-RNN (models/esrnn.py, esrnn_windows.py, esrnn_loss.py) and the dilated layer (layers/dilated.py):
gradient checks through the network, the windows and the smoothing; training through the Trainer with the
per-series parameters in their own group; forecasts; the one-line errors."""

import numpy as np
import pytest

from gatedrnn.errors import UserError
from gatedrnn.gradcheck import gradcheck
from gatedrnn.layers import make_recurrent
from gatedrnn.layers.dilated import Dilated
from gatedrnn.models.esrnn import ESRNN
from gatedrnn.models.esrnn_loss import ESRNNLoss
from gatedrnn.optim import param_groups
from gatedrnn.optim.schedules import CosineDecay
from gatedrnn.train.trainer import Trainer


def _panel(rng, B, T, shift=0.0):
    t = np.arange(T)
    base = rng.uniform(5, 20, (B, 1)) * (1 + 0.005 * t)[None]
    return base * (1 + 0.3 * np.sin(2 * np.pi * t / 4))[None] * rng.uniform(0.95, 1.05, (B, T)) - shift


@pytest.mark.parametrize("cell,d", [("lstm", 3), ("gru", 2), ("rnn", 1)])
def test_dilated_is_the_stack_on_each_phase(cell, d, rng):
    stack = make_recurrent(cell, 2, 3, 2, dtype=np.float64, seed=1)
    x = rng.standard_normal((2, 10, 2))
    y = Dilated(stack, d).forward(x)
    for j in range(d):
        alone, _ = stack.forward(x[:, j::d])
        assert np.allclose(y[:, j::d], alone, atol=1e-12)
    errors = gradcheck(Dilated(stack, d), x)
    assert max(errors.values()) < 1e-6, errors


def _loss_of(model, penalty):
    loss = ESRNNLoss(model.quantiles, penalty)

    def f(out):
        value = loss.forward(out[0])
        return value, loss.backward()
    return f


@pytest.mark.parametrize("form,season2,es", [("multiplicative", 6, True), ("additive", None, True),
                                             ("multiplicative", None, False)])
def test_gradcheck_of_the_whole_hybrid(form, season2, es, rng):
    model = ESRNN(4, horizon=3, season=4, season2=season2, window=5, hidden_size=3, dilations=((1, 2), (3,)),
                  seasonality=form, es=es, dtype=np.float64, seed=0)
    if es:
        for p in model.es.params:
            p += rng.normal(0, 0.3, p.shape)
    y = _panel(rng, 2, 16, shift=0.0 if form == "multiplicative" else 12.0)
    errors = gradcheck(model, (y, np.array([3, 1])), loss=_loss_of(model, 2.0), max_checks=12)
    assert max(errors.values()) < 1e-6, {k: v for k, v in errors.items() if v >= 1e-6}
    assert any(n.startswith("es.") for n in errors) == es


def test_training_with_its_own_rate_for_the_series_and_forecasting(rng):
    y = _panel(rng, 12, 60)
    model = ESRNN(12, horizon=4, season=4, window=8, hidden_size=8, dilations=((1, 2), (4,)), seed=0)
    model.es.initialise(y)
    loss = ESRNNLoss(model.quantiles, penalty=1.0)
    opt = param_groups("adam", model.names, model.params, model.grads, lr=1e-2, rates={"es.": 3e-2})

    def batches(epoch):
        order = np.random.default_rng(epoch).permutation(12)
        return [((y[order[i:i + 4], :-4], order[i:i + 4]), y[order[i:i + 4], :-4]) for i in range(0, 12, 4)]

    first = loss.forward(model.forward((y[:, :-4], None))[0])
    trainer = Trainer(model, loss, opt, train_data=batches, carry_state=False, epochs=30, clip=1.0,
                      schedule=CosineDecay(opt, total_steps=90), plot=False)
    trainer.fit()
    after = loss.forward(model.forward((y[:, :-4], None))[0])
    assert after < 0.7 * first, (first, after)
    f = model.forecast(y[:, :-4])
    assert f.shape == (12, 4, 5) and model.levels == [0.025, 0.1, 0.5, 0.9, 0.975]
    assert (np.diff(f, axis=2) >= 0).all() and (f > 0).all()
    mape = np.abs(f[:, :, 2] - y[:, -4:]).mean() / y[:, -4:].mean()
    assert mape < 0.15, mape


def test_a_short_series_forecasts_without_targets(rng):
    model = ESRNN(2, horizon=6, season=4, window=4, hidden_size=3, dilations=((1,),), seed=0)
    f = model.forecast(_panel(rng, 2, 5))
    assert f.shape == (2, 6, 5) and np.isfinite(f).all()


def test_bad_input_is_one_line(rng):
    model = ESRNN(2, horizon=2, season=4, hidden_size=3, dilations=((1,),), series_names=["H1", "H2"])
    y = _panel(rng, 2, 12)
    y[1, 7] = 0.0
    with pytest.raises(UserError, match=r"^series 'H2': expected positive values .*\"additive\".* at step 7$"):
        model.forward((y, None))
    y[1, 7] = np.nan
    with pytest.raises(UserError, match=r"^series 'H2': expected finite values, got nan at step 7$"):
        model.forecast(y)
    no_es = ESRNN(2, horizon=2, season=4, hidden_size=3, dilations=((1,),), es=False, series_names=["a", "b"])
    y[1, 7] = -1.0
    with pytest.raises(UserError, match="^series 'b': expected positive values"):
        no_es.forecast(y)
    with pytest.raises(UserError, match="expected at least window = 4 steps, got 3"):
        model.forecast(_panel(rng, 2, 3))
    with pytest.raises(UserError, match="dilations: expected blocks of positive integers"):
        ESRNN(2, horizon=2, season=4, dilations=(1, 2))
    with pytest.raises(UserError, match=r"rows: expected 2 series indices in \[0, 2\)"):
        model.forward((_panel(rng, 2, 12), np.array([0, 5])))
    with pytest.raises(UserError, match="state: expected None"):
        model.forward((_panel(rng, 2, 12), None), state=np.zeros(3))


def test_the_m4_benchmark_prints_its_table(capsys):
    """benchmarks/esrnn_m4.py at a smoke budget on a few M4 Hourly series (skipped without the files)."""
    import importlib.util
    import os
    from pathlib import Path

    data = Path(os.environ.get("GATEDRNN_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
    if not (data / "m4" / "Hourly-train.csv").is_file():
        pytest.skip(f"M4 Hourly not found under {data}: set GATEDRNN_DATA to the folder holding m4/")
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "esrnn_m4.py"
    spec = importlib.util.spec_from_file_location("esrnn_m4", script)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.main(["--size", "tiny", "--epochs", "1", "--series", "6", "--length", "300", "--no-season2",
                "--data-dir", str(data)])
    text = capsys.readouterr().out
    assert "ES-RNN tiny 1ep x1" in text and "naive2" in text and "OWA" in text and "ES-RNN fit + predict" in text
