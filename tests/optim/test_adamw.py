"""AdamW (decoupled weight decay) against torch.optim.AdamW step by step (< 1e-12 in float64), the decay mask, and
its state through a checkpoint's optimizer state."""

import numpy as np
import pytest

from gatedrnn.errors import UserError
from gatedrnn.optim import OPTIMIZERS, AdamW, decay_mask


def _problem(rng):
    params = [rng.standard_normal((4, 3)), rng.standard_normal(3)]
    return params, [np.zeros_like(p) for p in params]


@pytest.mark.parametrize("wd, mask", [(0.0, None), (0.1, None), (0.3, [True, False])])
def test_adamw_matches_torch(wd, mask, rng):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: pip install torch (CI installs it)")
    params, grads = _problem(rng)
    ref = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    groups = ([{"params": ref, "weight_decay": wd}] if mask is None else
              [{"params": [r], "weight_decay": wd if m else 0.0} for r, m in zip(ref, mask)])
    topt = torch.optim.AdamW(groups, lr=0.02, betas=(0.8, 0.99), eps=1e-7)
    opt = AdamW(params, grads, lr=0.02, betas=(0.8, 0.99), eps=1e-7, weight_decay=wd, decay=mask)
    for step in range(25):
        lr = 0.02 * (0.5 + 0.5 * np.cos(step / 25 * np.pi))      # a schedule changes lr between steps
        opt.lr = lr
        for group in topt.param_groups:
            group["lr"] = lr
        for p, g, r in zip(params, grads, ref):
            g[...] = np.sin(p * 3.0 + step)
            r.grad = torch.tensor(g.copy())
        opt.step()
        topt.step()
        for p, r in zip(params, ref):
            assert np.abs(p - r.detach().numpy()).max() < 1e-12


def test_adamw_is_registered_and_decays_only_masked():
    assert OPTIMIZERS["adamw"] is AdamW
    p, q = np.ones((2, 2)), np.ones(2)
    opt = AdamW([p, q], [np.zeros_like(p), np.zeros_like(q)], lr=0.1, weight_decay=0.5, decay=[True, False])
    opt.step()                                  # zero gradients: only the decay moves p
    assert np.allclose(p, 0.95) and np.array_equal(q, np.ones(2))
    names = ["embed.weight", "blocks.0.conv.weight", "blocks.0.norm.weight", "out.weight", "out.bias"]
    arrays = [np.ones((5, 2)), np.ones((2, 1, 4)), np.ones(2), np.ones((5, 2)), np.ones(5)]
    assert decay_mask(names, arrays) == [False, True, False, True, False]


def test_adamw_checks_and_state_round_trip(rng):
    params, grads = _problem(rng)
    with pytest.raises(UserError, match="weight_decay"):
        AdamW(params, grads, weight_decay=-1.0)
    with pytest.raises(UserError, match="one flag per parameter"):
        AdamW(params, grads, decay=[True])
    opt = AdamW(params, grads, lr=0.01, weight_decay=0.2)
    for g in grads:
        g[...] = 1.0
    opt.step()
    scalars, arrays = opt.state_dict()
    assert scalars["weight_decay"] == 0.2 and scalars["type"] == "AdamW"
    other = AdamW([p.copy() for p in params], [g.copy() for g in grads], lr=0.01, weight_decay=0.0)
    other.load_state_dict(scalars, arrays)
    assert other.weight_decay == 0.2 and other.t == 1
