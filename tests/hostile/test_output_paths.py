"""Never write over what the user gave (issue 20, section 3): every output path of `gatedrnn forecast` and
`gatedrnn classify` goes through ``gatedrnn.output_paths.check_output`` or the run folder's checks. An output that
names an input, a file of the run's own checkpoint, a special file (a FIFO, a link to /dev/null) is refused in one
line; an existing file the command did not write is refused unless --overwrite; a file an earlier run wrote may be
written again."""

from __future__ import annotations

import importlib.util
import os
import socket
import stat
from pathlib import Path

import numpy as np
import pytest

from gatedrnn.cli import main

HAS_MPL = importlib.util.find_spec("matplotlib") is not None
need_mpl = pytest.mark.skipif(not HAS_MPL, reason="the figure needs matplotlib")


def write_series(folder: Path, name: str = "s.csv") -> Path:
    p = folder / name
    p.write_text("t,value\n" + "".join(f"{i},{10 + 3 * np.sin(i / 2):.4f}\n" for i in range(60)))
    return p


def forecast(tiny, csv: Path, *more) -> list:
    return ["forecast", "--dataset", str(csv), "--column", "value", "--window", "8", "--no-arima", "--baselines",
            "naive", *tiny.fit, *more]


def one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err and "\n" not in err and "Traceback" not in err, err
    return err


@need_mpl
def test_figure_onto_the_input_csv_is_refused(tmp_path, capsys, tiny):
    csv = write_series(tmp_path)
    before = csv.read_bytes()
    assert main(forecast(tiny, csv, "--out", str(tmp_path / "run"), "--figure", str(csv))) == 2
    assert "input" in one_line(capsys)
    assert csv.read_bytes() == before
    link = tmp_path / "again.csv"
    os.link(csv, link)                              # the same file under another name
    assert main(forecast(tiny, link, "--out", str(tmp_path / "run"), "--figure", str(csv), "--overwrite")) == 2
    one_line(capsys)
    assert csv.read_bytes() == before


@need_mpl
def test_figure_into_the_runs_own_checkpoint_is_refused(tmp_path, capsys, tiny):
    csv = write_series(tmp_path)
    out = tmp_path / "run"
    assert main(forecast(tiny, csv, "--out", str(out))) == 0
    meta = (out / "model" / "meta.json").read_bytes()
    capsys.readouterr()
    for target in (out / "model" / "meta.json", out / "model" / "plot.png", out / "results.json"):
        assert main(forecast(tiny, csv, "--out", str(out), "--figure", str(target), "--overwrite")) == 2, target
        one_line(capsys)
    assert (out / "model" / "meta.json").read_bytes() == meta
    assert "rows" in (out / "results.json").read_text()


@need_mpl
def test_special_files_are_never_replaced(tmp_path, capsys, tiny):
    csv = write_series(tmp_path)
    fifo, null = tmp_path / "fifo", tmp_path / "null.png"
    os.mkfifo(fifo)
    null.symlink_to(os.devnull)
    for target in (fifo, null):
        for extra in ([], ["--overwrite"]):
            assert main(forecast(tiny, csv, "--out", str(tmp_path / "run"), "--figure", str(target), *extra)) == 2
            assert "special file" in one_line(capsys)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and null.is_symlink()
    assert main(forecast(tiny, csv, "--out", str(fifo))) == 2            # --out itself
    one_line(capsys)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@need_mpl
def test_an_existing_file_needs_overwrite_once_then_the_run_knows_it(tmp_path, capsys, tiny):
    csv = write_series(tmp_path)
    mine = tmp_path / "mine.png"
    mine.write_bytes(b"my own picture")
    out = str(tmp_path / "run")
    assert main(forecast(tiny, csv, "--out", out, "--figure", str(mine))) == 2
    assert "--overwrite" in one_line(capsys)
    assert mine.read_bytes() == b"my own picture"
    assert main(forecast(tiny, csv, "--out", out, "--figure", str(mine), "--overwrite")) == 0
    assert mine.read_bytes().startswith(b"\x89PNG")
    assert main(forecast(tiny, csv, "--out", out, "--figure", str(mine), "--seed", "2")) == 0   # its own figure now
    assert not (Path(out) / "forecast.png").exists()


def test_predict_never_replaces_its_own_input(tmp_path, capsys, tiny):
    """Forecasting from the future.csv of an earlier --predict run into the same folder would replace the input."""
    csv = write_series(tmp_path)
    out = tmp_path / "run"
    assert main(forecast(tiny, csv, "--out", str(out), "--predict", "4", "--no-plot")) == 0
    before = (out / "future.csv").read_bytes()
    capsys.readouterr()
    assert main(["forecast", "--dataset", str(out / "future.csv"), "--column", "y_hat", "--predict", "2",
                 "--window", "2", "--no-plot", *tiny.fit, "--out", str(out)]) == 2
    assert "input" in one_line(capsys)
    assert (out / "future.csv").read_bytes() == before


def test_classify_into_the_data_folder_is_refused(tmp_path, capsys, tiny, toy_classes):
    rng = np.random.default_rng(0)
    labels = ["a" if k % 2 else "b" for k in range(8)]
    splits = {split: ([rng.standard_normal(5) for _ in range(8)], labels) for split in ("TRAIN", "TEST")}
    toy_classes.write_ts(tmp_path, splits, ("a", "b"), digits=3, equal_length=False)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["classify", "--dataset", str(tmp_path / "Toy"), "--cell", "lstm", "--seeds", "1", "--no-baselines",
                 *tiny.fit, "--out", str(tmp_path)]) == 2
    assert "Toy_TEST.ts" in one_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_check_output_rules(tmp_path):
    from gatedrnn.errors import UserError
    from gatedrnn.output_paths import check_output

    data, ck = tmp_path / "data.csv", tmp_path / "run" / "model"
    data.write_text("x\n1\n")
    ck.mkdir(parents=True)
    (ck / "meta.json").write_text("{}")
    old = tmp_path / "old.png"
    old.write_bytes(b"png")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "s.sock"))
    refused = [(tmp_path / "s.sock", {}), (Path(os.devnull), {"overwrite": True}), (tmp_path, {"overwrite": True}),
               (data, {"inputs": [str(data)], "overwrite": True}),
               (tmp_path / "." / "data.csv", {"inputs": [data], "overwrite": True}),
               (ck / "meta.json", {"protected": [ck], "overwrite": True}), (ck / "new.png", {"protected": [ck]}),
               (old, {})]
    try:
        for path, kw in refused:
            with pytest.raises(UserError) as e:
                check_output(path, flag="--x", **kw)
            assert "\n" not in str(e.value) and str(e.value).startswith("--x "), (path, kw)
    finally:
        sock.close()
    assert check_output(old, overwrite=True) == old
    assert check_output(old, written=[str(old)]) == old
    assert check_output(tmp_path / "new.png", inputs=[data], protected=[ck]) == tmp_path / "new.png"
