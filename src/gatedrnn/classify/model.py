"""The estimator: ``Classifier(cell=..., hidden_size=...).fit(X, y)``, then ``predict``, ``predict_proba``,
``decision_function`` (the logits), ``score``, ``save`` and ``Classifier.load``, in scikit-learn's shape.

``X`` is a list of (length, dimensions) arrays whose lengths may differ (or one array (cases, length,
dimensions)) of finite real numbers; ``y`` the labels: strings, integers, finite numbers or bools, all text or all
numbers (what a checkpoint's JSON keeps; ``classes_`` holds them in sorted order). Both are checked by
``classify.inputs``, every setting by its one declaration (``classify.config.ClassifierSettings``: its default
and its check; in ``__init__`` and again in ``fit``), and a model that would not fit in memory is refused before
it is built. Each input dimension is standardised with the mean and std
of all training steps (``standardize``; computed without overflow for values of any finite size). Training is a
``SequenceClassifier`` under the project's ``Trainer``: softmax cross-entropy, Adam with global-norm clipping and a
cosine-decayed learning rate, for ``max_steps`` steps of ``batch_size`` sequences drawn without replacement each
epoch, every batch padded to its longest sequence and carried as ``Padded(x, lengths)``; ``noise`` > 0 adds
Gaussian noise of that std to the standardised training inputs, drawn afresh every epoch (data augmentation).
Every logit and probability returned is finite: a sequence that overflows the network is one line naming it.

``select=True`` (the default, as for ``gatedrnn classify``) chooses the number of steps (at most ``max_steps``)
by early stopping on validation cases carved from the training set (``classify.selection``: a stratified
holdout, ``folds``-fold below 100 cases, ``time_budget`` seconds at most) and refits on all of it for that many
steps; ``select=False`` trains ``max_steps`` on all of it. ``frame``, ``conv``, ``conv_kernel``
and ``norm`` add a front end for long inputs (``models.front``; ``conv_layers``, ``conv_norm`` and
``conv_residual`` stack conv blocks); ``scale`` and ``crop`` augment the training
sequences, ``crop`` also averaging the logits of windows at prediction (``classify.augment``). ``rank_ih`` and
``rank_hh`` (None: full) factor the input and recurrent matrices of a low-rank cell (FastGRNN, FastRNN) as two
matrices of that rank; ``density`` < 1 trains every matrix sparse (``train.sparsity``); ``quantize`` fine-tunes on
the int8 grid, and ``int8-q15`` also on the fixed-point step's int16 states (``train.quantize_aware``).
"""

from __future__ import annotations

import math
from dataclasses import fields
from typing import Any

import numpy

from gatedrnn.backend import to_numpy
from gatedrnn.classify.augment import augmented, check_crop, views
from gatedrnn.classify.checks import check_fits_memory, check_frames, check_settings, read_meta
from gatedrnn.classify.config import NETWORK, ClassifierSettings, settings_doc, settings_signature
from gatedrnn.classify.inputs import as_labels, as_sequences, check_label_values, scaling, standardized
from gatedrnn.classify.selection import AccuracyWatch, choose_steps
from gatedrnn.errors import UserError, check_int
from gatedrnn.layers import SoftmaxCrossEntropy
from gatedrnn.models.classifier import Padded, SequenceClassifier
from gatedrnn.models.io import load_checkpoint, resolve_checkpoint
from gatedrnn.optim import Adam
from gatedrnn.optim.schedules import CosineDecay
from gatedrnn.train.callbacks import EarlyStopping, TimeLimit
from gatedrnn.train.console import EpochLines
from gatedrnn.train.quantize_aware import callback_for
from gatedrnn.train.sparsity import IterativeHardThresholding, compressed_bytes
from gatedrnn.train.trainer import Trainer


def pad(seqs: list, dtype=numpy.float32) -> Padded:
    """A list of (length, dimensions) arrays -> ``Padded`` (zeros past each length)."""
    lengths = numpy.array([len(s) for s in seqs], dtype=numpy.int64)
    x = numpy.zeros((len(seqs), int(lengths.max()), seqs[0].shape[1]), dtype=dtype)
    for i, s in enumerate(seqs):
        x[i, :len(s)] = s
    return Padded(x, lengths)


class Classifier:
    """A recurrent sequence classifier with scikit-learn's methods; see the module docstring.

    ``Classifier(cell, hidden_size, num_layers, **settings)``, or ``Classifier.from_config(cfg)``: the settings are
    the fields of ``classify.config.ClassifierSettings``, each with its one default and its one check (they are
    checked there, at construction and again at ``fit``); ``dtype`` (float32 or float64) and ``echo`` (a function
    of one line, for the training's lines) are not settings. The network's settings are kept in ``options``, the
    training's as attributes. The settings and their defaults:

{SETTINGS}
    """

    __doc__ = (__doc__ or "").replace("{SETTINGS}", settings_doc(ClassifierSettings))   # python -OO: none
    __signature__ = settings_signature(ClassifierSettings, {"dtype": "float32", "echo": None})
    # the training settings (``__init__`` sets them from ClassifierSettings; the network's are ``options``)
    max_steps: int
    batch_size: int
    lr: float
    clip: float
    seed: int
    standardize: bool
    noise: float
    scale: float
    crop: int
    density: float
    quantize: str
    select: bool
    folds: int
    time_clock: str
    time_budget: float | None

    def __init__(self, *args: Any, dtype: Any = "float32", echo: Any = None, **settings: Any) -> None:
        self.dtype, self.echo = dtype, echo
        given = ClassifierSettings.given(args, settings).to_dict()
        network = {f.name for f in fields(ClassifierSettings) if f.metadata["group"] == NETWORK}
        self.options: dict[str, Any] = {k: v for k, v in given.items() if k in network}
        for k, v in given.items():
            if k not in network:
                setattr(self, k, v)
        check_settings(self)
        self.selection_: dict | None = None
        self.model: Any = None
        self.classes_: Any = None
        self.mean_: Any = None
        self.std_: Any = None

    @classmethod
    def from_config(cls, cfg, cell: str | None = None, seed: int | None = None, **extra) -> "Classifier":
        """The classifier of a ``ClassifierSettings`` (its fields), or of a ``ClassifyConfig``
        (``cfg.classifier_settings``: ``cell``, default its first, and ``seed``, default its first); ``extra``:
        ``dtype``, ``echo``."""
        if isinstance(cfg, ClassifierSettings):
            return cls(**cfg.to_dict(), **extra)
        return cls(**cfg.classifier_settings(cell or cfg.cell[0], cfg.seed if seed is None else seed), **extra)

    def settings(self) -> dict:
        """The settings as they are now (``Classifier(**clf.settings())`` builds the same classifier)."""
        return {f.name: self.options[f.name] if f.name in self.options else getattr(self, f.name)
                for f in fields(ClassifierSettings)}

    def check(self) -> None:
        """Every setting, as it is now (one ``UserError`` line): the settings' checks, then the classifier's own
        (``classify.checks.check_settings``: dtype, echo, noise within the dtype)."""
        ClassifierSettings.from_dict(self.settings())
        check_settings(self)

    # -- training -----------------------------------------------------------------------------------------
    def fit(self, X, y) -> "Classifier":
        self.check()
        seqs = as_sequences(X)
        y = as_labels(y, len(seqs))
        classes, targets = numpy.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise UserError(f"y: expected at least 2 classes, got {len(classes)}")
        D = seqs[0].shape[1]
        check_frames(self.options["frame"], seqs)
        check_crop(self.crop, seqs)
        check_frames(self.options["frame"], [s[:self.crop or len(s)] for s in seqs])
        check_fits_memory(self, D, len(classes), len(seqs), max(len(s) for s in seqs))
        self.classes_ = classes
        self.mean_, self.std_ = scaling(seqs, self.standardize)
        seqs = standardized(seqs, self.mean_, self.std_, self.dtype)
        targets = targets.reshape(-1).astype(numpy.int64)
        steps = self.max_steps
        if self.select:
            self.selection_ = choose_steps(self, seqs, targets, self.time_budget)
            steps = self.selection_["steps"]
            self._say(f"{self.selection_['note']}; best steps {self.selection_['best_steps']}: refit on all "
                      f"{len(seqs)} cases for {steps} steps")
        self.model = self._network(D)
        self.summary_ = self._train(seqs, targets, steps)
        return self

    def _say(self, line: str) -> None:
        if self.echo is not None:
            self.echo(line)

    def _network(self, D: int) -> SequenceClassifier:
        return SequenceClassifier(D, num_classes=len(self.classes_), dtype=self.dtype, seed=self.seed, **self.options)

    def fit_split(self, seqs, targets, valid_seqs, valid_targets, *, patience_steps: int, seconds=None) -> dict:
        """Train a fresh network (this seed) on ``seqs`` (already standardised), stopped early on the validation
        cases (their loss after every epoch; the best weights restored); -> the Trainer's summary with
        ``best_step`` (highest validation accuracy, ties to the later step), its ``best_val`` loss and its
        ``best_acc`` accuracy. ``seconds``: a training time limit. The model selection's one step."""
        self.model = self._network(seqs[0].shape[1])
        per_epoch = math.ceil(len(seqs) / min(self.batch_size, len(seqs)))
        valid_seqs, owner = views(valid_seqs, self.crop)      # with crops: each window a validation case
        valid_targets = valid_targets[owner]
        valid = [(pad(valid_seqs[k:k + 256], self.model.rnn.dtype), valid_targets[k:k + 256])
                 for k in range(0, len(valid_seqs), 256)]
        watch = AccuracyWatch(valid)
        stop = EarlyStopping(patience=max(1, math.ceil(patience_steps / per_epoch)), score=watch.rank)
        extra = [watch, stop] + ([TimeLimit(seconds, self.time_clock)] if seconds else [])
        summary = self._train(seqs, targets, self.max_steps, valid=valid, callbacks=extra)
        summary["best_val"], summary["best_step"], summary["best_acc"] = watch.best[1], watch.best_step, watch.best[0]
        self.model = None
        return summary

    def _train(self, seqs, targets, steps: int, valid=None, callbacks=()) -> dict:
        """``steps`` steps of the schedule of ``max_steps`` (a refit stops where the selection found the best)."""
        model, N = self.model, len(seqs)
        batch = min(self.batch_size, N)
        per_epoch = math.ceil(N / batch)
        opt = Adam(model.params, model.grads, lr=self.lr)

        def batches(epoch):
            rng = numpy.random.default_rng([self.seed, epoch])
            order = rng.permutation(N)
            chosen = augmented([seqs[i] for i in order], rng, self.crop, self.scale)
            out = [(pad(chosen[k:k + batch], model.rnn.dtype), targets[order[k:k + batch]])
                   for k in range(0, N, batch)]
            for x, _ in out if self.noise else ():
                x.x += (self.noise * rng.standard_normal(x.x.shape)).astype(x.x.dtype)
            return out

        callbacks = [*callbacks, *callback_for(self.quantize, steps)]   # before the thresholding, which masks its update
        if self.density < 1:
            callbacks = [*callbacks, IterativeHardThresholding(self.density, steps)]
        trainer = Trainer(model, SoftmaxCrossEntropy(), opt, train_data=batches, valid_data=valid,
                          clip=self.clip or None, schedule=CosineDecay(opt, total_steps=self.max_steps),
                          carry_state=False, epochs=math.ceil(steps / per_epoch), max_steps=steps,
                          plot=False, callbacks=[*callbacks, *([EpochLines(self.echo)] if self.echo else [])],
                          echo=self.echo)
        summary = trainer.fit()
        model.eval()
        return summary

    # -- inference ----------------------------------------------------------------------------------------
    def _need_fit(self, what):
        if self.model is None:
            raise UserError(f"Classifier.{what}: expected a fitted classifier (call fit or Classifier.load), got none")

    def decision_function(self, X, batch_size: int = 256) -> numpy.ndarray:
        """Class logits (cases, classes), float64, columns in the order of ``classes_``; every one finite (a
        sequence whose logits overflow the model's dtype is one line naming it)."""
        self._need_fit("decision_function")
        check_int("batch_size", batch_size)
        raw = as_sequences(X, dimensions=len(self.mean_))
        check_crop(self.crop, raw)
        check_frames(self.options["frame"], [s[:self.crop or len(s)] for s in raw])
        seqs, owner = views(standardized(raw, self.mean_, self.std_, self.model.rnn.dtype), self.crop)
        order = numpy.argsort([len(s) for s in seqs], kind="stable")  # batches of similar lengths pad little
        out = numpy.empty((len(seqs), len(self.classes_)))
        self.model.eval()
        with numpy.errstate(over="ignore", invalid="ignore"):
            for k in range(0, len(seqs), batch_size):
                rows = order[k:k + batch_size]
                logits, _ = self.model.forward(pad([seqs[i] for i in rows], self.model.rnn.dtype))
                out[rows] = to_numpy(logits).astype(numpy.float64)
        if self.crop:                                       # the logits averaged over each sequence's windows
            out = numpy.add.reduceat(out, numpy.flatnonzero(numpy.r_[True, owner[1:] != owner[:-1]])) / \
                numpy.bincount(owner)[:, None]
        bad = ~numpy.isfinite(out).all(axis=1)
        if bad.any():
            i = int(numpy.argmax(bad))
            raise UserError(f"X[{i}]: expected values for which the network's {self.model.rnn.dtype.name} logits stay "
                            f"finite, got values up to {float(numpy.abs(raw[i]).max()):.3g} (NaN or Inf logits)")
        return out

    def predict_proba(self, X, batch_size: int = 256) -> numpy.ndarray:
        """Class probabilities (cases, classes), columns in the order of ``classes_`` (the softmax of
        ``decision_function``)."""
        z = self.decision_function(X, batch_size)
        z = numpy.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

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
        """The model's size as float32 weights (matrices in compressed sparse rows where that is smaller)."""
        self._need_fit("weight_bytes")
        return compressed_bytes(self.model)

    # -- files --------------------------------------------------------------------------------------------
    def save(self, path):
        """A checkpoint folder of kind ``classifier`` (``gatedrnn.load`` gives back the Classifier); the labels and the
        scaling go in its meta."""
        self._need_fit("save")
        classes = self.classes_.tolist()
        check_label_values("classes_", classes)
        meta = {"kind": "classifier",
                "classifier": {"classes": classes, "mean": self.mean_.tolist(), "std": self.std_.tolist()}}
        return self.model.save(path, meta=meta)

    @classmethod
    def load(cls, path) -> "Classifier":
        """The classifier saved in ``path``; its ``meta.json`` is checked against the network (``read_meta``)."""
        found = resolve_checkpoint(path)
        model, meta, _ = load_checkpoint(found)
        classes, mean, std = read_meta(found, model, meta)
        c = model.config
        network = [f.name for f in fields(ClassifierSettings) if f.metadata["group"] == NETWORK]
        self = cls(**{k: c[k] for k in network if k in c}, dtype=model.rnn.dtype.name)
        self.model = model.eval()
        self.classes_, self.mean_, self.std_ = classes, mean, std
        return self
