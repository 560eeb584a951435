"""Parameter groups (optim/groups.py): each group at its own learning rate, schedules keep the ratios, the state
round-trips, and the Trainer runs and resumes with them."""

import json

import numpy as np
import pytest

from gatedrnn.errors import UserError
from gatedrnn.layers import MSE
from gatedrnn.models import SequenceRegressor
from gatedrnn.optim import SGD, Adam, CosineDecay, ParamGroups, param_groups
from gatedrnn.train.trainer import Trainer


def _named(rng):
    names = ["es.alpha", "es.season_init", "head.weight", "head.bias"]
    params = [rng.standard_normal(s) for s in [(5,), (5, 4), (3, 2), (3,)]]
    return names, params, [np.ones_like(p) for p in params]


def test_each_group_steps_at_its_own_rate(rng):
    names, params, grads = _named(rng)
    before = [p.copy() for p in params]
    opt = param_groups("sgd", names, params, grads, lr=0.1, rates={"es.": 0.5})
    opt.step()
    moved = [float((b - p).mean()) for b, p in zip(before, params)]
    assert np.allclose(moved, [0.5, 0.5, 0.1, 0.1])
    assert opt.lr == 0.1 and len(opt.params) == 4 and opt.t == 1


def test_a_schedule_scales_every_group_alike(rng):
    names, params, grads = _named(rng)
    opt = param_groups("adam", names, params, grads, lr=1e-2, rates={"es.": 1e-1})
    sched = CosineDecay(opt, total_steps=10)
    sched.on_step(5)
    assert np.isclose(opt.groups[0].lr, sched.lr_at(5)) and np.isclose(opt.groups[1].lr, 10 * sched.lr_at(5))


def test_state_round_trip_continues_identically(rng):
    names, params, grads = _named(rng)
    opt = param_groups("adam", names, params, grads, lr=1e-2, rates={"es.": 1e-1})
    for _ in range(3):
        for g in grads:
            g[...] = rng.standard_normal(g.shape)
        opt.step()
    scalars, arrays = opt.state_dict()
    scalars = json.loads(json.dumps(scalars))                     # what a checkpoint's meta.json holds
    copies = [p.copy() for p in params]
    twin = param_groups("adam", names, copies, grads, lr=1.0, rates={"es.": 1.0})
    twin.load_state_dict(scalars, arrays)
    opt.step()
    twin.step()
    assert all(np.array_equal(p, q) for p, q in zip(params, copies)) and twin.lr == opt.lr


def test_the_trainer_runs_and_resumes_with_groups(rng, tmp_path):
    x, t = rng.standard_normal((16, 5, 2)), rng.standard_normal((16, 1))

    def run(steps, out, resume=False):
        model = SequenceRegressor(2, 4, 1, many_to_one=True, dtype=np.float64, seed=0)
        opt = param_groups("adam", model.names, model.params, model.grads, lr=1e-2, rates={"head.": 3e-2})
        trainer = Trainer(model, MSE(), opt, train_data=[(x[:8], t[:8]), (x[8:], t[8:])], carry_state=False,
                          epochs=3, max_steps=steps, out_dir=out, plot=False)
        if resume:
            trainer.load(out / "last")
        trainer.fit()
        return model

    full = run(6, tmp_path / "a")
    run(3, tmp_path / "b")
    resumed = run(6, tmp_path / "b", resume=True)
    assert all(np.array_equal(p, q) for p, q in zip(full.params, resumed.params))


def test_bad_groups_are_one_line(rng):
    names, params, grads = _named(rng)
    with pytest.raises(UserError, match=r"rates: expected prefixes of parameter names, got \['rnn.'\]"):
        param_groups("sgd", names, params, grads, lr=0.1, rates={"rnn.": 0.5})
    with pytest.raises(UserError, match="one group only"):
        ParamGroups([SGD(params[:2], grads[:2], lr=0.1), Adam(params[1:], grads[1:])])
    with pytest.raises(UserError, match="non-empty list of optimizers"):
        ParamGroups([])
    opt = param_groups("sgd", names, params, grads, lr=0.1, rates={"es.": 0.5})
    with pytest.raises(UserError, match="expected ParamGroups of 2 groups"):
        opt.load_state_dict(*SGD(params, grads, lr=0.1).state_dict())
