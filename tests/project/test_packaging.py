"""Ready to publish: ``python -m build`` makes an sdist and a wheel that ``twine check`` accepts, and the wheel,
installed into a fresh virtual environment (no editable install, no source tree on the path), runs
``gatedrnn quickstart``.

Offline: the build runs without isolation (the setuptools of this environment), the copy of the sources it builds
from lives in a temporary folder (nothing is written into the checkout), and the fresh environment gets NumPy and
tqdm by linking this environment's installed copies instead of downloading them.
"""

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import gatedrnn

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _run(cmd, **kwargs):
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kwargs)
    assert done.returncode == 0, f"{cmd}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    if importlib.util.find_spec("build") is None:
        pytest.skip("the 'build' package is not installed (pip install -e '.[test]')")
    src = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "src", src / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)])
    return out


def test_the_sdist_and_the_wheel_carry_the_version_the_license_and_the_readme(dist):
    wheel = dist / f"gatedrnn-{gatedrnn.__version__}-py3-none-any.whl"
    assert wheel.is_file() and (dist / f"gatedrnn-{gatedrnn.__version__}.tar.gz").is_file(), sorted(dist.iterdir())
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta = z.read(f"gatedrnn-{gatedrnn.__version__}.dist-info/METADATA").decode()
    assert any(n.endswith("licenses/LICENSE") for n in names) and "gatedrnn/py.typed" in names
    assert "gatedrnn/api.py" in names and not any(n.startswith("tests/") for n in names)
    assert f"Version: {gatedrnn.__version__}" in meta and "License-Expression: MIT" in meta
    assert "Description-Content-Type: text/markdown" in meta and "Provides-Extra: all" in meta


def test_twine_accepts_the_distributions(dist):
    if importlib.util.find_spec("twine") is None:
        pytest.skip("the 'twine' package is not installed (pip install -e '.[test]')")
    out = _run([sys.executable, "-m", "twine", "check", "--strict", *map(str, sorted(dist.iterdir()))])
    assert out.count("PASSED") == 2, out


def _link_installed(package: str, site: Path) -> None:
    """Make this environment's installed ``package`` (and its dist-info, and NumPy's bundled libraries) importable
    in the environment whose site-packages is ``site``."""
    spec = importlib.util.find_spec(package)
    home = Path(spec.origin).parent
    for p in home.parent.iterdir():
        if p == home or p.name == f"{package}.libs" or (p.name.startswith(f"{package}-") and p.suffix == ".dist-info"):
            os.symlink(p, site / p.name)


def test_the_wheel_installed_in_a_fresh_environment_runs_the_quickstart(dist, tmp_path):
    env_dir = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(env_dir)])
    python = env_dir / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip())
    for package in ("numpy", "tqdm"):
        _link_installed(package, site)
    wheel = dist / f"gatedrnn-{gatedrnn.__version__}-py3-none-any.whl"
    _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)])
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    where = _run([str(python), "-c", "import gatedrnn; print(gatedrnn.__file__, gatedrnn.__version__)"], cwd=tmp_path, env=env)
    assert where.startswith(str(site)) and where.split()[1] == gatedrnn.__version__, where
    assert str(ROOT) not in where
    out = _run([str(env_dir / "bin" / "gatedrnn"), "quickstart", "--max-steps", "5"], cwd=tmp_path, env=env)
    assert "gradient check" in out and "PASS" in out and "done in" in out, out
    assert sysconfig.get_paths()["purelib"] != str(site)
