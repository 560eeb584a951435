"""Hostile inputs to the language-model commands (issue 11, items 5, 8, 9, 12, 13): every bad input ends in one
line and exit status 2 with nothing written, or works; and ``meta.json`` values mutated at random do the same.

A tiny character-level run (trained once for the module, about a second) stands in for a real one."""

import hashlib
import json
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatedrnn.cli import main
from gatedrnn.data.corpus import EOS
from gatedrnn.data.synthetic import toy_sentences
from gatedrnn.data.vocab import Vocab
from gatedrnn.errors import UserError
from gatedrnn.lm.infer import detokenize, generate_text, iter_generated, load_language_model
from gatedrnn.models import LanguageModel
from gatedrnn.models.generate import sample


@pytest.fixture(scope="module")
def run_dir(toy, tmp_path_factory, tiny):
    out = tmp_path_factory.mktemp("runs") / "toy"
    assert main(["train", "--corpus", str(toy), "--level", "char", "--epochs", "1", "--out", str(out), *tiny.lm_any_level]) == 0
    return out


@pytest.fixture(scope="module")
def word_run(toy, tmp_path_factory, tiny):
    out = tmp_path_factory.mktemp("runs") / "words"
    assert main(["train", "--corpus", str(toy), "--level", "word", "--epochs", "1", "--max-steps", "20",
                 "--out", str(out), *tiny.lm_any_level]) == 0
    return out


def digest(folder: Path) -> dict:
    """name -> SHA-256 of every file under ``folder`` (what "nothing changed" compares)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def one_line(argv, capsys) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, (code, err)
    return err


def copy_checkpoint(run_dir: Path, dest: Path) -> Path:
    shutil.copytree(run_dir / "best", dest)
    return dest


# -- 5. numeric flags and config fields: finite and in range ------------------------------------------------
@pytest.mark.parametrize("argv, msg", [
    (["train", "--clip", "nan"], "clip: expected a finite number >= 0, got nan"),
    (["train", "--lr", "inf"], "lr: expected a finite positive number, got inf"),
    (["train", "--forget-bias", "nan"], "forget_bias: expected a finite number, got nan"),
    (["train", "--seed", "-1"], "seed: expected an integer >= 0, got -1"),
    (["forecast", "--dataset", "sunspots", "--clip", "nan"], "clip: expected a finite number >= 0, got nan"),
])
def test_non_finite_and_out_of_range_flags_are_refused(argv, msg, tmp_path, capsys):
    out = tmp_path / "out"
    assert msg in one_line([*argv, "--out", str(out)], capsys)
    assert not out.exists()


@pytest.mark.parametrize("text, msg", [
    ('{"tie_weights": "no"}', "tie_weights: expected true or false, got 'no'"),     # a truthy string: tied weights
    ('{"corpus": 5}', "corpus: expected a string, got 5"),
    ('{"cell": []}', "cell: expected a string, got []"),                            # passed the choices check
    ('{"lr": 1' + "0" * 400 + "}", "lr: expected a finite positive number"),       # OverflowError in isfinite
    ('{"seed": 1' + "0" * 5000 + "}", "expected numbers of a sensible size"),      # past Python's int digit limit
])
def test_config_file_values_of_the_wrong_type_are_one_line(text, msg, tmp_path, capsys):
    cfg = tmp_path / "c.json"
    cfg.write_text(text)
    out = tmp_path / "out"
    err = one_line(["train", "--config", str(cfg), "--out", str(out)], capsys)
    assert msg in err and len(err) < 300
    assert not out.exists()


# -- 8. load_state_dict: all or nothing, finite ---------------------------------------------------------------
def test_load_state_dict_checks_everything_before_copying():
    model = LanguageModel(12, 6, 8, seed=0)
    before = model.state_dict()
    first, second = list(before)[:2]
    bad = {k: v + 1 for k, v in before.items()}
    bad[second] = np.zeros((3, 3), dtype=np.float32)                       # the second key mis-shaped
    with pytest.raises(UserError, match=rf"state_dict\['{second}'\]: expected shape"):
        model.load_state_dict(bad)
    np.testing.assert_array_equal(model.state_dict()[first], before[first])   # the first one untouched
    for value, msg in ((np.nan, "expected finite values, got NaN or Inf"),
                       (1e300, "expected finite values, got values that overflow float32")):
        bad = {k: v + 1 for k, v in before.items()}
        bad[second] = np.full(before[second].shape, value, dtype=np.float64)
        with pytest.raises(UserError, match=rf"state_dict\['{second}'\]: {msg}"):
            model.load_state_dict(bad)
        for k, v in before.items():
            np.testing.assert_array_equal(model.state_dict()[k], v)
    bad = dict(before, **{second: before[second].astype(np.int64)})
    with pytest.raises(UserError, match="expected floating-point values, got dtype int64"):
        model.load_state_dict(bad)


# -- 9. integer weights, eval sizes of 0, unknown start words ----------------------------------------------------
@pytest.mark.parametrize("dtype", [np.int64, np.bool_, np.complex64])
def test_non_float_weights_in_a_checkpoint_are_refused(run_dir, tmp_path, dtype, capsys):
    ck = copy_checkpoint(run_dir, tmp_path / "ck")
    with np.load(ck / "model.npz") as z:
        weights = {k: z[k] for k in z.files}
    key = sorted(weights)[0]
    weights[key] = weights[key].astype(dtype)
    np.savez(ck / "model.npz", **weights)
    before = digest(ck)
    for cmd in (["eval", str(ck)], ["generate", str(ck), "--length", "3"]):
        err = one_line(cmd, capsys)
        assert f"model.npz[{key!r}]: expected floating-point weights, got dtype {np.dtype(dtype)}" in err
    assert digest(ck) == before


@pytest.mark.parametrize("flag", ["--batch-size", "--time-size"])
def test_eval_sizes_of_zero_are_refused_not_replaced(run_dir, flag, capsys):
    assert f"{flag}: expected a positive integer, got 0" in one_line(["eval", str(run_dir), flag, "0"], capsys)


def test_unknown_start_words_are_named(word_run, capsys):
    err = one_line(["generate", str(word_run), "--start", "the zyzzyva the quux", "--length", "3"], capsys)
    assert "--start: expected words of the model's vocabulary, got unknown 'zyzzyva', 'quux'" in err
    assert "--allow-unk" in err
    assert main(["generate", str(word_run), "--start", "the zyzzyva", "--length", "3", "--allow-unk"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("the zyzzyva") and "read the unknown words 'zyzzyva' as <unk>" in err


def test_unknown_start_characters_are_named(run_dir, capsys):
    assert "got unknown 'Q', 'X'" in one_line(["generate", str(run_dir), "--start", "the QX", "--length", "3"], capsys)


# -- 12. a long --length streams ----------------------------------------------------------------------------
class Interrupting:
    """A stdout that takes ``n`` writes, then raises KeyboardInterrupt (Ctrl-C) on the next."""

    def __init__(self, n):
        self.n, self.parts, self.flushes = n, [], 0

    def write(self, s):
        if len(self.parts) >= self.n:
            raise KeyboardInterrupt
        self.parts.append(s)

    def flush(self):
        self.flushes += 1


def _alarm(signum, frame):
    raise TimeoutError("generate did not print anything in time")


def test_generate_streams_a_huge_length(run_dir, monkeypatch, capsys):
    fake = Interrupting(30)
    monkeypatch.setattr("sys.stdout", fake)
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(60)
    try:
        t0 = time.perf_counter()
        code = main(["generate", str(run_dir), "--length", "100000000"])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert code == 130 and len(fake.parts) == 30 and fake.flushes >= 29, (code, len(fake.parts))
    assert time.perf_counter() - t0 < 30
    assert "".join(fake.parts).startswith("the")


def test_iter_generated_is_lazy_and_checks_first(run_dir):
    pieces = iter_generated(run_dir, "the ", 10**12)
    assert [next(pieces) for _ in range(5)][0] == "t"
    with pytest.raises(UserError, match="--length"):
        iter_generated(run_dir, "the ", -1)


def _old_detokenize(vocab, tokens):
    """What detokenize was before streaming (the README sample was printed through it)."""
    if vocab.level == "char":
        return "".join(tokens)
    return " ".join(tokens).replace(f" {EOS} ", "\n").replace(f" {EOS}", "\n").replace(f"{EOS} ", "\n").replace(EOS, "\n")


@pytest.mark.parametrize("which", ["run_dir", "word_run"])
def test_streamed_text_is_the_text_printed_before(which, request, capsys):
    run = request.getfixturevalue(which)
    start = "the " if which == "run_dir" else "the cat"
    model, vocab, _ = load_language_model(run)
    tokens = vocab.tokenize(start)
    ids = sample(model, vocab.encode(tokens), 60, np.random.default_rng(0), temperature=0.8, top_k=5,
                 exclude=[vocab.index[vocab.unk]])
    expected = _old_detokenize(vocab, tokens + vocab.decode(ids))
    assert generate_text(run, start, 60, temperature=0.8, top_k=5, seed=0) == expected
    assert main(["generate", str(run), "--start", start, "--length", "60", "--temperature", "0.8", "--top-k", "5"]) == 0
    assert capsys.readouterr().out == expected + "\n"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["a", "bb", EOS, "<unk>", "c.d"]), min_size=1, max_size=12))
def test_detokenize_token_by_token_equals_the_old_join(tokens):
    vocab = Vocab(["a", "bb", EOS, "<unk>", "c.d"], level="word", unk="<unk>")
    assert detokenize(vocab, tokens) == _old_detokenize(vocab, tokens)


# -- 13. sharper messages ----------------------------------------------------------------------------------------
def test_too_small_split_names_the_split_and_the_flag(run_dir, capsys):
    err = one_line(["eval", str(run_dir), "--split", "valid", "--batch-size", "100000"], capsys)
    assert "valid split of corpus toy: expected at least 100,001 tokens for --batch-size 100000, got" in err


def test_generate_seed_and_temperature_name_the_flag(run_dir, capsys):
    assert "--seed: expected an integer >= 0, got -1" in one_line(["generate", str(run_dir), "--seed", "-1"], capsys)
    for value in ("nan", "inf"):
        err = one_line(["generate", str(run_dir), "--temperature", value], capsys)
        assert f"--temperature: expected a finite number >= 0, got {value}" in err


def test_non_finite_weights_are_refused_at_load(run_dir, tmp_path, capsys):
    ck = copy_checkpoint(run_dir, tmp_path / "ck")
    with np.load(ck / "model.npz") as z:
        weights = {k: z[k] for k in z.files}
    weights["embed.weight"][0, 0] = np.nan
    np.savez(ck / "model.npz", **weights)
    for cmd in (["eval", str(ck)], ["generate", str(ck)]):
        err = one_line(cmd, capsys)
        assert "model.npz['embed.weight']: expected finite weights, got NaN or Inf" in err and "LSTM" not in err


def test_an_edited_corpus_is_named_as_such(run_dir, toy, tmp_path, capsys):
    edited = tmp_path / "edited.txt"
    edited.write_text("QZ" + toy.read_text())             # two new characters in the training part
    ck = copy_checkpoint(run_dir, tmp_path / "ck")
    meta = json.loads((ck / "meta.json").read_text())
    meta["corpus"]["corpus"] = str(edited)
    (ck / "meta.json").write_text(json.dumps(meta))
    err = one_line(["eval", str(ck)], capsys)
    assert "the corpus differs from the run's" in err and "embed.weight" not in err


def test_too_small_valid_split_in_training_names_the_split_and_the_field(tmp_path, capsys):
    corpus = tmp_path / "small.txt"
    corpus.write_text(toy_sentences(400, seed=1))            # valid split: 20 characters
    err = one_line(["train", "--corpus", str(corpus), "--level", "char", "--batch-size", "2", "--time-size", "5",
                    "--eval-batch-size", "30", "--out", str(tmp_path / "r"), "--no-progress"], capsys)
    assert "valid split" in err and "eval_batch_size 30" in err


def test_resume_on_an_edited_corpus_says_so(toy, tmp_path, capsys, tiny):
    corpus = tmp_path / "c.txt"
    corpus.write_text(toy.read_text())
    out = tmp_path / "r"
    assert main(["train", "--corpus", str(corpus), "--level", "char", "--max-steps", "3", "--out", str(out), *tiny.lm_any_level]) == 0
    corpus.write_text("QZ" + toy.read_text())
    capsys.readouterr()
    err = one_line(["train", "--out", str(out), "--resume", "--no-progress"], capsys)
    assert "the corpus differs from the run's" in err and "embed.weight" not in err


# -- meta.json values, mutated: work, or one line with nothing changed ---------------------------------------------
def _paths(doc, prefix=()):
    """Every key path in a JSON document (lists: their first and last element)."""
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(doc, list) and doc:
        for i in sorted({0, len(doc) - 1}):
            yield from _paths(doc[i], (*prefix, i))


def _set(doc, path, value, delete=False):
    if not path:
        return value
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return doc


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(-10**30, 10**30) | st.floats() | st.text(max_size=8)
    | st.sampled_from(["lstm", "gru", "float64", "int64", "char", "word", "ptb", "LanguageModel", "SequenceRegressor"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6)


@pytest.fixture(scope="module")
def meta_copy(run_dir, tmp_path_factory):
    ck = tmp_path_factory.mktemp("mutated") / "ck"
    copy_checkpoint(run_dir, ck)
    return ck, json.loads((ck / "meta.json").read_text())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_meta_json_works_or_is_one_line(meta_copy, tmp_path, capsys, data):
    ck, original = meta_copy
    doc = json.loads(json.dumps(original))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(list(_paths(doc))))
        doc = _set(doc, path, data.draw(JSON), delete=data.draw(st.booleans()))
    (ck / "meta.json").write_text(json.dumps(doc))
    before = digest(ck)
    empty = tmp_path / "nothing"
    empty.mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as mp:   # a corpus named in the mutated meta is never downloaded
        mp.setenv("GATEDRNN_OFFLINE", "1")
        mp.setenv("GATEDRNN_DATA", str(empty))
        mp.setenv("GATEDRNN_CACHE", str(empty))
        for argv in (["eval", str(ck)], ["generate", str(ck), "--length", "5"]):
            code = main(argv)
            out, err = capsys.readouterr()
            assert code in (0, 2) and "Traceback" not in err, (argv, doc, err)
            if code == 2:
                assert err.count("\n") == 1 and not out, (argv, err)
            else:
                assert out.strip(), argv
    assert digest(ck) == before
    assert [p.name for p in tmp_path.iterdir()] == ["nothing"] and not any(empty.iterdir())
