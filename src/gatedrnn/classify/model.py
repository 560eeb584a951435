"""The estimator: ``Classifier(cell=..., hidden_size=...).fit(X, y)``, then ``predict``, ``predict_proba``, ``score``,
``save`` and ``Classifier.load``, in scikit-learn's shape.

``X`` is a list of (length, dimensions) arrays whose lengths may differ (or one array (cases, length,
dimensions)); ``y`` the labels, any kind NumPy sorts (``classes_`` holds them in sorted order). Each input
dimension is standardised with the mean and std of all training steps (``standardize``). Training is a
``SequenceClassifier`` under the project's ``Trainer``: softmax cross-entropy, Adam with global-norm clipping and a
cosine-decayed learning rate, for ``max_steps`` steps of ``batch_size`` sequences drawn without replacement each
epoch, every batch padded to its longest sequence and carried as ``Padded(x, lengths)``; ``noise`` > 0 adds
Gaussian noise of that std to the standardised training inputs, drawn afresh every epoch (data augmentation).
"""

from __future__ import annotations

import math
from typing import Any

import numpy

from gatedrnn.backend import to_numpy
from gatedrnn.errors import UserError, check_int
from gatedrnn.layers import SoftmaxCrossEntropy
from gatedrnn.models.classifier import Padded, SequenceClassifier
from gatedrnn.optim import Adam
from gatedrnn.optim.schedules import CosineDecay
from gatedrnn.train.checkpoint import load_checkpoint, resolve_checkpoint
from gatedrnn.train.trainer import Trainer


def as_sequences(X, name: str = "X", dimensions: int | None = None) -> list:
    """``X`` as a list of float64 (length, dimensions) arrays, checked: finite, at least one step, one width."""
    seqs = list(X)
    if not seqs:
        raise UserError(f"{name}: expected at least one sequence, got none")
    out: list = []
    for i, x in enumerate(seqs):
        a = numpy.asarray(to_numpy(x), dtype=numpy.float64)
        if a.ndim == 1:
            a = a[:, None]
        if a.ndim != 2 or a.shape[0] < 1:
            raise UserError(f"{name}[{i}]: expected an array (length >= 1, dimensions), got shape {a.shape}")
        want = dimensions if dimensions is not None else out[0].shape[1] if out else a.shape[1]
        if a.shape[1] != want:
            raise UserError(f"{name}[{i}]: expected {want} dimensions, got {a.shape[1]}")
        if not numpy.isfinite(a).all():
            raise UserError(f"{name}[{i}]: expected finite values, got NaN or Inf")
        out.append(a)
    return out


def pad(seqs: list, dtype=numpy.float32) -> Padded:
    """A list of (length, dimensions) arrays -> ``Padded`` (zeros past each length)."""
    lengths = numpy.array([len(s) for s in seqs], dtype=numpy.int64)
    x = numpy.zeros((len(seqs), int(lengths.max()), seqs[0].shape[1]), dtype=dtype)
    for i, s in enumerate(seqs):
        x[i, :len(s)] = s
    return Padded(x, lengths)


class Classifier:
    """A recurrent sequence classifier with scikit-learn's methods; see the module docstring."""

    def __init__(self, cell: str = "lstm", hidden_size: int = 32, num_layers: int = 1, *, pooling: str = "last",
                 dropout: float = 0.3, max_steps: int = 500, batch_size: int = 32, lr: float = 1e-2,
                 clip: float = 1.0, seed: int = 0, standardize: bool = True, noise: float = 0.3, dtype="float32",
                 echo=None):
        check_int("max_steps", max_steps)
        check_int("batch_size", batch_size)
        self.options: dict[str, Any] = dict(cell=cell, hidden_size=hidden_size, num_layers=num_layers, pooling=pooling,
                            dropout=dropout)
        self.max_steps, self.batch_size, self.lr, self.clip, self.seed = max_steps, batch_size, lr, clip, seed
        self.standardize, self.noise, self.dtype, self.echo = standardize, float(noise), dtype, echo
        self.model: Any = None
        self.classes_: Any = None
        self.mean_: Any = None
        self.std_: Any = None

    # -- training -----------------------------------------------------------------------------------------
    def fit(self, X, y) -> "Classifier":
        seqs = as_sequences(X)
        y = numpy.asarray(y)
        if y.shape != (len(seqs),):
            raise UserError(f"y: expected {len(seqs)} labels (one per sequence), got shape {y.shape}")
        self.classes_, targets = numpy.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise UserError(f"y: expected at least 2 classes, got {len(self.classes_)}")
        steps = numpy.concatenate(seqs)
        self.mean_ = steps.mean(axis=0) if self.standardize else numpy.zeros(steps.shape[1])
        std = steps.std(axis=0) if self.standardize else numpy.ones(steps.shape[1])
        self.std_ = numpy.where(std > 0, std, 1.0)
        seqs = [(s - self.mean_) / self.std_ for s in seqs]
        self.model = SequenceClassifier(steps.shape[1], num_classes=len(self.classes_), dtype=self.dtype,
                                        seed=self.seed, **self.options)
        self._train(seqs, targets.astype(numpy.int64))
        return self

    def _train(self, seqs, targets):
        model, N = self.model, len(seqs)
        batch = min(self.batch_size, N)
        per_epoch = math.ceil(N / batch)
        opt = Adam(model.params, model.grads, lr=self.lr)

        def batches(epoch):
            rng = numpy.random.default_rng([self.seed, epoch])
            order = rng.permutation(N)
            out = [(pad([seqs[i] for i in order[k:k + batch]], model.rnn.dtype), targets[order[k:k + batch]])
                   for k in range(0, N, batch)]
            for x, _ in out if self.noise else ():
                x.x += (self.noise * rng.standard_normal(x.x.shape)).astype(x.x.dtype)
            return out

        trainer = Trainer(model, SoftmaxCrossEntropy(), opt, train_data=batches, clip=self.clip or None,
                          schedule=CosineDecay(opt, total_steps=self.max_steps), carry_state=False,
                          epochs=math.ceil(self.max_steps / per_epoch), max_steps=self.max_steps, progress=False,
                          plot=False, log_every=10**9, echo=self.echo or (lambda *a: None))
        self.summary_ = trainer.fit()
        model.eval()

    # -- inference ----------------------------------------------------------------------------------------
    def _need_fit(self, what):
        if self.model is None:
            raise UserError(f"Classifier.{what}: expected a fitted classifier (call fit or Classifier.load), got none")

    def predict_proba(self, X, batch_size: int = 256) -> numpy.ndarray:
        """Class probabilities (cases, classes), columns in the order of ``classes_``."""
        self._need_fit("predict_proba")
        seqs = as_sequences(X, dimensions=len(self.mean_))
        seqs = [(s - self.mean_) / self.std_ for s in seqs]
        order = numpy.argsort([len(s) for s in seqs], kind="stable")  # batches of similar lengths pad little
        out = numpy.empty((len(seqs), len(self.classes_)))
        self.model.eval()
        for k in range(0, len(seqs), batch_size):
            rows = order[k:k + batch_size]
            logits, _ = self.model.forward(pad([seqs[i] for i in rows], self.model.rnn.dtype))
            z = to_numpy(logits).astype(numpy.float64)
            z = numpy.exp(z - z.max(axis=1, keepdims=True))
            out[rows] = z / z.sum(axis=1, keepdims=True)
        return out

    def predict(self, X) -> numpy.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def score(self, X, y) -> float:
        """Accuracy on ``(X, y)``."""
        y = numpy.asarray(y)
        p = self.predict(X)
        if y.shape != p.shape:
            raise UserError(f"y: expected {len(p)} labels (one per sequence), got shape {y.shape}")
        return float(numpy.mean(p == y))

    @property
    def weight_bytes(self) -> int:
        """The model's size as float32 weights."""
        self._need_fit("weight_bytes")
        return 4 * self.model.num_params()

    # -- files --------------------------------------------------------------------------------------------
    def save(self, path):
        """A checkpoint folder (``gatedrnn.load`` reads the model); the labels and the scaling go in its meta."""
        self._need_fit("save")
        meta = {"classifier": {"classes": self.classes_.tolist(), "mean": self.mean_.tolist(),
                               "std": self.std_.tolist()}}
        return self.model.save(path, meta=meta)

    @classmethod
    def load(cls, path) -> "Classifier":
        model, meta, _ = load_checkpoint(resolve_checkpoint(path))
        info = meta.get("classifier")
        if not isinstance(model, SequenceClassifier) or not isinstance(info, dict):
            raise UserError(f"{path}: expected a checkpoint saved by Classifier.save, got a {type(model).__name__}")
        self = cls(**{k: model.config[k] for k in ("cell", "hidden_size", "num_layers", "pooling", "dropout")})
        self.model = model.eval()
        self.classes_ = numpy.array(info["classes"])
        self.mean_, self.std_ = numpy.array(info["mean"]), numpy.array(info["std"])
        return self
