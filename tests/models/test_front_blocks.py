"""Stacked conv blocks of a classifier's front end (issue 24: ``conv_layers``, ``conv_norm``, ``conv_residual``;
models/front_blocks.py): gradients in float64, exact parity with the same stack written in PyTorch, the stream
equal to the forward over a whole sequence, save/load, the settings' bad input, and one block unchanged."""

import numpy as np
import pytest

from gatedrnn.classify import Classifier
from gatedrnn.classify.config import make_config
from gatedrnn.errors import UserError
from gatedrnn.models import SequenceClassifier
from gatedrnn.models.front import FrontEnd
from gatedrnn.models.stream import Stream

STACKS = [dict(conv=4, conv_kernel=3, conv_layers=2),
          dict(conv=3, conv_kernel=4, conv_layers=3, conv_norm="layer", conv_residual=True),
          dict(norm="running", conv=4, conv_kernel=5, conv_layers=2, conv_norm="layer", frame=3)]


def _ids(opts):
    return "-".join(f"{k}{v}" for k, v in opts.items())


@pytest.mark.parametrize("opts", STACKS, ids=_ids)
def test_stacked_front_gradcheck(opts, rng, classifier_gradcheck):
    report = classifier_gradcheck(opts, rng, max_checks=4)             # every error below 1e-6
    names = {name.split(".")[1] for name in report if name.startswith("front.")}
    assert f"block{opts['conv_layers'] - 1}" in names, names


def _torch_stack(torch, front):
    """The same blocks in PyTorch: Linear, a depthwise Conv1d padded k-1 on the left, LayerNorm, SiLU, residual."""
    layers = []
    for b in front.blocks:
        lin = torch.nn.Linear(b.in_size, b.channels, dtype=torch.float64)
        conv = torch.nn.Conv1d(b.channels, b.channels, b.conv.k, groups=b.channels, dtype=torch.float64)
        norm = torch.nn.LayerNorm(b.channels, dtype=torch.float64) if b.norm is not None else None
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(b.proj.W))
            lin.bias.copy_(torch.tensor(b.proj.b))
            conv.weight.copy_(torch.tensor(b.conv.weight))
            conv.bias.copy_(torch.tensor(b.conv.bias))
            if norm is not None:
                norm.weight.copy_(torch.tensor(b.norm.weight * 1.3))    # not the identity: a real check
                norm.bias.copy_(torch.tensor(b.norm.bias + 0.2))
                b.norm.weight *= 1.3
                b.norm.bias += 0.2
        layers.append((b, lin, conv, norm))

    def run(x):
        for b, lin, conv, norm in layers:
            u = lin(x).transpose(1, 2)
            c = conv(torch.nn.functional.pad(u, (b.conv.k - 1, 0))).transpose(1, 2)
            y = torch.nn.functional.silu(norm(c) if norm is not None else c)
            x = y + x if b.residual else y
        return x

    return run, [p for _, lin, conv, norm in layers for p in (lin.weight, lin.bias, conv.weight, conv.bias)
                 + ((norm.weight, norm.bias) if norm is not None else ())]


@pytest.mark.parametrize("opts", STACKS[:2], ids=_ids)
def test_stacked_front_matches_torch(opts, rng):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: pip install torch (CI installs it)")
    front = FrontEnd(2, dtype="float64", seed=3, **opts)
    run, tparams = _torch_stack(torch, front)
    x = rng.standard_normal((2, 11, 2))
    y, _ = front.forward(x)
    dy = rng.standard_normal(y.shape)
    front.backward(dy)
    xt = torch.tensor(x, requires_grad=True)
    yt = run(xt)
    yt.backward(torch.tensor(dy))
    assert np.abs(y - yt.detach().numpy()).max() < 1e-9
    ours = [gr for _, _, gr in front.named_params()]
    assert len(ours) == len(tparams)
    for mine, theirs in zip(ours, tparams):
        assert np.abs(mine - theirs.grad.numpy().reshape(mine.shape)).max() < 1e-9


@pytest.mark.parametrize("opts", STACKS, ids=_ids)
@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_stacked_stream_over_a_whole_sequence_equals_the_forward(opts, pooling, rng):
    model = SequenceClassifier(2, 8, 3, cell="gru", pooling=pooling, dtype="float32", seed=2, **opts).eval()
    x = rng.standard_normal((500, 2)).astype(np.float32)
    outs = Stream(model).run(x)
    k = opts.get("frame", 1)
    for n in (k, 7 * k + 1, 250, 500):
        want, _ = model.forward(x[None, :n])
        np.testing.assert_allclose(outs[n - 1], want[0], atol=1e-5)
    assert np.isfinite(Stream(model).input_limit) and Stream(model).input_limit > 0


def test_one_block_is_todays_front_end(rng):
    """conv_layers=1 (the default): the same parameters, names, weights and outputs as before the option."""
    a = SequenceClassifier(2, 4, 3, cell="gru", seed=5, conv=4, conv_kernel=3)
    b = SequenceClassifier(2, 4, 3, cell="gru", seed=5, conv=4, conv_kernel=3, conv_layers=1)
    assert [n for n, _, _ in a.named_params() if n.startswith("front.")] == \
        ["front.proj.weight", "front.proj.bias", "front.conv.weight", "front.conv.bias"]
    assert "conv_layers" not in a.config
    x = rng.standard_normal((2, 9, 2)).astype(np.float32)
    assert np.array_equal(a.forward(x)[0], b.forward(x)[0])


def test_stacked_classifier_saves_and_loads(tmp_path, rng):
    X = [rng.standard_normal((24, 1)) + (i % 2) for i in range(12)]
    y = [i % 2 for i in range(12)]
    clf = Classifier("gru", 4, conv=3, conv_layers=2, conv_norm="layer", conv_residual=True, max_steps=3,
                     noise=0.0).fit(X, y)
    clf.save(tmp_path / "ck")
    back = Classifier.load(tmp_path / "ck")
    assert back.options["conv_layers"] == 2 and back.options["conv_norm"] == "layer"
    np.testing.assert_array_equal(back.decision_function(X), clf.decision_function(X))


@pytest.mark.parametrize("bad, match", [
    (dict(conv=0, conv_layers=2), "conv_layers, conv_norm, conv_residual: expected conv > 0"),
    (dict(conv=3, conv_layers=0), "conv_layers: expected"),
    (dict(conv=3, conv_layers=17), r"conv_layers: expected an integer in \[1, 16\]"),
    (dict(conv=3, conv_norm="batch"), "conv_norm: expected"),
    (dict(conv=3, conv_residual="yes"), "conv_residual: expected true or false"),
])
def test_bad_block_settings_are_one_line(bad, match):
    with pytest.raises(UserError, match=match):
        Classifier("gru", 4, **bad)


def test_the_command_line_takes_the_block_flags():
    c = make_config(None, {"dataset": "x", "conv": 8, "conv_layers": 3, "conv_norm": "layer",
                           "conv_residual": True})
    o = c.model_options("gru", 0)
    assert (o["conv_layers"], o["conv_norm"], o["conv_residual"]) == (3, "layer", True)


def test_front_c_benchmark_names_the_blocks(bench_script):
    """benchmarks/front_c.py's row names a stacked front end (one plain block as before)."""
    mod = bench_script("front_c.py", "front_c_bench")
    m = SequenceClassifier(1, 4, 2, cell="gru", pooling="mean", conv=3, conv_layers=3, conv_norm="layer",
                           conv_residual=True)
    assert mod._front(m) == "conv 3x4 x3 blocks, layernorm, residual, frame 1, mean pooling"
    assert mod._front(SequenceClassifier(1, 4, 2, cell="gru", conv=3)) == "conv 3x4, frame 1, last pooling"


def test_the_command_refuses_blocks_without_channels_in_one_line(capsys):
    from gatedrnn.cli import main

    assert main(["classify", "--dataset", "nowhere", "--conv-layers", "3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "conv_layers, conv_norm, conv_residual: expected conv > 0" in err[0]
