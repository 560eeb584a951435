"""The suite's shared fixtures (a test file defines none of these names itself: tests/project/test_shared_fixtures.py):
``rng``, ``data_dir``, the ``toy`` corpus, the tiny settings (``tiny``), the small classification sets and their .ts
files (``toy_classes``), ``no_aeon``, ``capture_cli``, the MPI launcher's helpers (``mpi``, with the ``needs_mpi``
mark), ``bench_script``, ``classifier_gradcheck``, ``fixed_c`` and ``seasonal`` (the forecasting tests'
series); and the check that a test run leaves the checkout clean."""

import contextlib
import functools
import importlib
import importlib.util
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
TOY_SENTENCES = 6000      # the ``toy`` corpus's size unless a module says otherwise: pytestmark = pytest.mark.toy(4000)
NO_MPI = "needs mpi4py and an mpiexec (pip install -e '.[mpi]')"


def pytest_configure(config):
    config.addinivalue_line("markers", f"toy(sentences): the module's ``toy`` corpus size (default {TOY_SENTENCES})")
    config.addinivalue_line("markers", f"needs_mpi: skipped unless mpi4py imports and an mpiexec is found ({NO_MPI})")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def data_dir():
    """The directory with the corpora (``GATEDRNN_DATA``, else ../shared/data beside the checkout)."""
    d = Path(os.environ.get("GATEDRNN_DATA", SHARED_DATA))
    if not (d / "ptb" / "ptb.train.txt").exists():
        pytest.skip(f"Penn Treebank not found under {d}: set GATEDRNN_DATA to the folder holding ptb/")
    return d


# -- the toy corpus and the tiny settings --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def toy(request, tmp_path_factory):
    """A character-level corpus file ``toy.txt`` of ``toy_sentences(N, seed=0)``, written once per module; N is
    TOY_SENTENCES, or the module's ``pytest.mark.toy(N)``."""
    from gatedrnn.data.synthetic import toy_sentences

    mark = request.node.get_closest_marker("toy")
    path = tmp_path_factory.mktemp("toy") / "toy.txt"
    path.write_text(toy_sentences(mark.args[0] if mark else TOY_SENTENCES, seed=0))
    return path


class Tiny:
    """The tiny settings the tests run commands and estimators with (tuples and read-only mappings: a test
    extends them, ``[*tiny.lm, ...]`` or ``{**tiny.forecaster, ...}``, and never changes them)."""
    # gatedrnn train: a character-level LSTM of 16 units (lm; lm_any_level: the --level left to the test), of 12
    # units over 8 steps (lm_small), or the preset's network with the tiny batch shape (lm_shape)
    lm_any_level = ("--embed-size", "8", "--hidden-size", "16", "--batch-size", "4", "--time-size", "10",
                    "--eval-batch-size", "2", "--optimizer", "adam", "--lr", "0.01", "--clip", "1", "--no-progress")
    lm = ("--level", "char", *lm_any_level)
    lm_small = ("--level", "char", "--embed-size", "8", "--hidden-size", "12", "--batch-size", "4", "--time-size", "8",
                "--eval-batch-size", "2", "--optimizer", "adam", "--lr", "0.01", "--clip", "1", "--no-progress")
    lm_shape = ("--level", "char", "--batch-size", "4", "--time-size", "10", "--eval-batch-size", "2", "--no-progress")
    # gatedrnn forecast / classify / gradflow
    fit = ("--hidden-size", "4", "--max-steps", "3", "--batch-size", "8")
    fit4 = ("--hidden-size", "4", "--max-steps", "4", "--batch-size", "8")
    forecast_csv = ("--max-steps", "5", "--hidden-size", "4", "--batch-size", "8", "--window", "12")
    classify_select = ("--hidden-size", "4", "--max-steps", "20", "--batch-size", "8", "--seeds", "1",
                       "--no-baselines", "--cell", "gru")
    classify_suite = ("--cell", "fastgrnn", "--seeds", "1", "--hidden-size", "4", "--max-steps", "5", "--no-select",
                      "--no-progress")
    gradflow = ("--cell", "rnn", "--length", "4", "--hidden-size", "3")
    # the estimators and backtest()
    forecaster = MappingProxyType(dict(horizon=3, window=8, hidden_size=4, max_steps=3, batch_size=4))
    backtest = MappingProxyType({"window": 6, "hidden_size": 4, "max_steps": 3, "batch_size": 8, "seed": 3})
    classifier = MappingProxyType(dict(cell="gru", hidden_size=4, max_steps=3, batch_size=4, noise=0.0, dropout=0.0))


@pytest.fixture(scope="session")
def tiny():
    return Tiny


# -- small classification sets and their .ts files -----------------------------------------------------------------
class ToyClasses:
    @staticmethod
    def by_sign(n, rng, D=2, lengths=(3, 13)):
        """'up' when the first dimension's values sum above 0, else 'down'; lengths drawn in [lengths)."""
        X = [rng.standard_normal((int(rng.integers(*lengths)), D)) for _ in range(n)]
        return X, np.array(["up" if x[:, 0].sum() > 0 else "down" for x in X])

    @staticmethod
    def by_offset(n, rng, length, D, offset=0.8):
        """Classes 'a' and 'b' in turn, the values shifted by -offset and +offset; every case ``length`` steps."""
        X = [rng.standard_normal((length, D)) + (offset if i % 2 else -offset) for i in range(n)]
        return X, ["b" if i % 2 else "a" for i in range(n)]

    @staticmethod
    def univariate_by_sign(n, rng, lengths=(3, 8), head=None):
        """'up' when the values (the first ``head`` of them) sum above 0, else 'down'; lengths drawn in [lengths)."""
        X = [rng.standard_normal(int(rng.integers(*lengths))) for _ in range(n)]
        return X, ["up" if x[:head].sum() > 0 else "down" for x in X]

    @staticmethod
    def write_ts(folder: Path, splits: dict, labels, digits=4, equal_length=None, name="Toy") -> str:
        """``{folder}/{name}_{split}.ts`` for each split's (X, y): a 1-D case is univariate; ``equal_length`` says
        what the header claims (None: what the cases are). Returns the data set's prefix."""
        cases = [np.asarray(x) for X, _ in splits.values() for x in X]
        dims = cases[0].shape[1] if cases[0].ndim == 2 else 1
        equal = len({len(x) for x in cases}) == 1 if equal_length is None else equal_length
        head = f"@problemName {name}\n" + ("@univariate true\n" if cases[0].ndim == 1 else
                                            f"@univariate false\n@dimensions {dims}\n")
        head += f"@equalLength {str(equal).lower()}\n@classLabel true {' '.join(labels)}\n@data\n"
        for split, (X, y) in splits.items():
            rows = [":".join(",".join(f"{v:.{digits}f}" for v in (x if x.ndim == 1 else x[:, d]))
                             for d in range(dims)) + f":{label}" for x, label in zip(map(np.asarray, X), y)]
            (folder / f"{name}_{split}.ts").write_text(head + "\n".join(rows) + "\n")
        return str(folder / name)


def _seasonal(n, level=10.0, seed=0, noise=0.3):
    """A series of period 12 around ``level`` (3 sin(2 pi t / 12), plus ``noise`` times standard normal draws)."""
    t = np.arange(n)
    return level + 3 * np.sin(2 * np.pi * t / 12) + noise * np.random.default_rng(seed).standard_normal(n)


@pytest.fixture(scope="session")
def seasonal():
    """``seasonal(n, level=10.0, seed=0, noise=0.3)``: the forecasting tests' seasonal series (period 12)."""
    return _seasonal


@pytest.fixture(scope="session")
def toy_classes():
    return ToyClasses


# -- the command line, scripts and gradients -----------------------------------------------------------------------
class CaptureCli:
    def __call__(self, argv):
        """``gatedrnn ARGV`` in this process: (exit status, stdout, stderr)."""
        from gatedrnn.cli import main

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(argv)
        return rc, out.getvalue(), err.getvalue()

    @staticmethod
    def assert_one_error_line(rc, err, command):
        assert rc == 2, err
        assert err.count("\n") == 1 and err.startswith(f"gatedrnn {command}: error: "), err


@pytest.fixture
def no_aeon(monkeypatch):
    """``gatedrnn classify`` as without aeon: no MiniRocket or DTW rows (``classify.run.available()`` is False)."""
    run = importlib.import_module("gatedrnn.classify.run")     # the module: the package exports its run function
    monkeypatch.setattr(run, "available", lambda: False)


@pytest.fixture(scope="session")
def capture_cli():
    return CaptureCli()


@pytest.fixture(scope="session")
def bench_script():
    """``bench_script("edge.py", "edge_bench")``: a script of benchmarks/ loaded as a module."""
    def load(file: str, name: str):
        spec = importlib.util.spec_from_file_location(name, BENCHMARKS / file)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    return load


@pytest.fixture(scope="session")
def classifier_gradcheck():
    """``classifier_gradcheck(opts, rng, max_checks)``: the gradient check of a float64 GRU SequenceClassifier(2, 4,
    3, **opts) under softmax cross-entropy, on a padded batch of three (lengths 13, 8, 6), every relative error
    below 1e-6; returns the report."""
    def check(opts, rng, max_checks):
        import gatedrnn as g
        from gatedrnn.layers import SoftmaxCrossEntropy
        from gatedrnn.models import Padded, SequenceClassifier

        model = SequenceClassifier(2, 4, 3, cell="gru", dtype="float64", seed=1, **opts)
        batch = Padded(rng.standard_normal((3, 13, 2)), np.array([13, 8, 6]))
        t = np.array([0, 2, 1])
        ce = SoftmaxCrossEntropy()

        def loss(out):
            return ce.forward(out[0], t), ce.backward()

        report = g.gradcheck(model, batch, loss=loss, max_checks=max_checks, wrt_inputs=False)
        assert max(report.values()) < 1e-6, report
        return report
    return check


# -- MPI: the launcher, its environment, our lines on its stderr ---------------------------------------------------
class Mpi:
    LAUNCHER = ("OMPI_", "PMI_", "PMIX_", "MV2_", "PRTE_")

    def __init__(self):
        self.exec = shutil.which("mpiexec", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))

    def env(self, **extra) -> dict:
        """This environment without a launcher's variables, one thread each, unbuffered."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(self.LAUNCHER)}
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OPENBLAS_NUM_THREADS="1",
                   OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", **extra)
        return env

    @staticmethod
    def ours(stderr: str) -> list:
        """Our lines on stderr, without the launcher's own: its ``----`` framed banner and its ``[host:pid] ...``
        notes (Open MPI's PMIx server may add one when a job ends with an error)."""
        lines, inside = [], False
        for line in stderr.splitlines():
            if line.startswith("-----"):
                inside = not inside
            elif not inside and line.strip() and not re.match(r"\[[^\]\s]+:\d+\] ", line):
                lines.append(line)
        return lines


@functools.lru_cache(maxsize=1)
def _mpi_ready() -> bool:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return Mpi().exec is not None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if item.get_closest_marker("needs_mpi") is not None and not _mpi_ready():
        pytest.skip(NO_MPI)


@pytest.fixture(scope="session")
def mpi():
    return Mpi()


# -- the fixed-point C export (tests/deploy/test_c99_fixed*.py) ----------------------------------------------------
class FixedC:
    @staticmethod
    def sparse(model, keep, seed=0):
        """``model`` with each weight matrix kept at random where a uniform draw is below ``keep`` (in place)."""
        rng = np.random.default_rng(seed)
        for _, p, _ in model.named_params():
            if np.ndim(p) == 2:
                p[...] *= rng.random(p.shape) < keep
        return model

    @staticmethod
    def write(fm, folder: Path, name: str):
        """The C of fixed model ``fm`` as folder/NAME.h and NAME.c: (header, source, info)."""
        from gatedrnn.deploy.c99_fixed import fixed_sources

        header, source, info = fixed_sources(fm, prefix=name)
        (folder / f"{name}.h").write_text(header)
        (folder / f"{name}.c").write_text(source)
        return header, source, info

    def write_all(self, models: dict, folder: Path):
        """Each NAME: (model, standardisation) as its fixed model and its C, checked to hold no float, no math.h and
        no decimal point outside comments: ({name: fixed model}, {name: (C without comments, info)})."""
        from gatedrnn.deploy.fixed_stream import fixed_model

        fms, written = {}, {}
        for name, (model, st) in models.items():
            fms[name] = fixed_model(model, st)
            header, source, info = self.write(fms[name], folder, name)
            code = re.sub(r"/\*.*?\*/", "", header + source, flags=re.S)
            assert not re.search(r"\b(float|double)\b|math\.h|[0-9]\.[0-9]", code), name
            written[name] = code, info
        return fms, written

    @staticmethod
    def assert_bit_exact(lib, models: dict, fms: dict, steps: int, seed: int):
        """The compiled step equals the Python reference over ``steps`` random inputs, saturations included."""
        from gatedrnn.deploy.c99_fixed_run import CFixed, random_float_inputs
        from gatedrnn.deploy.fixed_stream import FixedStream

        for name, (_, st) in models.items():
            xq = fms[name].encode(random_float_inputs(fms[name], steps, st, seed=seed))
            c, ref = CFixed(lib, name, fms[name]), FixedStream(fms[name])
            got, want = c.run(xq), ref.run(xq)
            assert np.array_equal(got, want), (name, int(np.count_nonzero(got != want)))
            assert c.saturated == ref.saturated

    def check(self, fm, model, folder: Path, name: str, standardize) -> dict:
        """``check_fixed`` over 1,000 steps of the C written alone into ``folder``."""
        from gatedrnn.deploy.c99_fixed_run import check_fixed

        folder.mkdir()
        self.write(fm, folder, name)
        return check_fixed(fm, model, folder, name, standardize=standardize, steps=1000)


@pytest.fixture(scope="session")
def fixed_c():
    return FixedC()


# -- a test run leaves the checkout as it found it ----------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[1]
CLEAN_CHECK = "GATEDRNN_ALLOW_UNTRACKED"   # =1: no check (several people running tests in one shared checkout)
_BEFORE = pytest.StashKey["set | None"]()


def untracked_files(root: Path = ROOT) -> set | None:
    """The files ``git status`` calls untracked (not ignored) under ``root``; None outside a git checkout or
    without git."""
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=root,
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return {line[3:] for line in out.stdout.splitlines() if line.startswith("?? ")}


def pytest_sessionstart(session):
    session.config.stash[_BEFORE] = None if os.environ.get(CLEAN_CHECK) == "1" else untracked_files()


def pytest_sessionfinish(session, exitstatus):
    """Fail the run when it left files that git does not ignore in the checkout: a test writes into a temporary
    folder (``tmp_path``), or its output path is git-ignored."""
    before = session.config.stash.get(_BEFORE, None)
    if before is None or hasattr(session.config, "workerinput"):     # outside git, or an xdist worker
        return
    left = sorted((untracked_files() or set()) - before)
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = [f"the test run left {len(left)} untracked file(s) in the checkout (write into tmp_path, or have git "
                 f"ignore the path; {CLEAN_CHECK}=1 skips this check):", *(f"  {p}" for p in left[:20])]
        for line in lines:
            if reporter is not None:
                reporter.write_line(line, red=True)
            else:
                print(line)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

