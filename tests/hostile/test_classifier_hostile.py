"""Hostile inputs for the Classifier (issue 20, sections 5, 6 and 7): finite answers or one line; settings, inputs,
labels and a saved meta.json checked in one place each; sizes bounded before anything is allocated.

Tiny models (hidden 4, a few steps) keep the file fast; GATEDRNN_HOSTILE_SIZE=large runs more examples."""

import datetime
import decimal
import fractions
import json
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatedrnn.classify import Classifier, as_sequences
from gatedrnn.errors import UserError

LARGE = os.environ.get("GATEDRNN_HOSTILE_SIZE", "small") == "large"
EXAMPLES = 60 if LARGE else 12


def toy_sequences(n=8, rng=None, scale=1.0):
    rng = rng or np.random.default_rng(0)
    X = [rng.normal(size=(int(rng.integers(3, 7)), 2)) * scale for _ in range(n)]
    y = np.array(["a", "b"] * (n // 2))
    return X, y


def one_line(exc_info, start=None):
    text = str(exc_info.value)
    assert "\n" not in text and ": expected " in text, text
    if start is not None:
        assert text.startswith(start), text
    return text


@pytest.fixture(scope="module")
def fitted(tiny):
    X, y = toy_sequences()
    return Classifier(**tiny.classifier).fit(X, y)


# -- 5: finite answers ---------------------------------------------------------------------------------------
@settings(max_examples=EXAMPLES, deadline=None)
@given(exponent=st.sampled_from([-300, -200, 10, 200, 300, 307]))
def test_training_on_huge_or_tiny_values_standardises_as_on_values_of_order_one(exponent, tiny):
    """1e300 inputs standardised to zeros and gave a constant prediction at exit 0: now they train the same model as
    the same data at scale 1 (the scaling is exact up to rounding)."""
    X, y = toy_sequences()
    base = Classifier(**tiny.classifier).fit(X, y)
    big = Classifier(**tiny.classifier).fit([x * 10.0 ** exponent for x in X], y)
    assert np.isfinite(big.mean_).all() and np.isfinite(big.std_).all() and (big.std_ > 0).all()
    p = big.predict_proba([x * 10.0 ** exponent for x in X])
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p, base.predict_proba(X), atol=1e-4)
    assert len(set(np.round(p[:, 0], 6))) > 1                      # not a constant answer


def test_values_near_the_float64_limit_train_and_predict_finite(tiny):
    rng = np.random.default_rng(1)
    X = [np.clip(rng.normal(size=(5, 1)), -1, 1) * 1.7e308 for _ in range(6)]
    clf = Classifier(**tiny.classifier).fit(X, ["u", "v"] * 3)
    assert np.isfinite(clf.predict_proba(X)).all()


def test_an_input_that_overflows_the_network_is_one_line_naming_it(fitted):
    X, _ = toy_sequences(4)
    X[2] = X[2] * 1e300
    with pytest.raises(UserError) as e:
        fitted.predict_proba(X)
    text = one_line(e, "X[2]: ")
    assert "overflow" in text and "1e+300" in text
    X[2] = X[2] / 1e300 * 1e36                                      # fits float32, overflows inside the network
    for method in (fitted.predict_proba, fitted.predict, fitted.decision_function):
        try:
            out = method(X)
        except UserError as exc:
            assert str(exc).startswith("X[2]: ") and "\n" not in str(exc)
        else:
            assert out.dtype.kind != "f" or np.isfinite(out).all()


def test_without_standardisation_values_beyond_float32_are_refused(tiny):
    X, y = toy_sequences()
    X[3] = X[3] * 1e300
    with pytest.raises(UserError) as e:
        Classifier(**tiny.classifier, standardize=False).fit(X, y)
    assert one_line(e).startswith("X[3]: ") and "float32" in str(e.value)


# -- 6: settings checked in one place -----------------------------------------------------------------------
BAD_SETTINGS = [
    ("cell", "lstmm"), ("cell", 3), ("hidden_size", 0), ("hidden_size", 2.5), ("hidden_size", True),
    ("num_layers", 0), ("num_layers", "2"), ("pooling", "median"), ("dropout", 1.0), ("dropout", -0.1),
    ("dropout", float("nan")), ("lr", 0.0), ("lr", -1e-3), ("lr", float("inf")), ("clip", -1.0), ("clip", float("nan")), ("seed", -1),
    ("seed", 1.5), ("seed", "0"), ("standardize", "yes"), ("standardize", 1), ("noise", -1), ("noise", float("nan")), ("noise", 1e300),
    ("noise", "0.3"), ("dtype", "int8"), ("dtype", "float16"), ("dtype", "no-such-type"), ("echo", "print"),
]


# values of the same fields that are fine, in the forms NumPy hands out (not refused by the checks above)
GOOD_SETTINGS = {"cell": "rnn", "hidden_size": np.int64(3), "num_layers": np.int32(2), "pooling": "mean",
                 "dropout": 0, "lr": np.float32(0.5), "clip": 0.0, "seed": np.uint8(0), "standardize": np.bool_(False),
                 "noise": 0, "dtype": np.float64, "echo": print}


@pytest.mark.parametrize("field,value", BAD_SETTINGS)
def test_every_setting_is_checked_at_construction(field, value):
    with pytest.raises(UserError) as e:
        Classifier(**{field: value})
    one_line(e, f"{field}: expected ")
    Classifier(**{field: GOOD_SETTINGS[field]})


@pytest.mark.parametrize("field,value", [("noise", -1), ("hidden_size", 0), ("lr", float("nan")), ("seed", -5)])
def test_a_setting_changed_after_construction_is_checked_at_fit(field, value, tiny):
    clf = Classifier(**tiny.classifier)
    if field == "hidden_size":
        clf.options[field] = value
    else:
        setattr(clf, field, value)
    with pytest.raises(UserError) as e:
        clf.fit(*toy_sequences())
    one_line(e, f"{field}: expected ")


@pytest.mark.parametrize("field,value", [("hidden_size", 10**12), ("num_layers", 10**9), ("batch_size", 10**12)])
def test_sizes_of_1e12_are_refused_before_allocating(field, value, tiny):
    with pytest.raises(UserError) as e:
        Classifier(**{**tiny.classifier, field: value})
    assert "at most" in one_line(e, f"{field}: expected ")


@pytest.mark.parametrize("field,value", [("hidden_size", 1000), ("num_layers", 200), ("batch_size", 60_000)])
def test_sizes_beyond_the_machine_are_refused_before_allocating(monkeypatch, field, value, tiny):
    """On a machine of 8 MiB (the memory probe patched, so that nothing large is ever tried)."""
    import gatedrnn.classify.checks as checks

    monkeypatch.setattr(checks, "machine_memory", lambda: 8 * 2**20)
    X, y = toy_sequences()
    X[0] = np.zeros((10**4, 2)) if field == "batch_size" else X[0]    # one long sequence: big batch activations
    kw = {**tiny.classifier, field: value, **({"hidden_size": 64} if field == "num_layers" else {})}
    with pytest.raises(UserError) as e:
        Classifier(**kw).fit(X, y)
    assert "fits in memory" in one_line(e, f"{field}: expected ")
    Classifier(**{**tiny.classifier, field: 2}).fit(*toy_sequences())                      # small sizes still fit


# -- 6: inputs read as what they are ------------------------------------------------------------------------
def test_masked_values_are_refused_not_ignored(tiny):
    X, y = toy_sequences()
    m = np.ma.masked_array(X[1], mask=np.zeros_like(X[1], dtype=bool))
    m[0, 0] = np.ma.masked
    with pytest.raises(UserError) as e:
        Classifier(**tiny.classifier).fit(X[:1] + [m] + X[2:], y)
    assert "masked" in one_line(e, "X[1]: expected ")
    whole = np.ma.masked_invalid(np.stack([x[:3] for x in X]))
    whole[5, 1, 1] = np.ma.masked
    with pytest.raises(UserError, match=r"^X\[5\]: expected an array without masked values"):
        as_sequences(whole)
    unmasked = np.ma.masked_array(X[1])                             # a mask with nothing masked reads as the data
    np.testing.assert_array_equal(as_sequences([unmasked])[0], X[1])


@pytest.mark.parametrize("bad,what", [
    (lambda x: x.astype(complex) + 1j, "complex"),
    (lambda x: x.astype(str), "dtype <U"),
    (lambda x: x.astype("datetime64[s]"), "datetime64"),
    (lambda x: [[1.0, 2.0], [3.0]], "ragged"),
    (lambda x: [[1.0, None]] * 3, "NoneType"),
    (lambda x: [[10**400, 1.0]] * 3, "non-finite"),
    (lambda x: "1,2;3,4", "str"),
])
def test_inputs_that_a_conversion_would_misread_are_refused(bad, what, tiny):
    X, y = toy_sequences()
    X[4] = bad(X[4].astype(np.int64) if what == "datetime64" else X[4])
    with pytest.raises(UserError) as e:
        Classifier(**tiny.classifier).fit(X, y)
    assert what in one_line(e, "X[4]: expected ")


def test_pandas_frames_are_read_as_their_values(tiny):
    """backend.to_numpy took a DataFrame's .get for CuPy's and failed with a TypeError."""
    pd = pytest.importorskip("pandas")
    X, y = toy_sequences()
    clf = Classifier(**tiny.classifier).fit([pd.DataFrame(x, columns=["a", "b"]) for x in X], pd.Series(y))
    np.testing.assert_allclose(clf.predict_proba([pd.DataFrame(x) for x in X]), clf.predict_proba(X))


def test_X_that_is_not_a_collection_is_one_line():
    for X in (5, None, "abc"):
        with pytest.raises(UserError) as e:
            as_sequences(X)
        one_line(e, "X: expected ")


# -- 6 and 7: labels a checkpoint can keep ------------------------------------------------------------------
@pytest.mark.parametrize("labels,what", [
    ([0.0, 1.0, float("nan"), 1.0] * 2, "NaN"),
    ([0.0, 1.0, float("inf"), 1.0] * 2, "NaN or Inf"),
    ([b"a", b"b"] * 4, "bytes"),
    (np.array([b"a", b"b"] * 4), "dtype |S1"),
    ([datetime.date(2020, 1, 1), datetime.date(2021, 1, 1)] * 4, "date"),
    (np.array(["2020-01-01", "2021-01-01"] * 4, dtype="datetime64[D]"), "datetime64"),
    (["a", 1] * 4, "one kind"),
    (["", 0.0] * 4, "one kind"),                                     # NumPy made 0.0 the string '0.0'
    ([[1], [1, 2]] * 4, "list"),
    ([None, "a"] * 4, "NoneType"),
    ([1 + 2j, 1] * 4, "complex"),
    ([object(), object()] * 4, "object"),
    ([10**2000, 1] * 4, "beyond 64 bits"),
    ([fractions.Fraction(1, 3), 1.0] * 4, "Fraction"),                # not JSON: save failed with a TypeError
    ([decimal.Decimal("0.5"), 1.0] * 4, "Decimal"),                          # saved, then refused by the JSON reader
])
def test_labels_that_cannot_be_kept_are_refused_at_fit(labels, what, tiny):
    X, _ = toy_sequences()
    with pytest.raises(UserError) as e:
        Classifier(**tiny.classifier).fit(X, np.array(labels, dtype=object) if what == "date" else labels)
    assert what in one_line(e)
    assert str(e.value).startswith("y")


# -- 7: a tampered or old meta.json ---------------------------------------------------------------------------
def _tamper(tmp_path, fitted, change):
    path = tmp_path / "clf"
    fitted.save(path)
    meta = json.loads((path / "meta.json").read_text())
    change(meta)
    (path / "meta.json").write_text(json.dumps(meta))
    return path


TAMPER = {
    "classes missing": lambda m: m["classifier"].pop("classes"),
    "mean missing": lambda m: m["classifier"].pop("mean"),
    "std missing": lambda m: m["classifier"].pop("std"),
    "unknown key": lambda m: m["classifier"].update(window=3),
    "classes a string": lambda m: m["classifier"].update(classes="ab"),
    "one class too many": lambda m: m["classifier"]["classes"].append("c"),
    "one class too few": lambda m: m["classifier"]["classes"].pop(),
    "repeated classes": lambda m: m["classifier"].update(classes=["a", "a"]),
    "a class that is an object": lambda m: m["classifier"].update(classes=["a", {"b": 1}]),
    "classes of two kinds": lambda m: m["classifier"].update(classes=["a", 1]),
    "a null class": lambda m: m["classifier"].update(classes=["a", None]),
    "mean too short": lambda m: m["classifier"]["mean"].pop(),
    "mean too long": lambda m: m["classifier"]["mean"].append(0.0),
    "mean a number": lambda m: m["classifier"].update(mean=0.0),
    "mean of strings": lambda m: m["classifier"].update(mean=["0", "1"]),
    "mean of bools": lambda m: m["classifier"].update(mean=[True, False]),
    "mean NaN": lambda m: m["classifier"].update(mean=[float("nan"), 0.0]),
    "std zero": lambda m: m["classifier"].update(std=[0.0, 1.0]),
    "std negative": lambda m: m["classifier"].update(std=[1.0, -1.0]),
    "std infinite": lambda m: m["classifier"].update(std=[float("inf"), 1.0]),
    "std nested": lambda m: m["classifier"].update(std=[[1.0], [1.0]]),
}


@pytest.mark.parametrize("name", list(TAMPER))
def test_a_tampered_meta_json_is_one_line_naming_the_file(tmp_path, fitted, name):
    path = _tamper(tmp_path, fitted, TAMPER[name])
    with pytest.raises(UserError) as e:
        Classifier.load(path)
    assert "meta.json" in one_line(e) and str(path) in str(e.value)


LABELS_KEPT = [["x", "y"] * 4, [3, 7] * 4, [0.5, 1.5] * 4, [True, False] * 4, np.array(["x", "y"] * 4, dtype=object),
               [np.int64(2), np.int64(5)] * 4, np.array([0.5, 1.5] * 4, dtype=np.longdouble)]


def test_a_float64_classifier_and_every_kind_of_label_come_back_as_saved(tmp_path, tiny):
    """Classifier.load gave a float64 network the default dtype 'float32'; labels of every kind a checkpoint
    keeps come back equal."""
    X, _ = toy_sequences()
    for k, labels in enumerate(LABELS_KEPT):
        clf = Classifier(**{**tiny.classifier, "dtype": "float64"}).fit(X, labels)
        clf.save(tmp_path / f"c{k}")
        back = Classifier.load(tmp_path / f"c{k}")
        assert back.dtype == "float64" and back.classes_.tolist() == clf.classes_.tolist()
        assert back.predict(X).tolist() == clf.predict(X).tolist()
        np.testing.assert_allclose(back.predict_proba(X), clf.predict_proba(X), atol=1e-12)


# -- fuzz: anything as a sequence or as labels works or is one line ----------------------------------------------
SCALARS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**400, 10**400), st.booleans(),
                    st.none(), st.text(max_size=3), st.binary(max_size=3), st.complex_numbers(max_magnitude=1e3),
                    st.dates(), st.fractions(max_denominator=5), st.decimals(allow_nan=True))
NESTED = st.recursive(SCALARS, lambda inner: st.lists(inner, min_size=0, max_size=4), max_leaves=12)


@settings(max_examples=10 * EXAMPLES, deadline=None)
@given(value=NESTED)
def test_any_nested_value_as_a_sequence_is_read_exactly_or_refused_in_one_line(value):
    try:
        seqs = as_sequences([value])
    except UserError as exc:
        assert "\n" not in str(exc) and ": expected " in str(exc)
    else:
        a = seqs[0]
        assert a.dtype == np.float64 and a.ndim == 2 and np.isfinite(a).all()
        np.testing.assert_array_equal(a.reshape(-1), np.array(value, dtype=np.float64).reshape(-1))


@settings(max_examples=4 * EXAMPLES, deadline=None)
@given(labels=st.lists(SCALARS, min_size=8, max_size=8))
def test_any_labels_train_and_come_back_from_a_checkpoint_or_are_refused_in_one_line(tmp_path_factory, labels, tiny):
    X, _ = toy_sequences()
    try:
        clf = Classifier(**tiny.classifier).fit(X, labels)
    except UserError as exc:
        assert "\n" not in str(exc) and ": expected " in str(exc)
        return
    path = tmp_path_factory.mktemp("c") / "c"
    clf.save(path)
    back = Classifier.load(path)
    assert back.classes_.tolist() == clf.classes_.tolist() and len(set(clf.classes_.tolist())) == len(clf.classes_)
    assert set(clf.classes_.tolist()) == set(labels)
