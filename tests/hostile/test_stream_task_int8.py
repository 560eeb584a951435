"""Hostile use of `gatedrnn stream`, `gatedrnn task` and int8 quantisation (issue 20, sections 5-7): a Classifier
checkpoint streams with its saved standardisation (the last logits equal the Classifier's), every printed line is
finite or the stream ends in one line naming the input, a closed stdin or stdout is one line, task sizes beyond
the machine's memory are one line before anything is allocated, and int8 scales are never inf or NaN.

Tiny models keep the file fast; GATEDRNN_HOSTILE_SIZE=large runs more examples."""

import contextlib
import io
import os
import subprocess
import sys
from unittest import mock

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gatedrnn.classify import Classifier
from gatedrnn.cli import main
from gatedrnn.deploy.pipe import stream_checkpoint
from gatedrnn.errors import UserError
from gatedrnn.models import LanguageModel, SequenceRegressor
from gatedrnn.models.quantize import QuantizedStream, dequantize, quantize_columns
from gatedrnn.models.stream import Stream

LARGE = os.environ.get("GATEDRNN_HOSTILE_SIZE", "small") == "large"
EXAMPLES = 40 if LARGE else 8
F32MAX = float(np.finfo(np.float32).max)


def cli(argv, stdin=None, stdout_closed=False):
    """Run the CLI in-process: (exit status, stdout, stderr); ``stdin`` text, or ``False`` for a closed stdin
    (what Python gives a process started with ``<&-``: ``sys.stdin is None``)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.ExitStack() as stack:
        if stdin is not None:
            stack.enter_context(mock.patch("sys.stdin", None if stdin is False else io.StringIO(stdin)))
        stack.enter_context(mock.patch("sys.stdout", None) if stdout_closed else contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


def assert_one_line(rc, err, command, *words):
    assert rc == 2 and err.count("\n") == 1 and err.startswith(f"gatedrnn {command}: error: "), err
    for w in words:
        assert w in err, err


# -- a Classifier checkpoint streams as the Classifier computes ------------------------------------------------------
def fit_classifier(offset, scale, seed=0):
    rng = np.random.default_rng(seed)
    X = [offset + scale * rng.normal(size=(int(rng.integers(3, 8)), 2)) for _ in range(8)]
    clf = Classifier(cell="gru", hidden_size=4, max_steps=3, batch_size=4, noise=0.0, seed=seed).fit(X, ["p", "q"] * 4)
    return clf, X


def stream_lines(path, rows) -> list:
    out = io.StringIO()
    stream_checkpoint(path, io.StringIO("".join(" ".join(repr(float(v)) for v in r) + "\n" for r in rows)), out)
    return [[float(v) for v in line.split()] for line in out.getvalue().splitlines()]


def log_softmax(z):
    z = np.asarray(z, dtype=np.float64)
    return z - z.max() - np.log(np.exp(z - z.max()).sum())


@settings(max_examples=EXAMPLES, deadline=None)
@given(offset=st.sampled_from([0.0, 10.0, -3e3, 1e6]), scale=st.sampled_from([1e-3, 1.0, 3.0, 1e4]),
       seed=st.integers(0, 3))
def test_stream_of_a_classifier_checkpoint_ends_on_the_classifiers_logits(tmp_path_factory, offset, scale, seed):
    """The stream ignored the saved mean and std: its logits differed from the Classifier's."""
    clf, X = fit_classifier(offset, scale, seed)
    path = tmp_path_factory.mktemp("clf") / "c"
    clf.save(path)
    for x in X[:3]:
        lines = stream_lines(path, x)
        assert len(lines) == len(x) and all(np.isfinite(line).all() for line in lines)
        want = np.log(clf.predict_proba([x])[0])                   # the Classifier's logits up to a constant
        np.testing.assert_allclose(log_softmax(lines[-1]), want, atol=2e-4)


def test_the_cli_stream_of_a_classifier_matches_its_decision_function(tmp_path):
    clf, X = fit_classifier(50.0, 5.0)
    clf.save(tmp_path / "c")
    rc, out, err = cli(["stream", str(tmp_path / "c")], stdin="\n".join(f"{float(a)!r}, {float(b)!r}" for a, b in X[0]) + "\n")
    assert rc == 0, err
    last = [float(v) for v in out.splitlines()[-1].split()]
    np.testing.assert_allclose(log_softmax(last), log_softmax(clf.decision_function([X[0]])[0]), atol=2e-4)


@pytest.mark.filterwarnings("error")  # a RuntimeWarning would be a second line on stderr
def test_a_raw_value_beyond_what_the_standardised_model_holds_is_one_line(tmp_path):
    clf, X = fit_classifier(0.0, 1.0)
    clf.save(tmp_path / "c")
    rc, out, err = cli(["stream", str(tmp_path / "c")], stdin="0.5 0.5\n1e300 0\n")
    assert_one_line(rc, err, "stream", "stdin line 2", "standardisation")
    assert len(out.splitlines()) == 1


def test_a_tampered_classifier_meta_is_one_line_in_stream(tmp_path):
    import json

    clf, _ = fit_classifier(0.0, 1.0)
    clf.save(tmp_path / "c")
    meta = json.loads((tmp_path / "c" / "meta.json").read_text())
    meta["classifier"]["std"] = [0.0, 1.0]
    (tmp_path / "c" / "meta.json").write_text(json.dumps(meta))
    rc, out, err = cli(["stream", str(tmp_path / "c")], stdin="1 2\n")
    assert_one_line(rc, err, "stream", "meta.json", "'std'")
    assert out == ""


# -- every printed line finite ----------------------------------------------------------------------------------
def overflowing_regressor(path):
    """An RNN whose hidden units saturate at 1 and whose head sums four weights of 3e38: inf in float32."""
    m = SequenceRegressor(1, 4, 1, cell="rnn", seed=0)
    m.rnn.layers[0].Wx[...] = 10.0
    m.rnn.layers[0].Wh[...] = 0.0
    m.rnn.layers[0].b_ih[...] = 0.0
    m.rnn.layers[0].b_hh[...] = 0.0
    m.head.W[...] = 3e38
    m.head.b[...] = 0.0
    m.save(path)
    return path


@pytest.mark.filterwarnings("error")  # a RuntimeWarning would be a second line on stderr
def test_a_stream_line_whose_output_is_not_finite_ends_the_stream_in_one_line(tmp_path):
    rc, out, err = cli(["stream", str(overflowing_regressor(tmp_path / "r"))], stdin="0\n1\n")
    assert_one_line(rc, err, "stream", "stdin line 2", "finite")
    assert out.splitlines() == ["0"]                                   # the line before it, and nothing else


@pytest.mark.filterwarnings("error")  # a RuntimeWarning would be a second line on stderr
def test_a_language_model_whose_logits_overflow_prints_no_token(tmp_path):
    m = LanguageModel(5, 3, 4, cell="rnn", seed=0)
    m.embed.W[...] = 10.0
    m.out.W[...] = 3e38
    m.out.W[::2] = -3e38
    m.save(tmp_path / "lm")
    rc, out, err = cli(["stream", str(tmp_path / "lm")], stdin="1\n")
    assert_one_line(rc, err, "stream", "stdin line 1", "finite")
    assert out == ""


# -- closed standard streams -------------------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["stdin", "stdout"])
def test_a_closed_stdin_or_stdout_is_one_line(tmp_path, which):
    clf, _ = fit_classifier(0.0, 1.0)
    clf.save(tmp_path / "c")
    rc, out, err = cli(["stream", str(tmp_path / "c")], stdin=False if which == "stdin" else "1 2\n",
                       stdout_closed=which == "stdout")
    assert_one_line(rc, err, "stream", f"open {which}")


def test_stream_started_with_stdin_closed_by_the_shell(tmp_path):
    clf, _ = fit_classifier(0.0, 1.0)
    clf.save(tmp_path / "c")
    done = subprocess.run(f'"{sys.executable}" -m gatedrnn.cli stream "{tmp_path / "c"}" <&-', shell=True,
                          capture_output=True, text=True, timeout=120, executable="/bin/bash")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "stdin" in done.stderr, done.stderr


# -- task sizes ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv,field", [
    (["adding", "--length", "1000000000"], "length"),
    (["copy", "--length", "1000000000"], "length"),
    (["selective", "--length", "1000000000"], "length"),
    (["adding", "--test-size", "1000000000000"], "test_size"),
    (["copy", "--alphabet", "1000000000000"], "alphabet"),
])
def test_a_task_beyond_the_machines_memory_is_one_line(tmp_path, argv, field):
    rc, out, err = cli(["task", *argv, "--out", str(tmp_path / "o")])
    assert_one_line(rc, err, "task", f"error: {field}: expected a")
    assert out == "" and not (tmp_path / "o").exists()


def test_a_small_task_still_runs_and_sizes_are_checked_against_memory():
    from gatedrnn.lab.task_memory import machine_memory, task_bytes
    from gatedrnn.lab.tasks import TaskConfig

    cfg = TaskConfig(length=10, hidden_size=4, batch_size=4, max_steps=2, eval_every=1, test_size=8).validate()
    assert sum(task_bytes(cfg)) < machine_memory()
    rc, out, err = cli(["task", "adding", "--length", "10", "--hidden-size", "4", "--batch-size", "4", "--max-steps",
                        "2", "--eval-every", "1", "--test-size", "8"])
    assert rc == 0 and "final test MSE" in out, err


@settings(max_examples=4 * EXAMPLES, deadline=None)
@given(task=st.sampled_from(["adding", "copy", "selective"]), length=st.integers(2, 10**12),
       hidden=st.integers(1, 16_384), batch=st.integers(1, 65_536), test=st.integers(1, 10**9))
def test_task_configs_are_refused_exactly_when_they_do_not_fit(task, length, hidden, batch, test):
    """Within the sizes every config allows (config.SIZE_LIMITS), the machine's memory decides."""
    from gatedrnn.lab.task_memory import machine_memory, task_bytes
    from gatedrnn.lab.tasks import TaskConfig

    cfg = TaskConfig(task=task, length=length, hidden_size=hidden, batch_size=batch, test_size=test)
    fits = sum(task_bytes(cfg)) <= machine_memory()
    try:
        cfg.validate()
    except UserError as exc:
        assert not fits and "\n" not in str(exc) and "fits in memory" in str(exc)
    else:
        assert fits


@pytest.mark.parametrize("make", ["adding_problem", "copy_task", "selective_copy"])
def test_the_task_generators_refuse_arrays_beyond_memory(make):
    from gatedrnn.lab import tasks

    with pytest.raises(UserError) as e:
        getattr(tasks, make)(1000, 10**10)
    assert "\n" not in str(e.value) and "fit in memory" in str(e.value)


# -- int8 ----------------------------------------------------------------------------------------------------------
@settings(max_examples=6 * EXAMPLES, deadline=None)
@given(top=st.floats(1e-30, F32MAX), rows=st.integers(1, 5), seed=st.integers(0, 100))
@example(top=F32MAX, rows=1, seed=0)
@example(top=float(np.nextafter(np.float32(F32MAX), np.float32(0))), rows=3, seed=1)
def test_int8_scales_and_dequantised_weights_are_finite_up_to_float32s_limit(top, rows, seed):
    rng = np.random.default_rng(seed)
    W = rng.uniform(-1, 1, size=(rows, 3)) * top
    W[0, 0] = top                                                      # the column's largest magnitude
    q, scale = quantize_columns(W)
    assert np.isfinite(scale).all() and (scale >= 0).all()
    back = dequantize(q, scale).astype(np.float64)
    assert np.isfinite(back).all()
    assert (np.abs(back - W) <= scale.astype(np.float64) * 0.5 * (1 + 1e-6) + 1e-300).all()


def huge_lstm(path=None, value=3.4e38, cell="lstm"):
    m = SequenceRegressor(2, 4, 1, cell=cell, seed=0)
    for p in m.params:
        p[...] = value * np.sign(p + 1e-12)
    if path is not None:
        m.save(path)
        return path
    return m


def test_weights_whose_fused_biases_overflow_float32_are_one_line_not_inf():
    m = huge_lstm()
    for make in (Stream, QuantizedStream):
        with pytest.raises(UserError) as e:
            make(m)
        assert "\n" not in str(e.value) and "float32" in str(e.value)


@pytest.mark.parametrize("cell,value", [("lstm", 3.4e38), ("gru", 3e38), ("rnn", 1e38)])
@pytest.mark.filterwarnings("error")  # a RuntimeWarning would be a second line on stderr
def test_export_int8_of_weights_near_3e38_is_one_line(tmp_path, cell, value):
    """LSTM: the fused biases overflowed to inf (C that did not compile, a traceback); GRU and RNN: a model that
    overflows float32 at every step printed 'max abs difference nan' at exit 0."""
    rc, out, err = cli(["export", str(huge_lstm(tmp_path / "big", value, cell)), "--c", str(tmp_path / "c"), "--int8"])
    assert_one_line(rc, err, "export", "float32")
    for make in (Stream, QuantizedStream):
        with pytest.raises(UserError, match="^Stream: .*float32"):
            make(huge_lstm(None, value, cell))


def test_stream_standardize_steps_as_the_standardised_input_and_refuses_bad_scalings():
    m = SequenceRegressor(2, 3, 1, seed=0)
    mean, std = np.array([10.0, -5.0]), np.array([2.0, 0.5])
    a, b = Stream(m, standardize=(mean, std)), Stream(m)
    for x in np.random.default_rng(0).normal(size=(5, 2)) * 3 + mean:
        np.testing.assert_allclose(a.step(x), b.step((x - mean) / std), rtol=1e-6)
    for bad in [(1, 2, 3), ([0, 0], ["a", "b"]), ([0, 0], [1, 0]), ([0, 0], [1, np.inf]), ([0], [1]), 5]:
        with pytest.raises(UserError) as e:
            Stream(m, standardize=bad)
        assert "\n" not in str(e.value) and str(e.value).startswith("Stream standardize: expected ")
