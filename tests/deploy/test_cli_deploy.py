"""The forecast, stream and export commands end to end, and their one-line errors (exit status 2). (Without
statsmodels the forecast command refuses before training: tests/forecast/test_forecast.py.)"""

import io

import numpy as np
import pytest

from gatedrnn import CELLS
from gatedrnn.cli import main


@pytest.fixture
def wave_csv(tmp_path):
    t = np.arange(120)
    v = 20 + 0.1 * t + 4 * np.sin(2 * np.pi * t / 10)
    p = tmp_path / "wave.csv"
    p.write_text("t,level\n" + "".join(f"{i},{x:.4f}\n" for i, x in zip(t, v)))
    return p


@pytest.fixture
def forecaster(tmp_path, wave_csv, capsys):
    out = tmp_path / "run"
    rc = main(["forecast", "--dataset", str(wave_csv), "--column", "level", "--season", "10", "--hidden-size", "8",
               "--window", "20", "--holdout", "20", "--max-steps", "60", "--no-arima", "--out", str(out)])
    assert rc == 0
    return out, capsys.readouterr().out


def test_forecast_prints_the_table_and_writes_a_checkpoint(forecaster):
    out, text = forecaster
    assert "LSTM (8 units)" in text and "naive (last value)" in text and "seasonal naive (period 10)" in text
    assert "RMSE" in text and "MAE" in text
    assert (out / "model" / "meta.json").is_file() and (out / "results.json").is_file()


def test_stream_reads_stdin_and_prints_a_forecast_per_value(forecaster, monkeypatch, capsys):
    out, _ = forecaster
    monkeypatch.setattr("sys.stdin", io.StringIO("20.0\n# a comment\n\n24.1\n"))
    assert main(["stream", str(out)]) == 0
    header, *lines = capsys.readouterr().out.splitlines()
    assert header == "unique_id,ahead,y_hat,lo-80,hi-80,lo-95,hi-95"     # the Forecaster's horizon after each value
    assert len(lines) == 2 * 20 and all(np.isfinite([float(x) for x in line.split(",")]).all() for line in lines)
    monkeypatch.setattr("sys.stdin", io.StringIO("1\nabc\n"))
    assert main(["stream", str(out / "model")]) == 2
    err = capsys.readouterr().err
    assert "stdin line 2: expected one number per line, got 'abc'" in err


def test_stream_of_a_plain_regressor_checkpoint(tmp_path, monkeypatch, capsys):
    from gatedrnn.models import SequenceRegressor
    from gatedrnn.train.checkpoint import save_checkpoint

    model = SequenceRegressor(2, 4, 3, seed=0)
    save_checkpoint(tmp_path / "ck", model)
    monkeypatch.setattr("sys.stdin", io.StringIO("1 2\n3 4\n"))
    assert main(["stream", str(tmp_path / "ck")]) == 0
    rows = [list(map(float, line.split())) for line in capsys.readouterr().out.splitlines()]
    y, _ = model.eval().forward(np.array([[[1, 2], [3, 4]]], dtype=np.float32))
    assert np.abs(np.array(rows) - y[0]).max() < 1e-5
    monkeypatch.setattr("sys.stdin", io.StringIO("1 2 3\n"))
    assert main(["stream", str(tmp_path / "ck")]) == 2
    assert "expected 2 numbers per line (the model's input_size), got 3" in capsys.readouterr().err


def test_export_writes_onnx_and_reports_parity(forecaster, tmp_path, capsys):
    pytest.importorskip("onnx", reason="export needs the onnx extra")
    out, _ = forecaster
    target = tmp_path / "m.onnx"
    assert main(["export", str(out), "--onnx", str(target)]) == 0
    text = capsys.readouterr().out
    assert target.is_file() and "onnx.checker passed" in text
    if "max abs difference" in text:                 # onnxruntime installed
        diff = float(text.split("max abs difference ")[1].split()[0])
        assert diff < 1e-4


@pytest.mark.parametrize("body, extra, message", [
    ("t,level\n1,2\n2,\n", ["--column", "level"],
     "column 'level': expected no gaps, got missing values on line 3 (use --fill interpolate)"),
    ("t,level\n1,2\n2,x\n", ["--column", "level"], "expected a number on every row, got 'x' on line 3"),
    ("t,level\n1,2\n2,3\n", ["--column", "speed"], "expected --column to be one of ['t', 'level'], got 'speed'"),
    ("level\n" + "1\n" * 30, ["--holdout", "10", "--window", "32"],
     "too short, expected at least 44 values (34 to train on for a horizon of 10, + 10 held out), got 30"),
])
def test_forecast_bad_input_is_one_line_and_exit_2(tmp_path, capsys, body, extra, message):
    p = tmp_path / "bad.csv"
    p.write_text(body)
    rc = main(["forecast", "--dataset", str(p), "--no-arima", "--out", str(tmp_path / "o")] + extra)
    err = capsys.readouterr().err
    assert rc == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_missing_checkpoint_is_one_line(tmp_path, capsys):
    assert main(["export", str(tmp_path / "nope"), "--onnx", str(tmp_path / "m.onnx")]) == 2
    assert "expected a checkpoint folder (meta.json, model.npz)" in capsys.readouterr().err
    assert main(["stream", str(tmp_path / "nope")]) == 2
    assert "expected a checkpoint folder (meta.json, model.npz)" in capsys.readouterr().err


def test_export_refuses_to_write_into_the_checkpoint_folder(tmp_path, capsys):
    pytest.importorskip("onnx", reason="export needs the onnx extra")
    from gatedrnn.models import SequenceRegressor
    from gatedrnn.train.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "run" / "best", SequenceRegressor(2, 4, 1, seed=0))
    before = {p.name: p.read_bytes() for p in (tmp_path / "run" / "best").iterdir()}
    for target in ("run/best/model.npz", "run/best/m.onnx"):
        assert main(["export", str(tmp_path / "run"), "--onnx", str(tmp_path / target)]) == 2
        err = capsys.readouterr().err
        assert "expected a path outside the checkpoint folder" in err and err.count("\n") == 1
    assert {p.name: p.read_bytes() for p in (tmp_path / "run" / "best").iterdir()} == before
    assert main(["export", str(tmp_path / "run"), "--onnx", str(tmp_path / "run" / "m.onnx")]) == 0


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_export_with_state_follows_the_cell(cell, tmp_path, capsys):
    pytest.importorskip("onnx", reason="export needs the onnx extra")
    from gatedrnn.models import SequenceRegressor
    from gatedrnn.train.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "ck", SequenceRegressor(2, 4, 1, num_layers=2, cell=cell, seed=0))
    assert main(["export", str(tmp_path / "ck"), "--onnx", str(tmp_path / "m.onnx"), "--with-state"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"wrote {tmp_path / 'm.onnx'} (") and f"SequenceRegressor, {cell.upper()} 4 units x 2, " \
        "opset 17; onnx.checker passed" in lines[0]
    if len(lines) > 1 and "max abs difference" in lines[1]:
        assert lines[1].startswith("onnxruntime vs gatedrnn on a random input (batch 2, 16 steps): max abs difference ")
        assert float(lines[1].split("max abs difference ")[1].split()[0]) < 1e-4


def test_stream_of_a_language_model_checkpoint(tmp_path, monkeypatch, capsys):
    from gatedrnn.models import LanguageModel
    from gatedrnn.train.checkpoint import save_checkpoint

    lm = LanguageModel(12, 4, 6, 1, seed=0)
    save_checkpoint(tmp_path / "ck", lm)
    monkeypatch.setattr("sys.stdin", io.StringIO("3 5\n7\n"))
    assert main(["stream", str(tmp_path / "ck")]) == 0
    got = [int(line.split()[0]) for line in capsys.readouterr().out.splitlines()]
    logits, _ = lm.eval().forward(np.array([[3, 5, 7]]))
    assert got == logits[0].argmax(axis=-1).tolist()
    for bad in ("2.5\n", "nan\n", "12\n"):
        monkeypatch.setattr("sys.stdin", io.StringIO(bad))
        assert main(["stream", str(tmp_path / "ck")]) == 2
        assert capsys.readouterr().err.count("\n") == 1
