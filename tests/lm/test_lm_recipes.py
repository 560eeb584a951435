"""Issue 25: the classic PTB recipes from the command line. ``--init uniform --init-scale S`` draws every parameter,
biases included, in +-S; the plateau warning names a model stuck on the word frequencies; the recipes under
examples/ are data that load into the presets' configs."""

from pathlib import Path

import numpy as np
import pytest

from gatedrnn.cli import main
from gatedrnn.lm.build import build_language_model
from gatedrnn.lm.plateau import PlateauWarning, check_step, unigram_perplexity
from gatedrnn.lm.presets import preset_config
from gatedrnn.lm.run import make_run_config
from gatedrnn.train.checkpoint import load_checkpoint

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
pytestmark = pytest.mark.toy(3000)


def _params(model):
    return [np.asarray(a) for a in model.params]


@pytest.mark.parametrize("preset", ["small", "medium"])
def test_init_uniform_draws_every_parameter_in_range(preset):
    cfg = make_run_config(preset=preset, flags={"init": "uniform", "init_scale": 0.1, "embed_size": 24,
                                                "hidden_size": 24})
    assert cfg.output_bias is None and cfg.forget_bias is None and cfg.input_gain == 1.0   # the preset's dropped
    model = build_language_model(cfg, 300, train_ids=np.arange(300))
    for a in _params(model):
        assert np.abs(a).max() <= 0.1 and np.abs(a).max() > 0.08 and a.std() > 0.04   # uniform, biases included
    forget = model.rnn.layers[0].b_ih[24:48]                                          # LSTM order i, f, g, o
    assert not np.allclose(forget, 1.0) and not np.allclose(model.out.b, model.out.b.mean())
    again = build_language_model(cfg, 300)
    assert all(np.array_equal(a, b) for a, b in zip(_params(model), _params(again)))  # the seed fixes the draw


def test_explicit_biases_win_over_the_draw():
    cfg = preset_config("small", init="uniform", forget_bias=1.0, output_bias="zero", hidden_size=8, embed_size=8)
    model = build_language_model(cfg, 50)
    assert np.all(model.rnn.layers[0].b_ih[8:16] == 1.0) and not model.out.b.any()
    unigram = build_language_model(preset_config("small", init="uniform", output_bias="unigram", hidden_size=8,
                                               embed_size=8), 50, train_ids=[0, 0, 1])
    assert unigram.out.b[0] > unigram.out.b[1] > unigram.out.b[2]


def test_init_scale_without_init_uniform_is_one_line(toy, tmp_path, capsys, tiny):
    assert main(["train", "--corpus", str(toy), "--init-scale", "0.1", "--out", str(tmp_path / "r"), *tiny.lm_shape]) == 2
    err = capsys.readouterr().err
    assert "init_scale: expected init 'uniform'" in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


def test_the_plateau_warning_names_a_stalled_run(toy, tmp_path, capsys, tiny):
    """lr 1e-6: the model stays at its start, the unigram output bias, so the warning fires at its step."""
    out = tmp_path / "stall"
    assert main(["train", "--corpus", str(toy), "--lr", "1e-6", "--epochs", "1", "--out", str(out), "--hidden-size",
                 "8", "--embed-size", "8", *tiny.lm_shape]) == 0
    text = capsys.readouterr().out
    assert text.count("unigram plateau") == 1 and "--init uniform --init-scale 0.1" in text


def test_the_plateau_warning_is_quiet_for_a_learning_run():
    class Echo:
        lines: list = []

        def echo(self, text):
            self.lines.append(text)

    cb, trainer = PlateauWarning(unigram=100.0, at_step=60), Echo()
    for step in range(1, 80):
        cb.on_step_end(trainer, {"step": step, "loss": np.log(100.0) - 0.01 * step})   # falling below log(100)
    assert not cb.warned and not trainer.lines
    stuck = PlateauWarning(unigram=100.0, at_step=60)
    for step in range(1, 80):
        stuck.on_step_end(trainer, {"step": step, "loss": np.log(97.0)})
    assert stuck.warned and len(trainer.lines) == 1
    assert check_step(2323) == 232 and check_step(100_000) == 500 and check_step(3) == 1
    assert unigram_perplexity([0, 1, 2, 3], 10) == pytest.approx(4.0)


@pytest.mark.parametrize("name, preset, changes", [
    ("ptb_small", "small", {}),
    ("ptb_medium", "medium", {}),
    ("ptb_zaremba_small", "small", dict(embed_size=200, hidden_size=200, num_layers=2, init="uniform", init_scale=0.1,
                                        schedule="step", step_start=4, step_size=1, step_factor=0.5, epochs=13,
                                        time_size=20)),
])
def test_the_example_recipes_are_the_presets_configs(name, preset, changes, toy, tmp_path, capsys, tiny):
    path = EXAMPLES / f"{name}.toml"
    assert make_run_config(config_file=path) == preset_config(preset, **changes)
    small = ["--corpus", str(toy), "--max-steps", "20", "--embed-size", "16", "--hidden-size", "16", *tiny.lm_shape]
    for i, source in enumerate((["--config", str(path)], ["--preset", preset] + _flags(changes))):
        assert main(["train", *source, *small, "--out", str(tmp_path / str(i))]) == 0
    capsys.readouterr()
    a, b = (load_checkpoint(tmp_path / str(i) / "last")[0] for i in (0, 1))
    assert all(np.array_equal(x, y) for x, y in zip(_params(a), _params(b)))


def _flags(changes: dict) -> list:
    out = []
    for k, v in changes.items():
        if k not in ("embed_size", "hidden_size"):
            out += [f"--{k.replace('_', '-')}", str(v)]
    return out
