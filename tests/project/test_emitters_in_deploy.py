"""Issue 28's fourth move, guarded on the source itself: deploy/ owns the emitters.

* A cell file under layers/ is its math: no C text, no ONNX mapping (each cell's C step and ONNX form are its
  module in deploy/cells/, keyed by the registry's name), and every registered cell has that module.
* deploy/ does not branch on what a checkpoint holds: it reads a checkpoint's kind in one place (deploy/adapters.py,
  the table of export adapters that the applications hand down through ``register_adapter``); it imports no
  application, not even its export adapter (the arrow turned: deploy is the floor below the applications).
"""

import ast
import importlib
import inspect
import re
from pathlib import Path

import pytest

import gatedrnn
from gatedrnn.deploy.cells import C_STEPS, ONNX_CELLS
from gatedrnn.layers import CELLS
from gatedrnn.layers.recurrent import RecurrentLayer

SRC = Path(gatedrnn.__file__).resolve().parent
DEPLOY_NAMES = re.compile(r"^(c_step|q15_step|q15_update|_?onnx_\w*)$")   # what a cell used to carry for deploy
C_TEXT = re.compile(r"\b(fast_tanh|q_tanh|q_sigmoid|q_h|expf)\(|\[j\]|;\s*($|\n)|\bint(32|64)_t\b")
APPLICATIONS = ("lm", "forecast", "classify")
APP_KINDS = ("forecaster", "classifier")          # the applications' checkpoint kinds (models.io)


def _cell_modules() -> list[Path]:
    """The files that define the registered cells' layer classes and the classes they build on, and the scan."""
    mods = {importlib.import_module("gatedrnn.layers.scan")}
    for stack in CELLS.values():
        for cls in stack.layer_class.__mro__:
            if cls.__module__.startswith("gatedrnn.layers") and issubclass(cls, RecurrentLayer):
                mods.add(importlib.import_module(cls.__module__))
    return sorted(Path(inspect.getfile(m)) for m in mods)


def _docstrings(tree) -> set:
    nodes = [tree] + [n for n in ast.walk(tree) if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))]
    return {id(n.body[0].value) for n in nodes if n.body and isinstance(n.body[0], ast.Expr)
            and isinstance(n.body[0].value, ast.Constant)}


@pytest.mark.parametrize("path", _cell_modules(), ids=lambda p: p.name)
def test_a_cell_file_holds_no_c_or_onnx_text(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    docs = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            targets = [node.name]
        elif isinstance(node, ast.Assign):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            targets = [node.target.id]
        found += [f"line {node.lineno}: {name}" for name in targets if DEPLOY_NAMES.match(name)]
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs \
                and C_TEXT.search(node.value):
            found.append(f"line {node.lineno}: C text {node.value[:50]!r}")
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            found += [f"line {node.lineno}: imports {n}" for n in names if n.split(".")[0] == "onnx"]
    assert not found, f"{path.relative_to(SRC)}: " + "; ".join(found)


@pytest.mark.parametrize("name", sorted(CELLS))
def test_every_cell_has_its_emitters_in_deploy_and_carries_none(name):
    cls = CELLS[name].layer_class
    assert (SRC / "deploy" / "cells" / f"{name}.py").is_file()
    assert name in C_STEPS and name in ONNX_CELLS
    assert not [a for a in dir(cls) if DEPLOY_NAMES.match(a)], f"{cls.__name__} carries deploy attributes"


def test_every_emitter_module_is_named_after_a_cell():
    names = {p.stem for p in (SRC / "deploy" / "cells").glob("*.py")} - {"__init__"}
    assert names <= set(CELLS), sorted(names - set(CELLS))


def _deploy_modules():
    for path in sorted((SRC / "deploy").rglob("*.py")):
        yield path, ast.parse(path.read_text(), filename=str(path))


def _is_text(node, values) -> bool:
    return isinstance(node, ast.Constant) and node.value in values


def test_deploy_reads_a_checkpoint_kind_only_in_its_adapters():
    """``checkpoint_kind`` is called, and a meta's kind keys are read, in deploy/adapters.py only; no other module
    of deploy/ compares anything with the name of the application kind that is exported whole."""
    found = []
    for path, tree in _deploy_modules():
        rel = str(path.relative_to(SRC))
        if rel == "deploy/adapters.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "checkpoint_kind":
                found.append(f"{rel}:{node.lineno} calls checkpoint_kind")
            if isinstance(node, ast.Subscript) and _is_text(node.slice, ("kind", *APP_KINDS)) or \
                    isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "get" and node.args \
                    and _is_text(node.args[0], ("kind", *APP_KINDS)):
                found.append(f"{rel}:{node.lineno} reads a kind key of a meta")
            if isinstance(node, ast.Compare) and any(_is_text(c, ("forecaster",)) for c in [node.left, *node.comparators]):
                found.append(f"{rel}:{node.lineno} compares with 'forecaster'")
    assert not found, found


def test_deploy_imports_no_application_not_even_its_export_adapter():
    found = []
    for path, tree in _deploy_modules():
        for node in ast.walk(tree):
            mods = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                mods = [node.module] + [f"{node.module}.{a.name}" for a in node.names if node.module == "gatedrnn"]
            elif isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            for mod in mods:
                parts = mod.split(".")
                if len(parts) > 1 and parts[0] == "gatedrnn" and parts[1] in APPLICATIONS:
                    found.append(f"{path.relative_to(SRC)}:{node.lineno} imports {mod}")
    assert not found, found
