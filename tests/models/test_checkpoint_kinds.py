"""The registry of checkpoint kinds (gatedrnn.models.io): every save writes one ``kind`` into meta.json,
``gatedrnn.load`` gives back each kind's own object, and a checkpoint written before the field (the same folder
without ``kind``, as gatedrnn 0.2.0 wrote it) still loads as what it is."""

import json

import numpy as np
import pytest

import gatedrnn as g
from gatedrnn.deploy.pipe import stream_checkpoint
from gatedrnn.errors import UserError
from gatedrnn.models import MODELS, BlockLM, BlockRegressor, LanguageModel, SequenceClassifier, SequenceRegressor
from gatedrnn.models.io import KINDS, checkpoint_kind

NETWORKS = {
    "language_model": lambda: LanguageModel(11, embed_size=4, hidden_size=5, cell="gru", seed=0),
    "block_lm": lambda: BlockLM(11, 8, 1, seed=0),
    "regressor": lambda: SequenceRegressor(3, 5, 2, seed=0),
    "block_regressor": lambda: BlockRegressor(3, 8, 2, num_layers=1, seed=0),
    "sequence_classifier": lambda: SequenceClassifier(3, 5, 4, seed=0),
}


def _forecaster(path):
    t = np.arange(80, dtype=np.float64)
    f = g.Forecaster(horizon=3, season=6, window=12, hidden_size=4, max_steps=3, batch_size=4, n_models=2, seed=0)
    f.fit(10 + np.sin(2 * np.pi * t / 6) + 0.01 * t)
    f.save(path)
    return f


def _classifier(path):
    rng = np.random.default_rng(0)
    X = [rng.standard_normal((int(rng.integers(3, 8)), 2)) for _ in range(24)]
    y = np.array(["up" if x[:, 0].sum() > 0 else "down" for x in X])
    c = g.Classifier(cell="gru", hidden_size=4, max_steps=4, batch_size=8, seed=0).fit(X, y)
    c.save(path)
    return c


def _metas(folder):
    return sorted(folder.rglob("meta.json"))


def _forget_kind(folder):
    """The folder as gatedrnn 0.2.0 wrote it: the same meta.json without its ``kind``."""
    for p in _metas(folder):
        meta = json.loads(p.read_text())
        del meta["kind"]
        p.write_text(json.dumps(meta))


def _same(a, b):
    for pa, pb in zip(a.params, b.params):
        np.testing.assert_array_equal(pa, pb)


@pytest.mark.parametrize("old", [False, True], ids=["with-kind", "before-kind"])
@pytest.mark.parametrize("kind", sorted(NETWORKS))
def test_a_network_alone_comes_back_as_itself(tmp_path, kind, old):
    model = NETWORKS[kind]()
    model.save(tmp_path / "ck", meta={"note": "x"})
    assert json.loads((tmp_path / "ck" / "meta.json").read_text())["kind"] == kind
    if old:
        _forget_kind(tmp_path / "ck")
    back = g.load(tmp_path / "ck")
    assert type(back) is type(model) and back.meta["note"] == "x" and back.checkpoint == tmp_path / "ck"
    assert checkpoint_kind(back.meta) == kind
    _same(back, model)


@pytest.mark.parametrize("old", [False, True], ids=["with-kind", "before-kind"])
def test_a_forecaster_folder_comes_back_as_the_forecaster(tmp_path, old):
    f = _forecaster(tmp_path / "f")
    assert [json.loads(p.read_text())["kind"] for p in _metas(tmp_path / "f")] == ["forecaster", "forecaster"]
    if old:
        _forget_kind(tmp_path / "f")
    for path in (tmp_path / "f", tmp_path / "f" / "model-1"):     # the folder or one member's checkpoint
        back = g.load(path)
        assert isinstance(back, g.Forecaster) and len(back.models) == 2
        np.testing.assert_allclose(back.predict()["y_hat"], f.predict()["y_hat"], rtol=1e-6)


@pytest.mark.parametrize("old", [False, True], ids=["with-kind", "before-kind"])
def test_a_classifier_folder_comes_back_as_the_classifier(tmp_path, old):
    c = _classifier(tmp_path / "c")
    assert json.loads((tmp_path / "c" / "meta.json").read_text())["kind"] == "classifier"
    if old:
        _forget_kind(tmp_path / "c")
    back = g.load(tmp_path / "c")
    assert isinstance(back, g.Classifier) and isinstance(back.model, SequenceClassifier)
    X = [np.ones((5, 2)), -np.ones((4, 2))]
    np.testing.assert_allclose(back.predict_proba(X), c.predict_proba(X), atol=1e-6)
    assert list(back.classes_) == list(c.classes_)


def test_every_kind_is_registered_with_the_class_load_returns():
    assert set(NETWORKS) | {"forecaster", "classifier"} <= set(KINDS)
    assert KINDS["forecaster"].cls is g.Forecaster and KINDS["classifier"].cls is g.Classifier
    assert all(KINDS[k].network and KINDS[k].cls is type(NETWORKS[k]()) for k in NETWORKS)
    assert all(issubclass(k.cls, g.Model) for k in KINDS.values() if k.network)     # a network kind is a Model
    assert set(MODELS) == {k.cls.__name__ for k in KINDS.values() if k.network}     # and every Model a kind


@pytest.mark.parametrize("kind, match", [
    ("nonsense", "kind: expected one of block_lm, block_regressor, classifier, .*got .nonsense."),
    (7, "kind: expected one of"),
    ("language_model", "kind: expected 'regressor' for a SequenceRegressor network, got 'language_model'"),
])
def test_a_kind_this_version_does_not_know_or_that_lies_is_one_line(tmp_path, kind, match):
    SequenceRegressor(3, 5, 2, seed=0).save(tmp_path / "ck")
    p = tmp_path / "ck" / "meta.json"
    p.write_text(json.dumps({**json.loads(p.read_text()), "kind": kind}))
    for load in (g.load, lambda path: stream_checkpoint(path, iter(["1 2 3\n"]), None)):
        with pytest.raises(UserError, match=match) as err:
            load(tmp_path / "ck")
        assert "\n" not in str(err.value)


def test_saving_an_unknown_kind_is_refused_and_a_network_kind_follows_the_class(tmp_path):
    model = SequenceRegressor(3, 5, 2, seed=0)
    with pytest.raises(UserError, match="save: kind: expected one of"):
        model.save(tmp_path / "a", meta={"kind": "spaceship"})
    model.save(tmp_path / "b", meta={"kind": "language_model"})     # a loaded LM's meta: the class decides
    assert json.loads((tmp_path / "b" / "meta.json").read_text())["kind"] == "regressor"
