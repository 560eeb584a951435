"""Front ends for long inputs (issue 24, item 2): frame stacking, the causal convolution (layers/conv.py), running
per-sequence normalisation; their gradients, padding, a stream equal to the model's forward in constant memory,
save/load, and their bad input."""

import numpy as np
import pytest

from gatedrnn.classify import Classifier
from gatedrnn.cli import main
from gatedrnn.errors import UserError
from gatedrnn.layers.frames import FrameStack
from gatedrnn.layers.running_norm import RunningNorm
from gatedrnn.models import Padded, SequenceClassifier
from gatedrnn.models.stream import Stream, model_parts

FRONTS = [dict(frame=3), dict(conv=4, conv_kernel=3), dict(norm="running"),
          dict(norm="running", conv=3, conv_kernel=5, frame=4)]


def _ids(opts):
    return "-".join(f"{k}{v}" for k, v in opts.items())


@pytest.mark.parametrize("opts", FRONTS, ids=_ids)
def test_front_gradcheck(opts, rng, classifier_gradcheck):
    report = classifier_gradcheck(opts, rng, max_checks=6)             # every error below 1e-6
    assert any(name.startswith("front.") for name in report) == bool(opts.get("conv"))


@pytest.mark.parametrize("opts", FRONTS, ids=_ids)
def test_padding_past_the_length_does_not_change_the_logits(opts, rng):
    model = SequenceClassifier(2, 5, 3, cell="lstm", dtype="float64", seed=0, **opts).eval()
    x = rng.standard_normal((1, 9, 2))
    alone, _ = model.forward(x)
    padded = np.concatenate([x, 1e3 * rng.standard_normal((1, 7, 2))], axis=1)
    together, _ = model.forward(Padded(padded, np.array([9])))
    np.testing.assert_allclose(together[0], alone[0], atol=1e-12)


@pytest.mark.parametrize("opts", FRONTS, ids=_ids)
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_stream_over_a_sequence_equals_the_forward(opts, cell, rng):
    model = SequenceClassifier(2, 8, 3, cell=cell, dtype="float32", seed=2, **opts).eval()
    x = rng.standard_normal((600, 2)).astype(np.float32)
    s = Stream(model)
    k = opts.get("frame", 1)
    outs = s.run(x)
    for n in (k, 5 * k + k - 1, 300, 599, 600):     # after n samples: the logits of the n // k frames so far
        want, _ = model.forward(x[None, :n])
        np.testing.assert_allclose(outs[n - 1], want[0], atol=1e-5)
    s.reset()
    np.testing.assert_allclose(s.run(x[:k])[-1], outs[k - 1], atol=0)


@pytest.mark.parametrize("opts", [{}, dict(frame=4, conv=3, norm="running")], ids=["plain", "front"])
@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_stream_with_mean_or_max_pooling_equals_the_forward(opts, pooling, rng):
    model = SequenceClassifier(2, 8, 3, cell="gru", pooling=pooling, dtype="float32", seed=4, **opts).eval()
    x = rng.standard_normal((400, 2)).astype(np.float32)
    outs = Stream(model).run(x)
    for n in (4, 37, 400):
        want, _ = model.forward(x[None, :n])
        np.testing.assert_allclose(outs[n - 1], want[0], atol=1e-5)
    with pytest.raises(UserError, match="pooling 'last'"):
        model_parts(model)                       # the exporters: last pooling only


def test_stream_memory_does_not_grow(rng):
    model = SequenceClassifier(1, 6, 2, cell="gru", seed=0, norm="running", conv=4, frame=8).eval()
    s = Stream(model, batch=2)
    arrays = [s.front.sums, s.front.buffer, s.front.frame]
    before = [a.nbytes for a in arrays]
    s.run(rng.standard_normal((5000, 2, 1)))
    assert [a.nbytes for a in arrays] == before and s.front.buffer.shape == (2, 3, 4)


def test_frames_of_a_length_not_a_multiple(rng):
    f = FrameStack(4)
    y, L = f.forward(np.arange(2 * 10 * 1, dtype=float).reshape(2, 10, 1), np.array([10, 7]))
    assert y.shape == (2, 2, 4) and L.tolist() == [2, 1]
    assert y[0, 1].tolist() == [4, 5, 6, 7]
    dx = f.backward(np.ones_like(y))
    assert dx[:, 8:].sum() == 0 and dx[:, :8].sum() == 16


def test_running_norm_sees_only_the_past(rng):
    x = rng.standard_normal((1, 20, 2)) * 5 + 3
    z = RunningNorm().forward(x)
    z2 = RunningNorm().forward(np.concatenate([x[:, :12], 100 + x[:, 12:]], axis=1))
    np.testing.assert_allclose(z[:, :12], z2[:, :12])
    assert abs(z[0, -1]).max() < 5


def test_classifier_with_a_front_end_fits_saves_and_streams(tmp_path, rng):
    X = [rng.standard_normal((int(rng.integers(40, 60)), 1)) + 2 for _ in range(24)]
    y = np.array(["a" if x[:20].mean() > 2 else "b" for x in X])
    clf = Classifier(cell="gru", hidden_size=6, max_steps=10, batch_size=8, frame=5, conv=3, norm="running").fit(X, y)
    clf.save(tmp_path / "m")
    back = Classifier.load(tmp_path / "m")
    assert back.model.config["frame"] == 5 and back.options["conv"] == 3
    np.testing.assert_allclose(back.decision_function(X), clf.decision_function(X), atol=1e-6)
    s = Stream(back.model, standardize=(back.mean_, back.std_))
    last = s.run(X[0])[-1]
    np.testing.assert_allclose(last, clf.decision_function(X[:1])[0], atol=1e-4)


def test_frame_longer_than_the_shortest_sequence_is_one_line(rng):
    X = [rng.standard_normal((n, 1)) for n in (30, 12, 40)]
    with pytest.raises(UserError, match=r"frame: expected at most the shortest sequence's length \(12, X\[1\]\), got 16"):
        Classifier(frame=16, max_steps=1).fit(X, ["a", "b", "a"])
    clf = Classifier(cell="gru", hidden_size=4, frame=4, max_steps=1).fit(X, ["a", "b", "a"])
    with pytest.raises(UserError, match="frame: expected at most"):
        clf.predict([rng.standard_normal((3, 1))])


def test_cli_frame_too_long_exits_2(tmp_path, capsys):
    head = "@problemName Toy\n@univariate true\n@equalLength false\n@classLabel true a b\n@data\n"
    for split in ("TRAIN", "TEST"):
        (tmp_path / f"Toy_{split}.ts").write_text(head + "1,2,3,4,5:a\n1,2,3:b\n5,4,3,2,1:a\n3,2,1,0:b\n")
    assert main(["classify", "--dataset", str(tmp_path / "Toy"), "--frame", "4", "--no-baselines",
                 "--seeds", "1", "--cell", "gru"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "frame: expected at most the shortest sequence's length (3" in err[0]


def test_exporters_refuse_a_front_end_in_one_line():
    model = SequenceClassifier(1, 4, 2, cell="gru", seed=0, frame=2)
    with pytest.raises(UserError, match="without a front end"):
        model_parts(model)
    assert model_parts(model, front_ok=True)[1] is model.rnn


@pytest.mark.parametrize("field, value", [("frame", 0), ("conv", -1), ("conv_kernel", 0), ("norm", "global")])
def test_bad_front_settings_are_one_line(field, value):
    with pytest.raises(UserError, match=field):
        Classifier(**{field: value})


# -- small-data training: scaling, window crops with test-time averaging, seed ensembles ------------------------
def test_crops_train_on_windows_and_average_the_logits_of_views(rng):
    from gatedrnn.classify.augment import CROP_VIEWS, views
    X = [rng.standard_normal((int(rng.integers(30, 50)), 1)) for _ in range(20)]
    y = np.array(["a" if x.mean() > 0 else "b" for x in X])
    clf = Classifier(cell="gru", hidden_size=4, max_steps=6, batch_size=8, crop=20, scale=0.2).fit(X, y)
    windows, owner = views(X[:2], 20)
    assert len(windows) == 2 * CROP_VIEWS and {len(w) for w in windows} == {20}
    clf.crop = 0
    each = clf.decision_function(windows)
    clf.crop = 20
    np.testing.assert_allclose(clf.decision_function(X[:2]), [each[owner == i].mean(axis=0) for i in (0, 1)],
                               atol=1e-9)


def test_crop_longer_than_the_shortest_sequence_is_one_line(rng):
    X = [rng.standard_normal((n, 1)) for n in (30, 12, 40)]
    with pytest.raises(UserError, match=r"crop: expected at most the shortest sequence's length \(12, X\[1\]\), got 13"):
        Classifier(crop=13, max_steps=1).fit(X, ["a", "b", "a"])


def test_seed_ensemble_row(tmp_path):
    import importlib
    run = importlib.import_module("gatedrnn.classify.run")
    from gatedrnn.classify.config import make_config
    rng = np.random.default_rng(0)
    head = "@problemName Toy\n@univariate true\n@equalLength false\n@classLabel true down up\n@data\n"
    for split in ("TRAIN", "TEST"):
        rows = [rng.standard_normal(int(rng.integers(5, 9))) for _ in range(16)]
        (tmp_path / f"Toy_{split}.ts").write_text(head + "\n".join(
            ",".join(f"{v:.4f}" for v in x) + (":up" if x.sum() > 0 else ":down") for x in rows) + "\n")
    cfg = make_config(flags={"dataset": str(tmp_path / "Toy"), "cell": ["gru"], "seeds": 2, "hidden_size": 4,
                             "max_steps": 10, "batch_size": 8, "baselines": False, "select": False, "crop": 4,
                             "ensemble": True})
    rows = run.run(cfg, echo=lambda *a: None)["rows"]
    assert [r["method"] for r in rows] == ["GRU (4 units)", "GRU (4 units) x2 avg"] and len(rows[1]["accs"]) == 1
