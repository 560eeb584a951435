"""``gatedrnn forecast --no-progress``: the fit's own lines (the settings search, the epochs) are left out; the
run's lines (what it read, the table or the future, what it wrote) stay."""

import numpy as np

from gatedrnn.cli import main


def test_forecast_without_progress_leaves_out_the_fit_lines(tmp_path, capsys):
    t = np.arange(60)
    (tmp_path / "s.csv").write_text("y\n" + "\n".join(f"{10 + np.sin(v / 3):.4f}" for v in t) + "\n")
    args = ["forecast", "--dataset", str(tmp_path / "s.csv"), "--column", "y", "--predict", "3", "--window", "8",
            "--hidden-size", "4", "--max-steps", "5", "--no-plot"]
    assert main([*args, "--out", str(tmp_path / "loud")]) == 0
    loud = capsys.readouterr().out
    assert main([*args, "--out", str(tmp_path / "quiet"), "--no-progress"]) == 0
    quiet = capsys.readouterr().out
    assert "epoch 1/1" in loud and "epoch" not in quiet
    assert "wrote" in quiet and "forecasting the next 3" in quiet
