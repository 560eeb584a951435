import json
import math

import numpy as np
import pytest

from gatedrnn.optim import SGD, make_schedule


def _opt(lr=20.0):
    p = np.zeros(2)
    return SGD([p], [p.copy()], lr=lr)


def test_plateau_divides_by_four_when_validation_stops_improving():
    opt = _opt()
    s = make_schedule("plateau", opt)
    lrs = []
    for epoch, val in enumerate([5.0, 4.8, 4.9, 4.7, 4.7, 4.6], start=1):
        s.on_epoch_end(epoch, val)
        lrs.append(opt.lr)
    assert lrs == [20, 20, 5, 5, 1.25, 1.25]


def test_plateau_patience_and_floor():
    opt = _opt(1.0)
    s = make_schedule("plateau", opt, factor=2.0, patience=1, min_lr=0.3)
    for e, v in enumerate([1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6], start=1):
        s.on_epoch_end(e, v)
    assert opt.lr == 0.3


def test_step_decay():
    opt = _opt(1.0)
    s = make_schedule("step", opt, step_size=1, gamma=1 / 1.2, start=6)  # Zaremba et al.'s medium schedule
    lrs = []
    for e in range(1, 10):
        s.on_epoch_end(e, 0.0)
        lrs.append(opt.lr)
    assert lrs[:5] == [1.0] * 5 and lrs[5] == pytest.approx(1 / 1.2) and lrs[7] == pytest.approx(1.2 ** -3)  # epoch 7 decays
    opt = _opt(1.0)
    s = make_schedule("step", opt, step_size=2, gamma=0.5, start=2)
    got = []
    for e in range(1, 8):
        s.on_epoch_end(e, 0.0)
        got.append(opt.lr)   # the rate of epoch e + 1
    assert got == [1.0, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125]


def test_cosine_with_warmup():
    opt = _opt(1.0)
    s = make_schedule("cosine", opt, total_steps=110, min_lr=0.1, warmup_steps=10)
    got = {}
    for step in range(1, 121):
        s.on_step(step)
        got[step] = opt.lr
    assert got[5] == pytest.approx(0.5) and got[10] == pytest.approx(1.0)
    assert got[60] == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert got[110] == pytest.approx(0.1) and got[120] == pytest.approx(0.1)
    assert all(got[k] >= got[k + 1] for k in range(10, 119))


@pytest.mark.parametrize("name,kw", [("plateau", {}), ("step", {"step_size": 2}), ("cosine", {"total_steps": 50}),
                                     ("none", {})])
def test_state_round_trip(name, kw):
    opt = _opt()
    s = make_schedule(name, opt, **kw)
    for e, v in enumerate([3.0, 3.5, 2.0], start=1):
        s.on_step(e * 7)
        s.on_epoch_end(e, v)
    d = json.loads(json.dumps(s.state_dict()))
    opt2 = _opt()
    s2 = make_schedule(name, opt2, **kw)
    s2.load_state_dict(d)
    assert opt2.lr == opt.lr and s2.state_dict() == s.state_dict()


def test_errors():
    with pytest.raises(ValueError, match="schedule: expected one of"):
        make_schedule("linear", _opt())
    with pytest.raises(ValueError, match="total_steps"):
        make_schedule("cosine", _opt(), total_steps=0)
    with pytest.raises(ValueError, match="expected 'plateau', got 'step'"):
        make_schedule("plateau", _opt()).load_state_dict(make_schedule("step", _opt()).state_dict())
