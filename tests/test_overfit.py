"""The seed's advice before anything large: a model must be able to memorise a tiny data set."""

import numpy as np

from gatedrnn.layers import MSE, SoftmaxCrossEntropy
from gatedrnn.models import LanguageModel, SequenceRegressor
from gatedrnn.optim import Adam, clip_grad_norm

SENTENCE = "the cat sat on the mat and the dog sat on the log because the dog liked the log".split()


def test_lstm_language_model_memorises_a_sentence():
    vocab = {w: i for i, w in enumerate(dict.fromkeys(SENTENCE))}
    ids = np.array([[vocab[w] for w in SENTENCE]])
    x, t = ids[:, :-1], ids[:, 1:]
    model = LanguageModel(len(vocab), 16, 32, seed=0)
    opt = Adam(model.params, model.grads, lr=0.02)
    ce = SoftmaxCrossEntropy()
    for step in range(300):
        model.zero_grad()
        logits, _ = model.forward(x)
        loss = ce.forward(logits, t)
        if loss < 0.01:
            break
        model.backward(ce.backward())
        clip_grad_norm(model.grads, 5.0)
        opt.step()
    assert loss < 0.01, f"loss {loss:.4f} after {step} steps"
    logits, _ = model.eval().forward(x)
    assert (logits.argmax(-1) == t).all()


def test_lstm_regressor_fits_one_period_of_a_sine():
    n = 64
    wave = np.sin(np.linspace(0, 2 * np.pi, n + 1)).astype(np.float32)
    x, y = wave[None, :-1, None], wave[None, 1:, None]
    model = SequenceRegressor(1, 32, 1, seed=0)
    opt = Adam(model.params, model.grads, lr=0.01)
    mse = MSE()
    for step in range(500):
        model.zero_grad()
        pred, _ = model.forward(x)
        loss = mse.forward(pred, y)
        if loss < 1e-3:
            break
        model.backward(mse.backward())
        opt.step()
    assert loss < 1e-3, f"MSE {loss:.2e} after {step} steps"
