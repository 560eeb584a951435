"""The quiet core loop (issue 28, move 3): the ``Trainer`` is the loop and prints nothing; the console, the perplexity
report and MPI sit behind narrow interfaces (``train/console.py``, ``train/report.py``, ``train/parallel.py``);
callbacks declare ``root_only``; why a run stopped is a ``StopReason``; no code writes another object's private
attributes."""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path

import numpy as np
import pytest

from gatedrnn.data.batching import TBPTTBatches
from gatedrnn.errors import UserError
from gatedrnn.layers import MSE, SoftmaxCrossEntropy
from gatedrnn.models import LanguageModel, SequenceRegressor
from gatedrnn.optim import SGD
from gatedrnn.train import distributed
from gatedrnn.train.callbacks import Callback, CSVLogger, CurvesPlot, JSONLinesLogger, StepLog, TensorBoardLogger
from gatedrnn.train.console import Console, EpochLines
from gatedrnn.train.parallel import SingleProcess
from gatedrnn.train.stop import StopReason
from gatedrnn.train.trainer import Trainer

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "gatedrnn"
# what the Trainer may ask of its communicator (gatedrnn.train.parallel's docstring)
NARROW = {"is_root", "size", "attach", "share", "reduce_gradients", "agree_stop", "save", "local_state"}


def _sources():
    for path in sorted(SRC.rglob("*.py")):
        yield path.relative_to(SRC), ast.parse(path.read_text(), filename=str(path))


def _written(node):
    """The attribute targets an assignment, augmented assignment or ``setattr`` writes."""
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        targets = [node.target]
    elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setattr" and len(node.args) > 1:
        name = node.args[1]
        return [(node.args[0], name.value)] if isinstance(name, ast.Constant) and isinstance(name.value, str) else []
    else:
        return []
    out = []
    while targets:
        t = targets.pop()
        if isinstance(t, (ast.Tuple, ast.List)):
            targets.extend(t.elts)
        elif isinstance(t, ast.Starred):
            targets.append(t.value)
        elif isinstance(t, ast.Attribute):
            out.append((t.value, t.attr))
    return out


def test_no_code_writes_a_private_attribute_of_another_object():
    """``obj._x = ...`` only on ``self``/``cls``: MPI no longer sets ``trainer._stop_requested`` nor swaps the
    trainer's state during a save; every object keeps its own insides."""
    wrong = []
    for rel, tree in _sources():
        for node in ast.walk(tree):
            for owner, attr in _written(node):
                private = attr.startswith("_") and not attr.startswith("__")
                if private and not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                    wrong.append(f"{rel}:{node.lineno} {ast.unparse(owner)}.{attr}")
    assert not wrong, wrong


def test_the_ast_check_sees_the_ways_of_writing():
    code = "t._a = 1\nt._b += 1\nx, t._c = 1, 2\nsetattr(t, '_d', 3)\nself._ok = 4\nt.public = 5\n"
    found = [attr for node in ast.walk(ast.parse(code)) for owner, attr in _written(node)
             if attr.startswith("_") and ast.unparse(owner) != "self"]
    assert sorted(found) == ["_a", "_b", "_c", "_d"]


def test_the_trainer_imports_no_loss_class_and_no_mpi_module():
    tree = ast.parse((SRC / "train" / "trainer.py").read_text())
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    modules |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in modules if m.startswith(("gatedrnn.layers", "gatedrnn.train.distributed", "mpi4py"))}, modules
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    assert not {n for n in names if n.endswith(("Loss", "CrossEntropy", "MSE", "Pinball"))}, names
    assert "isinstance(loss" not in (SRC / "train" / "trainer.py").read_text()


def test_root_only_replaces_the_hard_coded_list():
    assert not hasattr(distributed, "ROOT_ONLY")
    assert not [rel for rel, _ in _sources() if "ROOT_ONLY" in (SRC / rel).read_text()]
    assert Callback.root_only is False and StepLog.root_only is False
    for cls in (JSONLinesLogger, CSVLogger, TensorBoardLogger, CurvesPlot, EpochLines, Console):
        assert cls.root_only is True, cls


def test_stop_reasons_are_an_enum_and_no_reason_is_a_bare_string():
    reasons = {r.value for r in StopReason}
    wrong = []
    for rel, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare):
                consts = [c for side in [node.left, *node.comparators]
                          for c in (side.elts if isinstance(side, (ast.Tuple, ast.List, ast.Set)) else [side])]
                names = ast.unparse(node)
                if "stop" in names and any(isinstance(c, ast.Constant) and c.value in reasons for c in consts):
                    wrong.append(f"{rel}:{node.lineno} {names}")
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "stop"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                wrong.append(f"{rel}:{node.lineno} {ast.unparse(node)}")
    assert not wrong, wrong
    assert StopReason.MAX_STEPS == "max_steps" and f"{StopReason.TIME_LIMIT}" == "time_limit"
    assert json.dumps({"stopped": StopReason.EARLY_STOPPING}) == '{"stopped": "early_stopping"}'


def _lm(tmp_path=None, **kw):
    ids = np.random.default_rng(0).integers(0, 12, size=600)
    model = LanguageModel(12, 6, 8, seed=0)
    return Trainer(model, SoftmaxCrossEntropy(), SGD(model.params, model.grads, lr=1.0),
                   train_data=TBPTTBatches(ids, 4, 10, drop_last=True), valid_data=TBPTTBatches(ids[:200], 2, 10),
                   out_dir=tmp_path, plot=False, log_every=3, **kw)


def test_the_trainer_is_quiet_by_default_and_the_console_is_a_callback(tmp_path, capsys):
    assert "progress" not in inspect.signature(Trainer).parameters
    summary = _lm(tmp_path / "a", epochs=2).fit()
    _lm(tmp_path / "b", epochs=2, max_steps=20).fit()
    assert capsys.readouterr() == ("", "") and summary["stopped"] is StopReason.DONE
    assert "val_ppl" not in summary                          # a perplexity is asked for, not read off the loss class

    _lm(tmp_path / "c", epochs=2, max_steps=20, perplexity=True, callbacks=[EpochLines()]).fit()
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("epoch 1/2  step 14  train ppl ") and "valid ppl" in out[0]
    assert out[1].startswith("stopped after step 20 (max_steps): validation ppl ") and len(out) == 2

    _lm(tmp_path / "d", epochs=1, perplexity=True, callbacks=[Console()]).fit()
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines if line.startswith("step ")] == ["3/14", "6/14", "9/14", "12/14"]
    assert "tok/s" in lines[0] and lines[-1].startswith("epoch 1/1")


def test_the_log_keeps_its_records_without_a_console(tmp_path):
    _lm(tmp_path, epochs=1, max_steps=7, perplexity=True).fit()
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    steps = [r for r in records if r["event"] == "step"]
    assert [r["step"] for r in steps] == [3, 6] and all("tok_per_s" in r and "ppl" in r for r in steps)
    assert records[-1]["event"] == "stop" and records[-1]["reason"] == "max_steps"


class _Recording(SingleProcess):
    """A communicator that records what is asked of it; ``root`` False plays a rank other than 0."""

    def __init__(self, root: bool):
        self.root, self.asked = root, set()

    def __getattribute__(self, name):
        if not name.startswith("_") and name not in ("root", "asked"):
            object.__getattribute__(self, "asked").add(name)
        if name == "is_root":
            return object.__getattribute__(self, "root")
        return object.__getattribute__(self, name)


class _Hooks(Callback):
    def __init__(self, root_only: bool):
        self.root_only, self.calls = root_only, 0

    def on_step_end(self, trainer, logs):
        self.calls += 1


@pytest.mark.parametrize("root", [True, False])
def test_the_trainer_asks_its_communicator_only_the_narrow_interface(tmp_path, root, capsys):
    comm = _Recording(root)
    writer, everyone = _Hooks(root_only=True), _Hooks(root_only=False)
    tr = _lm(tmp_path, epochs=1, max_steps=5, comm=comm, callbacks=[writer, everyone, Console()], echo=print)
    tr.fit()
    tr.load(tmp_path / "last")
    assert comm.asked <= NARROW, comm.asked - NARROW
    assert everyone.calls == 5 and writer.calls == (5 if root else 0)
    assert bool(capsys.readouterr().out) is root                # the console and echo: rank 0 only


def test_a_stop_reason_is_checked():
    tr = _lm(epochs=1)
    with pytest.raises(UserError, match=r"Trainer.stop reason: expected one of 'done', .* got 'bored'"):
        tr.stop("bored")
    tr.stop("time_limit")
    assert tr.stop_reason is StopReason.TIME_LIMIT


def test_regression_reports_its_loss_and_targets_per_second(tmp_path):
    x = np.random.default_rng(0).standard_normal((8, 5, 2)).astype(np.float32)
    model = SequenceRegressor(2, 4, 1, many_to_one=True, seed=0)
    tr = Trainer(model, MSE(), SGD(model.params, model.grads, lr=0.1), train_data=[(x, x[:, -1, :1])] * 4,
                 carry_state=False, epochs=1, log_every=2, out_dir=tmp_path, plot=False)
    tr.fit()
    steps = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in steps if r["event"] == "step"] == [2, 4]
    assert all("targets_per_s" in r and "ppl" not in r for r in steps if r["event"] == "step")
