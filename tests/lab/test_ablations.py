"""Ablations: forget-gate bias, gradient clipping (with the trainer's NaN stop), TBPTT length."""

import math

import pytest

from gatedrnn.errors import UserError
from gatedrnn.lab.ablations import (
    ClipConfig,
    ForgetBiasConfig,
    clipping,
    clipping_csv,
    forget_bias,
    forget_bias_table,
    plot_clipping,
    plot_forget_bias,
)
from gatedrnn.lab.tbptt import TBPTTConfig, plot_tbptt, tbptt, tbptt_csv, tbptt_table


def quiet(*a):
    pass


def has_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def test_clipping_off_ends_in_the_trainers_nan_message_and_on_survives():
    runs = clipping(ClipConfig(length=20, hidden_size=32, lr=1.0, clip=1.0, max_steps=60, test_size=50), echo=quiet)
    off, on = runs
    assert off.clip is None and off.diverged is not None
    assert off.diverged.startswith("training diverged at step") and "turn on gradient clipping" in off.diverged
    assert not math.isfinite(off.norms[-1]) or not math.isfinite(off.losses[-1])
    assert off.steps[-1] < 60
    assert on.clip == 1.0 and on.diverged is None and len(on.steps) == 60
    assert on.val_loss is not None and math.isfinite(on.val_loss) and max(on.norms) < 1e3
    csv = clipping_csv(runs).splitlines()
    assert csv[0] == "run,step,loss,grad_norm" and len(csv) == 1 + len(off.steps) + 60


def test_clipping_plot(tmp_path):
    pytest.importorskip("matplotlib", reason="plots need matplotlib")
    runs = clipping(ClipConfig(length=20, hidden_size=32, lr=2.0, max_steps=30, test_size=20), echo=quiet)
    assert plot_clipping(runs, tmp_path / "c.png", "t", echo=quiet)
    assert (tmp_path / "c.png").stat().st_size > 1000


def test_clipping_needs_a_threshold():
    with pytest.raises(UserError, match="^clip: expected a finite positive number, got 0"):
        clipping(ClipConfig(clip=0), echo=quiet)


def test_forget_bias_ablation_runs_and_tabulates(tmp_path):
    cfg = ForgetBiasConfig(length=10, hidden_size=16, max_steps=100, lr=1e-2, eval_every=50, test_size=50, target=0.05,
                           bias=[0.0, 1.0], seeds=[0, 1])
    runs = forget_bias(cfg, echo=quiet)
    assert [(b, s) for _, b, s, _ in runs] == [(0.0, 0), (1.0, 0), (0.0, 1), (1.0, 1)]
    assert all(r.config.cell == "lstm" and r.config.forget_bias == b for _, b, _, r in runs)
    table = forget_bias_table(runs)
    assert "bias 0: steps to target" in table and "bias 1: steps to target" in table
    assert "\nmean " in table and "reached the target first in" in table and "of 2 seeds" in table
    if has_matplotlib():
        assert plot_forget_bias(runs, tmp_path / "f.png", "t", echo=quiet)
    assert all(type(r.config).__name__ == "TaskConfig" and r.config.seed == s for _, _, s, r in runs)
    with pytest.raises(UserError, match="^target"):
        forget_bias(ForgetBiasConfig(target=None), echo=quiet)
    with pytest.raises(UserError, match="^bias: expected one or more values"):
        ForgetBiasConfig(bias=[]).validate()


def test_tbptt_memory_grows_with_the_window(tmp_path):
    from gatedrnn.data.corpus import load_text
    from gatedrnn.data.synthetic import toy_sentences

    (tmp_path / "toy.txt").write_text(toy_sentences(20_000, seed=0))
    corpus = load_text(tmp_path / "toy.txt", "char")
    runs = tbptt(corpus, TBPTTConfig(lengths=[5, 20], tokens=2_000, batch_size=4, embed_size=8, hidden_size=16, lr=1.0),
                 echo=quiet)
    short, long_ = runs
    assert (short.steps, long_.steps) == (100, 25) and short.tokens == long_.tokens == 2_000
    assert long_.peak_bytes > short.peak_bytes > 0
    assert all(math.isfinite(r.val_ppl) and 1 < r.val_ppl < len(corpus.vocab) * 2 for r in runs)
    assert "peak step memory" in tbptt_table(runs)
    assert tbptt_csv(runs).splitlines()[0] == "time_size,steps,tokens,peak_bytes,val_ppl,seconds"
    if has_matplotlib():
        assert plot_tbptt(runs, tmp_path / "t.png", "t", echo=quiet)


def test_tbptt_same_steps_option(tmp_path):
    from gatedrnn.data.corpus import load_text
    from gatedrnn.data.synthetic import toy_sentences

    (tmp_path / "toy.txt").write_text(toy_sentences(10_000, seed=1))
    corpus = load_text(tmp_path / "toy.txt", "char")
    runs = tbptt(corpus, TBPTTConfig(lengths=[4, 8], max_steps=3, batch_size=2, embed_size=4, hidden_size=8, lr=1.0),
                 echo=quiet)
    assert [(r.steps, r.tokens) for r in runs] == [(3, 24), (3, 48)]
    with pytest.raises(UserError, match="^max_steps: expected a positive integer or None, got 0"):
        tbptt(corpus, TBPTTConfig(lengths=[4], max_steps=0), echo=quiet)
    with pytest.raises(UserError, match="^lengths: expected a positive integer, got 0"):
        tbptt(corpus, TBPTTConfig(lengths=[0]), echo=quiet)
