"""Hostile inputs for the lab and deploy commands (issue 11, items 9 (gradflow --name, export --onnx) and 11):
one line, exit status 2, nothing written outside the output folder, no traceback."""

import hashlib
import os

import pytest

from gatedrnn.cli import main
from gatedrnn.errors import UserError
from gatedrnn.lab.gradflow import GradflowConfig, run_gradflow
from gatedrnn.lab.options import check_file_stem
from gatedrnn.lab.quickstart import QuickstartConfig
from gatedrnn.lab.quickstart import run as run_quickstart
from gatedrnn.models import SequenceRegressor
from gatedrnn.train.checkpoint import save_checkpoint


def tree_hash(root) -> str:
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in sorted(os.walk(root)):
        dirnames.sort()
        for name in sorted(filenames) + [d + "/" for d in dirnames]:
            p = os.path.join(dirpath, name)
            h.update(os.path.relpath(p, root).encode())
            if os.path.isfile(p):
                with open(p, "rb") as f:
                    h.update(f.read())
    return h.hexdigest()


# -- item 9: gradflow --name must not write outside --out --------------------------------------------------------
@pytest.mark.parametrize("name", ["../../x", "../x", "..", ".", "", "a/b", "/tmp/gatedrnn-escape", "x\0y"])
def test_gradflow_name_with_a_path_is_refused_and_nothing_is_written(tmp_path, monkeypatch, name, tiny, capture_cli):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    before = tree_hash(tmp_path)
    rc, out, err = capture_cli(["gradflow", *tiny.gradflow, "--out", "out", "--name", name])
    capture_cli.assert_one_error_line(rc, err, "gradflow")
    assert "--name: expected a file name without a path separator or '..'" in err
    assert tree_hash(tmp_path) == before and not os.path.exists("/tmp/gatedrnn-escape.csv")
    assert out == ""                                                  # refused before measuring anything


def test_gradflow_plain_name_still_writes_into_out(tmp_path, tiny, capture_cli):
    rc, _, err = capture_cli(["gradflow", *tiny.gradflow, "--out", str(tmp_path / "out"), "--name", "flow..1"])
    assert rc == 0, err
    assert (tmp_path / "out" / "flow..1.csv").is_file()


def test_run_gradflow_checks_the_name_itself(tmp_path):
    with pytest.raises(UserError, match=r"^--name: expected a file name"):
        run_gradflow(GradflowConfig(cell=["rnn"], length=4, hidden_size=3), tmp_path, "../escape", echo=lambda *a: None)
    assert list(tmp_path.iterdir()) == [] and not (tmp_path.parent / "escape.csv").exists()


@pytest.mark.parametrize("name", ["x", "flow_T100", "a..b", "é"])
def test_check_file_stem_passes_plain_names(name):
    assert check_file_stem("--name", name) == name


# -- item 9: export --onnx to a folder -----------------------------------------------------------------------------
@pytest.fixture
def checkpoint(tmp_path):
    return save_checkpoint(tmp_path / "ck", SequenceRegressor(2, 3, 1, seed=0))


def test_export_to_an_existing_folder_is_refused(tmp_path, checkpoint, capture_cli):
    target = tmp_path / "out"
    target.mkdir()
    before = tree_hash(tmp_path)
    rc, _, err = capture_cli(["export", str(checkpoint), "--onnx", str(target)])
    capture_cli.assert_one_error_line(rc, err, "export")
    assert "expected a file name (e.g. model.onnx), got a folder" in err and tree_hash(tmp_path) == before


@pytest.mark.parametrize("suffix", ["/", os.sep])
def test_export_to_a_path_ending_in_a_separator_is_refused(tmp_path, checkpoint, suffix, capture_cli):
    before = tree_hash(tmp_path)
    rc, _, err = capture_cli(["export", str(checkpoint), "--onnx", str(tmp_path / "out") + suffix])
    capture_cli.assert_one_error_line(rc, err, "export")
    assert not (tmp_path / "out").exists() and tree_hash(tmp_path) == before


# -- item 11: quickstart with zero steps -------------------------------------------------------------------------
@pytest.mark.parametrize("steps", ["0", "-3"])
def test_quickstart_with_no_steps_is_refused_by_its_config(steps, capture_cli):
    rc, out, err = capture_cli(["quickstart", "--max-steps", steps])
    capture_cli.assert_one_error_line(rc, err, "quickstart")
    assert f"max_steps: expected a positive integer, got {steps}" in err and out == ""


def test_quickstart_config_refuses_zero_steps_before_running():
    with pytest.raises(UserError, match=r"^max_steps: expected a positive integer, got 0$"):
        run_quickstart(QuickstartConfig(max_steps=0), echo=lambda *a: None)


@pytest.mark.parametrize("argv", [["ablate", "clip", "--max-steps", "2", "--name", "../x"],
                                  ["ablate", "forget-bias", "--max-steps", "2", "--name", "a/b"],
                                  ["task", "adding", "--max-steps", "2", "--name", "../x"]])
def test_lab_names_with_a_path_are_refused_before_anything_runs(argv, tmp_path, capsys):
    out = tmp_path / "out"
    code = main([*argv, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--name: expected a file name" in err, err
    assert not out.exists() and not (tmp_path / "x").exists()
