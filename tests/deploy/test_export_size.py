"""`gatedrnn export --c` prints the compressed size of what it writes: float32 values, or one byte each with --int8
(issue 27 item 2: the compressed model's size in bytes, printed by export)."""

from gatedrnn.cli import main


def _size(out: str) -> tuple[int, str]:
    (line,) = [x for x in out.splitlines() if x.startswith("compressed size: ")]
    return int(line.split()[2].replace(",", "")), line


def test_export_prints_the_int8_size_as_one_byte_a_value(tmp_path, rng, capsys, no_aeon, toy_classes):
    splits = {split: toy_classes.by_offset(n, rng, 12, 2) for split, n in (("TRAIN", 24), ("TEST", 12))}
    prefix = toy_classes.write_ts(tmp_path, splits, ("a", "b"))
    assert main(["classify", "--dataset", prefix, "--cell", "fastgrnn", "--seeds", "1", "--hidden-size", "8",
                 "--max-steps", "4", "--no-select", "--out", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    assert main(["export", str(tmp_path / "run" / "fastgrnn"), "--c", str(tmp_path / "f32")]) == 0
    f32, line32 = _size(capsys.readouterr().out)
    assert main(["export", str(tmp_path / "run" / "fastgrnn"), "--c", str(tmp_path / "i8"), "--int8"]) == 0
    i8, line8 = _size(capsys.readouterr().out)
    assert "float32 weights" in line32 and "int8 weights" in line8
    assert i8 * 4 == f32


def test_the_onnx_export_prints_the_compressed_size_too(tmp_path, rng, capsys, no_aeon, toy_classes):
    import pytest
    pytest.importorskip("onnx", reason="the ONNX export needs onnx")
    splits = {split: toy_classes.by_offset(n, rng, 12, 2) for split, n in (("TRAIN", 24), ("TEST", 12))}
    prefix = toy_classes.write_ts(tmp_path, splits, ("a", "b"))
    args = ["classify", "--dataset", prefix, "--cell", "fastgrnn", "--seeds", "1", "--hidden-size", "8",
            "--max-steps", "4", "--no-select", "--density", "0.3", "--out", str(tmp_path / "run")]
    assert main(args) == 0
    capsys.readouterr()
    assert main(["export", str(tmp_path / "run" / "fastgrnn"), "--c", str(tmp_path / "c")]) == 0
    c_size, _ = _size(capsys.readouterr().out)
    assert main(["export", str(tmp_path / "run" / "fastgrnn"), "--onnx", str(tmp_path / "m.onnx")]) == 0
    onnx_size, line = _size(capsys.readouterr().out)
    assert onnx_size == c_size and "ONNX file holds them dense" in line
