"""The suite's shared fixtures live in tests/conftest.py alone (issue 28, item 5): no test file defines a fixture, or
a module-level function, under the name of one of them (a local ``toy`` would hide the shared corpus), and no test
file keeps its own module-level TINY settings (they are ``tiny``'s, in the conftest). The ``toy`` corpus is written
once per module, so its size mark is the module's (``pytestmark = pytest.mark.toy(N)``), never a test's."""

import ast
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
CONFTEST = TESTS / "conftest.py"
SETTINGS_NAME = re.compile(r"TINY")


def _fixture_name(node) -> str | None:
    """The name a function is registered under when a ``pytest.fixture`` decorator marks it, else None."""
    for dec in getattr(node, "decorator_list", []):
        call = dec if isinstance(dec, ast.Call) else None
        target = call.func if call else dec
        if ast.unparse(target) in ("pytest.fixture", "fixture"):
            for kw in call.keywords if call else []:
                if kw.arg == "name" and isinstance(kw.value, ast.Constant):
                    return kw.value.value
            return node.name
    return None


def shared_fixtures(tree: ast.Module) -> set:
    return {name for node in tree.body if (name := _fixture_name(node))}


def offences(tree: ast.Module, shared: set) -> list:
    """What a test module must not hold: a fixture (at any depth) or a module-level function named like a shared
    fixture, a module-level name with TINY in it, and a ``toy`` size mark on a test (a module-scoped fixture does
    not see it)."""
    found = []
    for node in ast.walk(tree):
        name = _fixture_name(node)
        if name in shared:
            found.append(f"line {node.lineno}: fixture {name!r}")
        for dec in getattr(node, "decorator_list", []):
            if ast.unparse(dec).startswith("pytest.mark.toy"):
                found.append(f"line {node.lineno}: {node.name} marked toy (mark the module)")
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in shared and _fixture_name(node) is None:
            found.append(f"line {node.lineno}: function {node.name!r}")
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, (ast.AnnAssign, ast.AugAssign)) else []
        for t in targets:
            for n in ast.walk(t):
                if isinstance(n, ast.Name) and SETTINGS_NAME.search(n.id):
                    found.append(f"line {node.lineno}: {n.id} (use the tiny fixture)")
    return found


def test_the_conftest_holds_the_shared_fixtures():
    shared = shared_fixtures(ast.parse(CONFTEST.read_text()))
    assert {"toy", "tiny", "toy_classes", "capture_cli", "mpi", "bench_script", "classifier_gradcheck",
            "fixed_c", "no_aeon", "rng", "data_dir"} <= shared, shared


def test_the_toy_corpus_is_toy_sentences_of_the_default_size(toy):
    from gatedrnn.data.synthetic import toy_sentences

    assert toy.name == "toy.txt" and toy.read_text() == toy_sentences(6000, seed=0)


def test_no_test_file_defines_a_shared_fixture_or_its_own_tiny_settings():
    shared = shared_fixtures(ast.parse(CONFTEST.read_text()))
    bad = {}
    for path in sorted(TESTS.rglob("*.py")):
        if path == CONFTEST:
            continue
        found = offences(ast.parse(path.read_text(), filename=str(path)), shared)
        if found:
            bad[str(path.relative_to(TESTS))] = found
    assert not bad, bad


def test_the_guard_sees_each_kind_of_offence():
    source = ("import pytest\n\n@pytest.fixture(scope='module')\ndef toy(tmp_path_factory):\n    pass\n\n"
              "@pytest.fixture(name='tiny')\ndef _mine():\n    pass\n\n"
              "def capture_cli(argv):\n    pass\n\nTINY = ['--hidden-size', '4']\nTINY_FLAGS: list = []\n"
              "def toy_words():\n    TINY = 1\n\n@pytest.mark.toy(3000)\ndef test_it(toy):\n    pass\n")
    found = offences(ast.parse(source), {"toy", "tiny", "capture_cli"})
    assert [f.split(":", 1)[1].strip() for f in found] == [
        "fixture 'toy'", "fixture 'tiny'", "test_it marked toy (mark the module)", "function 'capture_cli'",
        "TINY (use the tiny fixture)", "TINY_FLAGS (use the tiny fixture)"], found


def test_the_tiny_settings_cannot_be_changed_by_a_test(tiny):
    for name, value in vars(tiny).items():
        if not name.startswith("_"):
            assert isinstance(value, tuple) or type(value).__name__ == "mappingproxy", name
