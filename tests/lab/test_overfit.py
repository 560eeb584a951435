"""The seed's advice before anything large: a model must be able to memorise a tiny data set.

The recipes live in ``gatedrnn.lab.overfit`` (also behind ``gatedrnn overfit``); here they are held to the
issue's bounds.
"""

from gatedrnn.lab.overfit import overfit_sentence, overfit_sine


def test_lstm_language_model_memorises_a_sentence():
    result = overfit_sentence("lstm", seed=0, max_steps=300)
    assert result.loss < 0.01, f"loss {result.loss:.4f} after {result.steps} steps"
    assert result.passed, result.detail  # every next word predicted right in eval mode


def test_lstm_regressor_fits_one_period_of_a_sine():
    result = overfit_sine("lstm", seed=0, max_steps=500)
    assert result.loss < 1e-3, f"MSE {result.loss:.2e} after {result.steps} steps"
