"""The house rules of DEVELOPERS.md, checked on the source itself: sizes, the floors imports flow down, no circles,
one training loop, configs and applications in their rooms, no pickle."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "gatedrnn"
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 400, 60

# the floors, bottom up: a module imports only from lower floors or from its own package
FLOORS = {"backend": 0, "errors": 0, "config": 0, "atomic": 0, "init": 0, "checkpoint_io": 0,
          "run_folder": 0, "output_paths": 0, "run_lock": 0,
          "layers": 1, "optim": 1, "data": 1, "gradcheck": 1,
          "models": 2, "train": 3, "deploy": 4, "lm": 5, "forecast": 5, "classify": 5, "api": 6, "lab": 6, "cli": 7}
def _modules():
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        yield path, rel, ast.parse(path.read_text(), filename=str(path))


def _room(rel: Path) -> str:
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(tree):
    """Every ``gatedrnn`` import in the module, at any depth: (room imported, top-level statement?)."""
    top = set(map(id, tree.body))
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "gatedrnn" and node.level == 0:
            parts = node.module.split(".")
            names = [parts[1]] if len(parts) > 1 else [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name.split(".")[1] for a in node.names if a.name.startswith("gatedrnn.")]
        for n in names:
            yield n, id(node) in top


def test_no_module_over_400_lines_and_no_function_over_60():
    long_modules, long_functions = [], []
    for path, rel, tree in _modules():
        n = len(path.read_text().splitlines())
        if n > MAX_MODULE_LINES:
            long_modules.append(f"{rel}: {n}")
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                span = node.end_lineno - node.lineno + 1
                if span > MAX_FUNCTION_LINES:
                    long_functions.append(f"{rel}:{node.lineno} {node.name}: {span}")
    assert not long_modules and not long_functions, (long_modules, long_functions)


def test_imports_flow_down_the_floors():
    wrong = []
    for _, rel, tree in _modules():
        if rel.parts == ("__init__.py",) or rel.parts == ("__main__.py",):
            continue
        room = _room(rel)
        assert room in FLOORS, f"{rel}: a room the floors do not list"
        for target, top in _imports(tree):
            if target in ("__version__",) or target == room or target not in FLOORS:
                continue
            same_floor_package = FLOORS[target] == FLOORS[room] and FLOORS[room] > 0
            if FLOORS[target] > FLOORS[room] or same_floor_package:
                wrong.append(f"{rel} ({room}, floor {FLOORS[room]}) imports {target} (floor {FLOORS[target]})")
    assert not wrong, "\n".join(wrong)


def test_deploy_imports_no_application():
    """Issue 28, move 4: the arrow between deploy/ and the applications turned. deploy/ (floor 4) sits below lm/,
    forecast/ and classify/ and imports none of them, nor api, lab or cli: each application hands its export
    adapter down (``deploy.adapters.register_adapter``, from its package's ``__init__``)."""
    above = ("lm", "forecast", "classify", "api", "lab", "cli")
    found = [f"{rel}: imports gatedrnn.{target}" for _, rel, tree in _modules() if _room(rel) == "deploy"
             for target, _ in _imports(tree) if target in above]
    assert not found, "\n".join(found)
    assert all(FLOORS["deploy"] < FLOORS[room] for room in above)


def test_no_import_circles_between_modules():
    graph = {}
    for path, rel, tree in _modules():
        name = ".".join(("gatedrnn",) + rel.with_suffix("").parts).removesuffix(".__init__")
        deps = set()
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gatedrnn") and node.level == 0:
                deps.add(node.module)
        graph[name] = deps
    state = {}

    def visit(n, trail):
        if state.get(n) == "done":
            return
        assert state.get(n) != "open", "import circle: " + " -> ".join(trail + [n])
        state[n] = "open"
        for d in graph.get(n, ()):
            if d != n:
                visit(d, trail + [n])
        state[n] = "done"

    for n in graph:
        visit(n, [])


def test_no_cli_module_imports_another():
    for _, rel, tree in _modules():
        if _room(rel) == "cli" and rel.name not in ("__init__.py", "__main__.py"):
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module:
                    assert not node.module.startswith("gatedrnn.cli"), f"{rel} imports {node.module}"


def _calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            yield (f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)), node


def test_one_training_loop():
    """No optimizer step and no clipping outside train/ and optim/; no RecordingTrainer."""
    wrong = []
    for path, rel, tree in _modules():
        if _room(rel) in ("train", "optim"):
            continue
        for name, node in _calls(tree):
            if name == "clip_grad_norm" or (name == "step" and not node.args and not node.keywords):
                wrong.append(f"{rel}:{node.lineno} {name}()")
        assert "RecordingTrainer" not in path.read_text(), rel
    assert not wrong, wrong


def test_configs_and_applications_in_their_rooms():
    assert not (SRC / "lab" / "forecast.py").exists() and not (SRC / "models" / "presets.py").exists()
    for _, rel, tree in _modules():
        room = _room(rel)
        if room == "lab":
            assert all(t != "forecast" for t, _ in _imports(tree)), f"{rel} imports forecasting"
        if room == "models":
            classes = [n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
            assert not any(c.endswith("Config") for c in classes), f"{rel} holds a config: {classes}"


# where catching one is the point: the CLI's one funnel, numpy.load's own errors on a damaged file, and statsmodels'
# own errors for an ARIMA order it cannot fit (that order is no candidate)
CATCH_ALLOWED = {("cli/__init__.py", "main"), ("checkpoint_io.py", "_load_npz"), ("forecast/arima.py", "fit_arima")}


@pytest.mark.parametrize("room", ["train", "cli", "deploy", "lm", "forecast"])
def test_no_control_flow_by_catching_value_errors(room):
    for _, rel, tree in _modules():
        if _room(rel) != room:
            continue
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) or (rel.as_posix(), fn.name) in CATCH_ALLOWED:
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.ExceptHandler) and node.type is not None:
                    caught = ast.unparse(node.type)
                    assert "ValueError" not in caught and "UserError" not in caught, f"{rel}:{node.lineno} catches {caught}"


def test_no_pickle():
    for path, rel, tree in _modules():
        text = path.read_text()
        assert "import pickle" not in text and "allow_pickle=True" not in text, rel


# the meta.json keys that say (or, before the ``kind`` field, said) what a checkpoint is: read to decide a kind only
# by the registry of checkpoint kinds
KIND_KEYS = {"kind", "forecaster", "classifier", "series"}
KIND_REGISTRY = Path("models/io.py")


def _meta_key_reads(node):
    """(key, line) for each ``<meta>[K]``, ``<meta>.get(K)`` and ``K in <meta>`` under ``node`` (a name holding
    ``meta``), K a constant string."""
    for n in ast.walk(node):
        key, target = None, None
        if isinstance(n, ast.Subscript) and isinstance(n.slice, ast.Constant):
            key, target = n.slice.value, n.value
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "get" and n.args \
                and isinstance(n.args[0], ast.Constant):
            key, target = n.args[0].value, n.func.value
        elif isinstance(n, ast.Compare) and isinstance(n.left, ast.Constant) and \
                any(isinstance(op, (ast.In, ast.NotIn)) for op in n.ops):
            key, target = n.left.value, n.comparators[0]
        if isinstance(key, str) and target is not None and "meta" in ast.unparse(target):
            yield key, n.lineno


def test_no_meta_kind_sniffing_outside_the_registry():
    """Only gatedrnn.models.io decides what a checkpoint is: elsewhere no branch tests a meta key that names a kind
    (``if "classifier" in meta``, ``isinstance(meta.get("forecaster"), dict)``) and nothing reads ``kind`` itself;
    reading an application's own entry (``meta["forecaster"]`` in forecast/saved.py) is no sniffing."""
    wrong = []
    for _, rel, tree in _modules():
        if rel == KIND_REGISTRY:
            continue
        tests = [n.test for n in ast.walk(tree) if isinstance(n, (ast.If, ast.IfExp, ast.While, ast.Assert))]
        tests += [c for n in ast.walk(tree) if isinstance(n, ast.comprehension) for c in n.ifs]
        for test in tests:
            wrong += [f"{rel}:{line} tests meta {key!r}" for key, line in _meta_key_reads(test) if key in KIND_KEYS]
        wrong += [f"{rel}:{line} reads meta 'kind'" for key, line in _meta_key_reads(tree) if key == "kind"]
    assert not wrong, "\n".join(sorted(set(wrong)))


def test_reading_a_checkpoint_needs_no_train_package():
    """Saving and loading live in the registry (gatedrnn.models.io): outside train/ nothing takes them from
    train.checkpoint, which re-exports them for the Trainer (a run's resume may still use the folder readers)."""
    registry = {"build_model", "checkpoint_kind", "load_checkpoint", "resolve_checkpoint", "save_checkpoint"}
    wrong = []
    for _, rel, tree in _modules():
        if _room(rel) == "train":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "gatedrnn.train.checkpoint":
                wrong += [f"{rel}:{node.lineno} {a.name}" for a in node.names if a.name in registry]
    assert not wrong, wrong
