"""The trainer's callbacks: early stopping with the best weights restored, the CSV and TensorBoard loggers, the
step recorder and the peak-memory probe."""

import csv

import numpy as np
import pytest

from gatedrnn.layers import MSE
from gatedrnn.models import SequenceRegressor
from gatedrnn.optim import Adam
from gatedrnn.train.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    PeakStepMemory,
    StepRecorder,
    TensorBoardLogger,
    TimeLimit,
    ValidateEvery,
)
from gatedrnn.train.trainer import Trainer


def _contradiction(**kw):
    """Training targets Y, validation targets -Y on the same inputs: the better the fit, the worse validation."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 6, 2)).astype(np.float32)
    Y = X.sum(axis=(1, 2))[:, None] * 0.3
    model = SequenceRegressor(2, 8, 1, many_to_one=True, seed=0)
    return Trainer(model, MSE(), Adam(model.params, model.grads, lr=0.02), carry_state=False, epochs=10,
                   train_data=[(X[i:i + 16], Y[i:i + 16]) for i in range(0, 64, 16)], valid_data=[(X, -Y)], **kw)


class Snapshots(Callback):
    def __init__(self):
        self.weights, self.val = {}, {}

    def on_epoch_end(self, trainer, logs):
        self.weights[logs["epoch"]] = [np.array(p) for p in trainer.model.params]
        self.val[logs["epoch"]] = logs["val_loss"]


def test_early_stopping_stops_and_restores_the_best_weights():
    snaps = Snapshots()
    es = EarlyStopping(patience=2)
    tr = _contradiction(callbacks=[snaps, es])
    summary = tr.fit()
    vals = [snaps.val[e] for e in sorted(snaps.val)]
    assert summary["stopped"] == "early_stopping" and tr.epoch == 3 < 10     # epochs 2 and 3 no better than 1
    assert vals[1] >= vals[0] and vals[2] >= vals[0] and es.best == vals[0] and summary["best_step"] == 4
    for p, w in zip(tr.model.params, snaps.weights[1]):
        np.testing.assert_array_equal(p, w)                                      # epoch 1's weights are back
    assert not np.array_equal(snaps.weights[3][0], snaps.weights[1][0])


def test_early_stopping_counts_survive_a_resume(tmp_path):
    es = EarlyStopping(patience=3, min_delta=0.5)
    tr = _contradiction(callbacks=[es], out_dir=tmp_path, plot=False, max_steps=8)
    tr.fit()
    again = EarlyStopping(patience=3, min_delta=0.5)
    tr2 = _contradiction(callbacks=[again], out_dir=tmp_path, plot=False)
    tr2.load(tmp_path / "last")
    assert (again.best, again.wait, again.best_step) == (es.best, es.wait, es.best_step)
    with pytest.raises(ValueError, match="patience: expected an integer >= 0"):
        EarlyStopping(patience=-1)


def test_csv_logger_reads_back_with_the_csv_module(tmp_path):
    path = tmp_path / "epochs.csv"
    tr = _contradiction(callbacks=[CSVLogger(path)])
    tr.epochs = 3
    tr.fit()
    rows = list(csv.DictReader(open(path, newline="")))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert {"step", "train_loss", "val_loss", "lr", "seconds"} <= set(rows[0])
    assert float(rows[2]["val_loss"]) == pytest.approx(tr.history[2]["val_loss"])


def test_step_recorder_and_peak_memory():
    rec, mem = StepRecorder(), PeakStepMemory(steps=2)
    tr = _contradiction(callbacks=[rec, mem])
    tr.epochs = 1
    tr.fit()
    assert [s for s, _, _ in rec.trace] == [1, 2, 3, 4] and all(np.isfinite(n) for _, _, n in rec.trace)
    assert len(mem.peaks) == 2 and all(p > 0 for p in mem.peaks)


def test_tensorboard_logger_writes_event_files(tmp_path):
    pytest.importorskip("tensorboardX", reason="the TensorBoard logger needs tensorboardX (the tensorboard extra)")
    tr = _contradiction(callbacks=[TensorBoardLogger(tmp_path / "tb")], out_dir=tmp_path / "run", plot=False,
                        log_every=2)
    tr.epochs = 2
    tr.fit()
    files = list((tmp_path / "tb").glob("events.out.tfevents.*"))
    assert files and files[0].stat().st_size > 100


class Records(Callback):
    def __init__(self):
        self.records = []

    def on_log(self, trainer, record):
        self.records.append(record)


def test_validate_every_logs_the_validation_loss_between_epoch_ends():
    rec = Records()
    tr = _contradiction(callbacks=[rec, ValidateEvery(3)], max_steps=10)
    tr.fit()
    valid = [r for r in rec.records if r.get("event") == "valid"]
    assert [r["step"] for r in valid] == [3, 6, 9]
    assert all(np.isfinite(r["val_loss"]) and np.isfinite(r["train_loss"]) and r["seconds"] >= 0 for r in valid)
    assert valid[0]["val_loss"] != valid[1]["val_loss"]


def test_time_limit_stops_the_run_and_validates_it(monkeypatch):
    clock = iter(range(0, 10_000, 10))          # every reading of the clock 10 s later than the previous one
    monkeypatch.setattr("gatedrnn.train.callbacks.time.perf_counter", lambda: float(next(clock)))
    tr = _contradiction(callbacks=[TimeLimit(35)])
    summary = tr.fit()
    assert summary["stopped"] == "time_limit" and 1 <= tr.step < 40 and summary["val_loss"] is not None
    with pytest.raises(ValueError, match="seconds: expected"):
        TimeLimit(0)


def test_time_limit_on_the_cpu_clock():
    tr = _contradiction(callbacks=[TimeLimit(0.2, clock="cpu")])
    tr.epochs = 10 ** 6
    assert tr.fit()["stopped"] == "time_limit"
    with pytest.raises(ValueError, match="clock: expected one of"):
        TimeLimit(1, clock="gpu")
