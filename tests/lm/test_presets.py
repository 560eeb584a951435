import numpy as np
import pytest

from gatedrnn.lm import PRESETS, LMConfig, build_language_model, preset_config


def test_small_is_the_books_rnnlm():
    c = preset_config("small")
    assert (c.embed_size, c.hidden_size, c.num_layers, c.optimizer, c.lr, c.clip, c.epochs, c.batch_size, c.time_size) == \
        (100, 100, 1, "sgd", 20.0, 0.25, 4, 20, 35)
    m = preset_config("medium")
    assert (m.embed_size, m.hidden_size, m.num_layers, m.dropout, m.tie_weights, m.epochs, m.schedule) == \
        (650, 650, 2, 0.5, True, 40, "plateau")
    assert set(PRESETS) == {"small", "medium"}


def test_overrides_round_trip_and_describe():
    c = preset_config("small", cell="gru", lr=None, epochs=2)
    assert c.cell == "gru" and c.lr == 20.0 and c.epochs == 2
    assert LMConfig.from_dict(c.to_dict()) == c
    assert "cell             = 'gru'" in c.describe()
    model = build_language_model(c, 50, train_ids=[0, 1, 1, 1, 49])
    assert model.config["cell"] == "gru" and model.vocab_size == 50
    p = np.exp(model.out.b) / np.exp(model.out.b).sum()  # unigram start: add-one smoothed frequencies
    np.testing.assert_allclose(p[[0, 1, 2]], np.array([2, 4, 1]) / 55, rtol=1e-5)
    with pytest.raises(ValueError, match="expected the training token ids"):
        build_language_model(c, 50)
    assert not build_language_model(preset_config("small", output_bias="zero"), 50).out.b.any()


def test_errors():
    with pytest.raises(ValueError, match="preset: expected one of"):
        preset_config("large")
    with pytest.raises(ValueError, match="unknown"):
        preset_config("small", hidden=3)
    with pytest.raises(ValueError, match="hidden_size: expected a positive integer"):
        preset_config("small", hidden_size=0)
    with pytest.raises(ValueError, match="tie_weights"):
        preset_config("small", tie_weights=True, embed_size=50)
    with pytest.raises(ValueError, match="unknown"):
        LMConfig.from_dict({"nope": 1})


def test_book_init_draws_the_books_scales():
    m = build_language_model(preset_config("small", init="book", forget_bias=0.0, output_bias="zero"), 1000)
    lstm = m.rnn.layers[0]
    assert abs(float(m.embed.W.std()) - 0.01) < 1e-3
    assert abs(float(lstm.Wh.std()) - 0.1) < 5e-3 and abs(float(m.out.W.std()) - 0.1) < 5e-3
    assert not lstm.b_ih.any() and not lstm.b_hh.any() and not m.out.b.any()
    again = build_language_model(preset_config("small", init="book", forget_bias=0.0, output_bias="zero"), 1000)
    assert all((a == b).all() for a, b in zip(m.params, again.params))  # seeded
    with pytest.raises(ValueError, match="init: expected one of"):
        preset_config("small", init="xavier")


def test_input_gain_scales_only_the_first_layers_input_weights():
    assert preset_config("small").input_gain == 2.0 and preset_config("medium").input_gain == 1.0
    base = build_language_model(preset_config("small", input_gain=1.0, num_layers=2), 1000, train_ids=[0, 1])
    gained = build_language_model(preset_config("small", num_layers=2), 1000, train_ids=[0, 1])
    np.testing.assert_array_equal(gained.rnn.layers[0].Wx, 2 * base.rnn.layers[0].Wx)
    np.testing.assert_array_equal(gained.rnn.layers[1].Wx, base.rnn.layers[1].Wx)
    assert abs(float(gained.rnn.layers[0].Wx.std()) - 0.2) < 1e-2  # N(0, 4 / fan_in), fan_in = 100
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="input_gain: expected a finite positive number"):
            preset_config("small", input_gain=bad)
