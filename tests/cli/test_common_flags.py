"""Every command takes the same common flags (issue 28 item 6): ``--no-progress`` on every sub-command (added by
``gatedrnn.cli.add_common_flags`` where the command does not declare it), and ``gatedrnn classify --no-progress``
prints the results table alone."""

import numpy as np
import pytest

from gatedrnn.cli import COMMON_FLAGS, build_parser, main


def _commands():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sub.choices


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_command_takes_the_common_flags(name):
    options = _commands()[name]._option_string_actions
    for flags, _ in COMMON_FLAGS:
        assert any(f in options for f in flags), f"gatedrnn {name} lacks {flags}"


def _toy_dataset(tmp_path) -> str:
    rng = np.random.default_rng(0)
    head = "@problemName Toy\n@univariate false\n@dimensions 2\n@equalLength false\n@classLabel true down up\n@data\n"
    for split, n in (("TRAIN", 30), ("TEST", 10)):
        lines = []
        for _ in range(n):
            x = rng.standard_normal((int(rng.integers(3, 9)), 2))
            label = "up" if x[:, 0].sum() > 0 else "down"
            lines.append(":".join(",".join(f"{v:.5f}" for v in x[:, d]) for d in range(2)) + f":{label}")
        (tmp_path / f"Toy_{split}.ts").write_text(head + "\n".join(lines) + "\n")
    return str(tmp_path / "Toy")


def test_classify_without_progress_prints_the_table_alone(tmp_path, capsys):
    args = ["classify", "--dataset", _toy_dataset(tmp_path), "--cell", "gru", "--seeds", "1", "--hidden-size", "4",
            "--max-steps", "6", "--no-select", "--no-baselines"]
    assert main(args) == 0
    loud = capsys.readouterr().out
    assert main([*args, "--no-progress"]) == 0
    quiet = capsys.readouterr().out
    assert "gru seed 0: fitted" in loud and "fitted" not in quiet and "test set:" not in quiet
    assert "Toy: test accuracy (%)" in quiet and quiet.strip() in loud
