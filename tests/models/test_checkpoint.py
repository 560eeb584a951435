import json

import numpy as np
import pytest

from gatedrnn.models import LanguageModel, SequenceRegressor
from gatedrnn.train.checkpoint import load_checkpoint, save_checkpoint


def test_round_trip(tmp_path):
    model = LanguageModel(20, 8, 8, 2, tie_weights=True, dropout=0.2, seed=0)
    save_checkpoint(tmp_path / "ck", model, meta={"step": 7, "vocab": ["a", "b"]}, arrays={"m.0": np.ones(3)})
    loaded, meta, extra = load_checkpoint(tmp_path / "ck")
    assert meta["step"] == 7 and meta["vocab"] == ["a", "b"] and np.array_equal(extra["m.0"], np.ones(3))
    assert loaded.config == model.config
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[k], v)
    ids = np.array([[1, 2, 3]])
    np.testing.assert_array_equal(loaded.forward(ids)[0], model.eval().forward(ids)[0])


def test_overwrite_is_atomic_and_leaves_no_temporaries(tmp_path):
    m = SequenceRegressor(2, 3, seed=0)
    save_checkpoint(tmp_path / "ck", m, meta={"step": 1})
    save_checkpoint(tmp_path / "ck", m, meta={"step": 2})
    assert [p.name for p in tmp_path.iterdir()] == ["ck"]
    assert load_checkpoint(tmp_path / "ck")[1]["step"] == 2


def test_unserialisable_meta_writes_nothing(tmp_path):
    with pytest.raises(TypeError):
        save_checkpoint(tmp_path / "ck", SequenceRegressor(2, 3), meta={"bad": object()})
    assert list(tmp_path.iterdir()) == []


def test_missing_and_corrupt(tmp_path):
    with pytest.raises(FileNotFoundError, match="expected a directory with meta.json and model.npz"):
        load_checkpoint(tmp_path / "nope")
    save_checkpoint(tmp_path / "ck", SequenceRegressor(2, 3))
    (tmp_path / "ck" / "model.npz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="corrupt"):
        load_checkpoint(tmp_path / "ck")
    save_checkpoint(tmp_path / "ck2", SequenceRegressor(2, 3))
    (tmp_path / "ck2" / "meta.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_checkpoint(tmp_path / "ck2")
    save_checkpoint(tmp_path / "ck3", SequenceRegressor(2, 3))
    meta = json.loads((tmp_path / "ck3" / "meta.json").read_text())
    meta["model"]["config"]["hidden_size"] = 5
    (tmp_path / "ck3" / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="expected shape"):
        load_checkpoint(tmp_path / "ck3")


def test_object_arrays_are_refused(tmp_path):
    """A pickled object array inside the npz must not be loaded (allow_pickle=False)."""
    save_checkpoint(tmp_path / "ck", SequenceRegressor(2, 3))
    sd = dict(np.load(tmp_path / "ck" / "model.npz"))
    sd["rnn.bias_ih_l0"] = np.array([object()], dtype=object)
    np.savez(tmp_path / "ck" / "model.npz", **sd)
    with pytest.raises(ValueError):
        load_checkpoint(tmp_path / "ck")


def test_a_save_killed_between_its_renames_is_found_and_put_back(tmp_path):
    """No ck/, the old one aside as .ck.old-*: readers read it, the next save or recover_checkpoints puts it back."""
    import os

    from gatedrnn.train.checkpoint import locate_checkpoint, recover_checkpoints, resolve_checkpoint

    m = SequenceRegressor(2, 3, seed=0)
    save_checkpoint(tmp_path / "ck", m, meta={"step": 1})
    os.replace(tmp_path / "ck", tmp_path / ".ck.old-99-abcdef01")
    assert locate_checkpoint(tmp_path / "ck") == resolve_checkpoint(tmp_path / "ck") == tmp_path / ".ck.old-99-abcdef01"
    assert load_checkpoint(tmp_path / "ck")[1]["step"] == 1
    recover_checkpoints(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["ck"]
    os.replace(tmp_path / "ck", tmp_path / ".ck.old-99-abcdef01")
    save_checkpoint(tmp_path / "ck", m, meta={"step": 2})
    assert [p.name for p in tmp_path.iterdir()] == ["ck"] and load_checkpoint(tmp_path / "ck")[1]["step"] == 2


def test_a_huge_integer_in_meta_json_is_one_user_error(tmp_path):
    """Python refuses ints of over 4,300 digits with a plain ValueError: the reader must say it as a UserError."""
    from gatedrnn.errors import UserError

    save_checkpoint(tmp_path / "ck", SequenceRegressor(2, 3))
    meta = (tmp_path / "ck" / "meta.json").read_text()
    (tmp_path / "ck" / "meta.json").write_text(meta.replace('"version": 1', '"version": ' + "9" * 5000))
    with pytest.raises(UserError, match="expected numbers of a sensible size, got an integer of 5,000 digits"):
        load_checkpoint(tmp_path / "ck")
