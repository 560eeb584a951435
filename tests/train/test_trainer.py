import json

import numpy as np
import pytest

from gatedrnn.data.batching import TBPTTBatches
from gatedrnn.layers import MSE, SoftmaxCrossEntropy
from gatedrnn.models import LanguageModel, SequenceRegressor
from gatedrnn.optim import SGD, Adam, Momentum, make_schedule
from gatedrnn.train.checkpoint import load_checkpoint
from gatedrnn.train.state import model_generators
from gatedrnn.train.trainer import Trainer, TrainingDiverged

V = 30


def _data():
    rng = np.random.default_rng(1)
    ids = rng.integers(0, V, 1200).astype(np.int32)
    return TBPTTBatches(ids, 4, 8, drop_last=True), TBPTTBatches(ids[:300], 2, 8)


def _trainer(out_dir, loss=None, **kw):
    """A tiny 2-layer LSTM LM with dropout (so random generators matter), momentum, plateau schedule, clipping."""
    train, valid = _data()
    model = LanguageModel(V, 8, 12, 2, dropout=0.3, seed=0)
    opt = Momentum(model.params, model.grads, lr=0.5, momentum=0.9)
    sched = make_schedule("plateau", opt, factor=2.0)
    return Trainer(model, loss or SoftmaxCrossEntropy(), opt, train_data=train, valid_data=valid, clip=1.0,
                   schedule=sched, epochs=3, out_dir=out_dir, checkpoint_every=7, log_every=5,
                   perplexity=True, plot=False, **kw)


def _weights(model):
    return model.state_dict()


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    tr = _trainer(tmp_path_factory.mktemp("full"))
    summary = tr.fit()
    return tr, summary


def test_fit_reports_and_logs(uninterrupted):
    tr, summary = uninterrupted
    n = len(_data()[0])
    assert summary["stopped"] == "done" and summary["step"] == 3 * n and summary["epoch"] == 3
    assert summary["val_ppl"] == pytest.approx(np.exp(summary["val_loss"]))
    events = [json.loads(line) for line in (tr.out_dir / "log.jsonl").read_text().splitlines()]
    epochs = [e for e in events if e["event"] == "epoch"]
    steps = [e for e in events if e["event"] == "step"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3] and all("val_ppl" in e and "train_ppl" in e for e in epochs)
    assert steps and all({"grad_norm", "lr", "tok_per_s", "ppl"} <= set(e) for e in steps)
    model, meta, extra = load_checkpoint(tr.out_dir / "last")
    assert meta["trainer"]["step"] == 3 * n and meta["schedule"]["name"] == "plateau"
    assert any(k.startswith("optim.v.") for k in extra)  # momentum slots saved
    assert len(meta["rng"]["model"]) == len(model_generators(tr.model)) == 3  # dropout in, between layers, out


@pytest.mark.parametrize("where", ["mid_epoch", "epoch_end", "second_epoch"])
def test_resume_equals_uninterrupted(uninterrupted, tmp_path, where):
    full, _ = uninterrupted
    n = len(_data()[0])
    stop = {"mid_epoch": n // 2 + 1, "epoch_end": n, "second_epoch": n + 5}[where]
    first = _trainer(tmp_path, max_steps=stop)
    s1 = first.fit()
    assert s1["stopped"] == "max_steps" and s1["step"] == stop and "val_loss" in s1
    resumed = _trainer(tmp_path)  # fresh objects, as in a new process
    resumed.load(tmp_path / "last")
    assert resumed.step == stop
    resumed.fit()
    for k, v in _weights(full.model).items():
        np.testing.assert_array_equal(_weights(resumed.model)[k], v, err_msg=k)
    assert resumed.optimizer.lr == full.optimizer.lr
    assert [h["val_loss"] for h in resumed.history] == [h["val_loss"] for h in full.history]


def test_interrupt_saves_a_resumable_checkpoint(uninterrupted, tmp_path):
    """Ctrl-C sets a flag; the trainer finishes the step, saves last/ and raises KeyboardInterrupt."""
    full, _ = uninterrupted
    holder = {}

    class InterruptAt(SoftmaxCrossEntropy):
        calls = 0

        def forward(self, y, t, mask=None):
            InterruptAt.calls += 1
            if InterruptAt.calls == 23:
                holder["trainer"]._stop_requested = True
            return super().forward(y, t, mask)

    tr = _trainer(tmp_path, loss=InterruptAt())
    holder["trainer"] = tr
    with pytest.raises(KeyboardInterrupt):
        tr.fit()
    resumed = _trainer(tmp_path)
    resumed.load(tmp_path / "last")
    assert resumed.step == 23
    resumed.fit()
    for k, v in _weights(full.model).items():
        np.testing.assert_array_equal(_weights(resumed.model)[k], v, err_msg=k)


def test_nan_loss_stops_on_that_step_and_keeps_last_good_checkpoint(tmp_path):
    class NaNAt(SoftmaxCrossEntropy):
        calls = 0

        def forward(self, y, t, mask=None):
            loss = super().forward(y, t, mask)
            NaNAt.calls += 1
            return float("nan") if NaNAt.calls == 12 else loss

    tr = _trainer(tmp_path, loss=NaNAt())
    with pytest.raises(TrainingDiverged) as exc:
        tr.fit()
    msg = str(exc.value)
    assert "\n" not in msg and "step 12" in msg and "gradient norm" in msg and "learning rate" in msg
    assert "kept at" in msg and str(tmp_path / "last") in msg and exc.value.step == 12
    assert isinstance(exc.value, ValueError)
    model, meta, _ = load_checkpoint(tmp_path / "last")
    assert meta["trainer"]["step"] == 7  # the checkpoint before the bad step, untouched
    assert all(np.isfinite(v).all() for v in model.state_dict().values())
    events = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert events[-1]["event"] == "diverged" and events[-1]["step"] == 12


def test_exploding_regression_without_clipping_is_caught():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 10, 1)).astype(np.float32)
    Y = 10 * X.sum(axis=1)
    m = SequenceRegressor(1, 16, 1, cell="rnn", many_to_one=True, seed=0)
    tr = Trainer(m, MSE(), SGD(m.params, m.grads, lr=1.0), carry_state=False, epochs=50,
                 train_data=[(X[i:i + 16], Y[i:i + 16]) for i in range(0, 64, 16)])
    with pytest.raises(TrainingDiverged, match=r"training diverged at step \d+ .*gradient norm .*turn on gradient "
                                               r"clipping .*or lower the learning rate; no checkpoint"):
        tr.fit()


def test_regression_with_mse_and_a_callable_data_source(tmp_path):
    """The usage shown in trainer.py's docstring: independent windows, reshuffled per epoch, MSE."""
    wave = np.sin(np.linspace(0, 20, 200, dtype=np.float32))
    X = np.stack([wave[i:i + 8] for i in range(190)])[..., None]
    Y = wave[8:198, None]

    def batches(epoch):
        order = np.random.default_rng([0, epoch]).permutation(len(X))
        return [(X[order[i:i + 32]], Y[order[i:i + 32]]) for i in range(0, len(X), 32)]

    model = SequenceRegressor(1, 16, 1, many_to_one=True, seed=0)
    tr = Trainer(model, MSE(), Adam(model.params, model.grads, lr=0.01), clip=1.0, train_data=batches,
                 valid_data=[(X[:64], Y[:64])], carry_state=False, epochs=12, out_dir=tmp_path)
    summary = tr.fit()
    assert "val_ppl" not in summary and summary["val_loss"] < 0.02
    assert tr.history[-1]["train_loss"] < tr.history[0]["train_loss"] / 5
    assert (tmp_path / "best" / "model.npz").is_file()
    if pytest.importorskip("matplotlib", reason="curves.png needs matplotlib"):
        assert (tmp_path / "curves.png").stat().st_size > 1000


def test_load_rejects_a_foreign_checkpoint(tmp_path):
    from gatedrnn.train.checkpoint import save_checkpoint

    tr = _trainer(tmp_path / "run")
    save_checkpoint(tmp_path / "plain", tr.model)
    with pytest.raises(ValueError, match="expected a training checkpoint"):
        tr.load(tmp_path / "plain")
    with pytest.raises(FileNotFoundError, match="expected a directory with meta.json"):
        tr.load(tmp_path / "missing")
