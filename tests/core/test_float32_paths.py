"""A float32 training step stays float32 everywhere: no float64 temporaries leak into the fast path."""

import numpy as np
import pytest

from gatedrnn.layers import SoftmaxCrossEntropy
from gatedrnn.models import LanguageModel
from gatedrnn.optim import SGD, clip_grad_norm


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("tied", [False, True])
def test_language_model_step_is_float32(cell, tied, rng):
    model = LanguageModel(50, 8, 8, 2, cell=cell, dropout=0.5, tie_weights=tied, seed=0)
    ce, opt = SoftmaxCrossEntropy(), SGD(model.params, model.grads, lr=1.0)
    ids, t = rng.integers(0, 50, (3, 5)), rng.integers(0, 50, (3, 5))
    state = None
    for _ in range(2):
        model.zero_grad()
        logits, state = model.forward(ids, state)
        loss = ce.forward(logits, t)
        d = ce.backward()
        model.backward(d)
        clip_grad_norm(model.grads, 0.25)
        opt.step()
        assert np.isfinite(loss) and logits.dtype == np.float32 and d.dtype == np.float32
        for s in (state if isinstance(state, tuple) else (state,)):
            assert s.dtype == np.float32
        for name, p, g in model.named_params():
            assert p.dtype == np.float32 and g.dtype == np.float32, name
        for s in (model.dstate if isinstance(model.dstate, tuple) else (model.dstate,)):
            assert s.dtype == np.float32
