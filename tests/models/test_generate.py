import numpy as np
import pytest

from gatedrnn.models import LanguageModel
from gatedrnn.models.generate import next_token_distribution, sample


def test_distribution_temperature_top_k_and_exclude():
    logits = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
    np.testing.assert_allclose(next_token_distribution(logits), [0.1, 0.2, 0.3, 0.4])
    p = next_token_distribution(logits, top_k=2)
    np.testing.assert_allclose(p, [0, 0, 3 / 7, 4 / 7])
    np.testing.assert_allclose(next_token_distribution(logits, temperature=0), [0, 0, 0, 1])
    cold = next_token_distribution(logits, temperature=0.5)
    assert cold[3] > 0.4 and cold.sum() == pytest.approx(1)
    np.testing.assert_allclose(next_token_distribution(logits, exclude=[3]), [1 / 6, 2 / 6, 3 / 6, 0])
    with pytest.raises(ValueError, match="temperature"):
        next_token_distribution(logits, temperature=-1)
    with pytest.raises(ValueError, match="top_k"):
        next_token_distribution(logits, top_k=0)


def test_sample_is_deterministic_and_keeps_the_mode():
    model = LanguageModel(12, 6, 8, dropout=0.5, seed=0)
    a = sample(model, [1, 2], 30, np.random.default_rng(3), temperature=1.0, top_k=4)
    b = sample(model, [1, 2], 30, np.random.default_rng(3), temperature=1.0, top_k=4)
    c = sample(model, [1, 2], 30, np.random.default_rng(4), temperature=1.0, top_k=4)
    assert a == b != c and len(a) == 30 and model.training
    assert sample(model, [1], 5, np.random.default_rng(0), exclude=range(1, 12)) == [0] * 5
    with pytest.raises(ValueError, match="at least one id"):
        sample(model, [], 5, np.random.default_rng(0))
