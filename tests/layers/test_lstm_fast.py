"""The LSTM's compiled path (layers/lstm_fast.py, on with GATEDRNN_FAST=1) against its NumPy reference, in float32,
and the rules of its cache: private directory, keyed build, silent fallback. The gradient checks and PyTorch parity tests run in
float64, which is always the NumPy path; here the two paths must agree to float32 rounding (< 1e-6, relative to
each array's largest value) on the same float32 inputs."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import gatedrnn as g
from gatedrnn.layers import lstm_fast

needs_fast = pytest.mark.skipif(lstm_fast.library() is None, reason=f"compiled LSTM path: {lstm_fast.describe()}")


def _run(fast, monkeypatch, D, H, L, x, dy, dstate, lengths=None):
    monkeypatch.setattr(lstm_fast, "enabled", fast)
    m = g.LSTM(D, H, L, seed=3)
    y, (h, c) = m.forward(x, lengths=lengths)
    dx = m.backward(dy, dstate)
    return [y, h, c, dx, *m.dstate, *m.grad_dict().values()]


def _agree(a, b):
    for u, v in zip(a, b):
        assert u.dtype == np.float32 and v.dtype == np.float32
        assert np.abs(u - v).max() <= 1e-6 * max(1.0, float(np.abs(v).max()))


@needs_fast
@pytest.mark.parametrize("B,T,D,H,L", [(3, 7, 5, 8, 2), (1, 40, 16, 64, 1), (16, 6, 12, 256, 1), (5, 9, 2, 33, 2),
                                       (9, 5, 40, 96, 2)])   # B = 16 and 9 (>= 8): the transposed product
@pytest.mark.parametrize("whole", [True, False])   # whole loops in C (NumPy's sgemm) or per-step C calls
def test_compiled_path_equals_numpy_path(B, T, D, H, L, whole, rng, monkeypatch):
    if not whole:
        monkeypatch.setitem(lstm_fast._loaded, "gemm", None)
    x = rng.standard_normal((B, T, D)).astype(np.float32)
    dy = rng.standard_normal((B, T, H)).astype(np.float32)
    dstate = tuple(rng.standard_normal((L, B, H)).astype(np.float32) for _ in range(2))
    _agree(_run(True, monkeypatch, D, H, L, x, dy, dstate), _run(False, monkeypatch, D, H, L, x, dy, dstate))


@needs_fast
def test_compiled_path_with_lengths_and_no_output_gradient(rng, monkeypatch):
    B, T, D, H = 4, 11, 3, 20
    x = rng.standard_normal((B, T, D)).astype(np.float32)
    lengths = np.array([11, 3, 7, 1])
    dstate = tuple(rng.standard_normal((2, B, H)).astype(np.float32) for _ in range(2))
    a = _run(True, monkeypatch, D, H, 2, x, None, dstate, lengths)
    _agree(a, _run(False, monkeypatch, D, H, 2, x, None, dstate, lengths))


@needs_fast
def test_float64_stays_on_the_numpy_path(monkeypatch):
    monkeypatch.setattr(lstm_fast, "enabled", True)
    assert lstm_fast.usable(np.zeros(1, np.float32)) and not lstm_fast.usable(np.zeros(1, np.float64))


def test_fallback_without_cffi_is_silent(monkeypatch, tmp_path, rng):
    monkeypatch.setattr(lstm_fast, "enabled", True)
    monkeypatch.setenv("GATEDRNN_CACHE", str(tmp_path))
    monkeypatch.setitem(sys.modules, "cffi", None)          # import cffi raises ImportError
    lstm_fast.reset()
    try:
        assert lstm_fast.describe() == "numpy (cffi not installed (the fast extra))"
        assert not lstm_fast.usable(np.zeros(1, np.float32))
        y, _ = g.LSTM(2, 4, seed=0).forward(rng.standard_normal((1, 3, 2)).astype(np.float32))
        assert y.shape == (1, 3, 4)
    finally:
        lstm_fast.reset()


def test_fallback_without_a_compiler(monkeypatch, tmp_path):
    monkeypatch.setattr(lstm_fast, "enabled", True)
    monkeypatch.setenv("GATEDRNN_CACHE", str(tmp_path))
    monkeypatch.setenv("CC", "no-such-compiler-gatedrnn")
    lstm_fast.reset()
    try:
        assert lstm_fast.describe() == "numpy (no C compiler (cc))"
    finally:
        lstm_fast.reset()


def test_a_cache_directory_others_can_write_is_not_used(monkeypatch, tmp_path):
    monkeypatch.setattr(lstm_fast, "enabled", True)
    folder = tmp_path / "kernels"
    folder.mkdir(mode=0o777)
    os.chmod(folder, 0o777)
    monkeypatch.setenv("GATEDRNN_CACHE", str(tmp_path))
    lstm_fast.reset()
    try:
        assert "is not private" in lstm_fast.describe() and not list(folder.iterdir())
    finally:
        lstm_fast.reset()


@needs_fast
def test_the_cache_directory_is_made_private(monkeypatch, tmp_path):
    monkeypatch.setattr(lstm_fast, "enabled", True)
    monkeypatch.setenv("GATEDRNN_CACHE", str(tmp_path))
    lstm_fast.reset()
    try:
        assert lstm_fast.describe().startswith("compiled")          # built into the empty cache
        folder = tmp_path / "kernels"
        assert folder.stat().st_mode & 0o777 == 0o700
        (lib,) = folder.glob("lstm-*.so")
        assert lib.stat().st_mode & 0o077 == 0
    finally:
        lstm_fast.reset()


@needs_fast
def test_a_library_with_another_key_is_not_loaded(monkeypatch, tmp_path):
    monkeypatch.setattr(lstm_fast, "enabled", True)
    compiler = shutil.which(os.environ.get("CC", "cc"))
    folder = tmp_path / "kernels"
    folder.mkdir(mode=0o700)
    src = tmp_path / "other.c"
    src.write_text(lstm_fast.C_SOURCE)
    # the file name of this source and compiler, holding a library built with another key
    target = folder / f"lstm-{lstm_fast.build_key(compiler)[:32]}.so"
    subprocess.run([compiler, *lstm_fast.FLAGS, '-DGATEDRNN_KEY="another key"', str(src), "-o", str(target)],
                   check=True)
    os.chmod(target, 0o700)
    monkeypatch.setenv("GATEDRNN_CACHE", str(tmp_path))
    import cffi

    def refuse(self, path, *args):   # the key is checked in the file's bytes, before any of its code is loaded
        raise AssertionError(f"dlopen({path}) of a library with another key")
    monkeypatch.setattr(cffi.FFI, "dlopen", refuse)
    lstm_fast.reset()
    try:
        assert "built from another source or compiler" in lstm_fast.describe()
        assert not lstm_fast.usable(np.zeros(1, np.float32))
    finally:
        lstm_fast.reset()


def test_the_test_extra_holds_the_fast_extra():
    """CI installs ``.[test]``: with the fast extra's requirements in it, the equality tests above run there."""
    tomllib = pytest.importorskip("tomllib")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "pyproject.toml"), "rb") as f:
        extras = tomllib.load(f)["project"]["optional-dependencies"]
    assert extras["fast"] and set(extras["fast"]) <= set(extras["test"]), extras["fast"]


def test_the_numpy_path_is_the_default(monkeypatch):
    env = dict(os.environ, GATEDRNN_FAST="")
    code = "from gatedrnn.layers import lstm_fast; print(lstm_fast.enabled, lstm_fast.describe())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False numpy (the default; GATEDRNN_FAST=1 selects the compiled path)"
    monkeypatch.setattr(lstm_fast, "enabled", False)
    assert not lstm_fast.usable(np.zeros(1, np.float32))


def test_version_names_the_path(capsys):
    from gatedrnn.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    out = capsys.readouterr()
    assert exc.value.code == 0 and out.err.strip() == f"LSTM: {lstm_fast.describe()}"


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("B,T", [(0, 4), (3, 0)])
def test_empty_batch_or_sequence(fast, B, T, monkeypatch):
    monkeypatch.setattr(lstm_fast, "enabled", fast)
    m = g.LSTM(3, 4, seed=0)
    y, (h, c) = m.forward(np.zeros((B, T, 3), np.float32))
    dx = m.backward(np.ones_like(y), (np.ones_like(h), np.ones_like(c)))
    assert y.shape == (B, T, 4) and dx.shape == (B, T, 3)
    np.testing.assert_array_equal(m.dstate[1], np.ones_like(c) if T == 0 else np.zeros_like(c))


@pytest.mark.skipif(os.environ.get("CI") != "true", reason="CI only (CI=true): a developer may lack cffi or a compiler")
def test_ci_runs_the_equality_tests(monkeypatch):
    """Under CI the compiled path must load (cffi from the test extra, the machine's compiler), so that the
    equality tests above run instead of skipping."""
    monkeypatch.setattr(lstm_fast, "enabled", True)
    assert lstm_fast.library() is not None, lstm_fast.describe()
