"""The classification fields, declared once (``option``: default, help, check): the ``Classifier``'s settings
(``ClassifierSettings``: ``Classifier(**fields)``, ``Classifier.from_config``) and the run's
(``ClassifyConfig``: the flags of ``gatedrnn classify``, the run's ``config.json`` when it has an ``--out``
folder). Both take the fields they share from ``ClassifierFields``: one default, one check, one help text for the
estimator, its docstring (``settings_doc``) and ``--help``. Where the data lie (``--data-dir``) and where the
outputs go (``--out``) are not part of either."""

from __future__ import annotations

import inspect
from dataclasses import MISSING, dataclass, fields

from gatedrnn.config import Config, option
from gatedrnn.errors import UserError, check_count, check_int, check_nonnegative, check_positive, check_probability, show
from gatedrnn.layers import CELLS
from gatedrnn.models.classifier import POOLINGS
from gatedrnn.models.front import MAX_CONV_LAYERS, NORMS, check_blocks
from gatedrnn.models.front_blocks import CONV_NORMS
from gatedrnn.train.callbacks import CLOCKS
from gatedrnn.train.quantize_aware import QUANTIZE, check_quantize
from gatedrnn.train.sparsity import check_density

POSITIONAL = ("cell", "hidden_size", "num_layers")     # the Classifier's settings that may be given by position
NETWORK = "model"       # the group of the fields the network is built from (the Classifier's ``options``)


def _cells():
    return list(CELLS)


def gated_cells():
    """The cells with more than one gate block (all but the plain RNN): the default comparison."""
    return [name for name, stack in CELLS.items() if stack.layer_class.gates > 1]


def _folds(name, v):
    return check_int(name, v, 2)


def _layers(name, v):
    check_int(name, v)
    if v > MAX_CONV_LAYERS:
        raise UserError(f"{name}: expected an integer in [1, {MAX_CONV_LAYERS}], got {show(v)}")
    return v


def _some(name, v):
    if not v:
        raise UserError(f"{name}: expected at least one cell, got none")
    return v


def _rank(name, v):
    return check_int(name, v, none_ok=True)


def _seconds(name, v):
    return check_positive(name, v, none_ok=True)


def check_ranks(o: dict) -> None:
    """``rank_ih``/``rank_hh``: None (full) or a positive integer, for a cell with low-rank matrices; ``rank_hh`` at
    most ``hidden_size`` (``rank_ih`` is checked against the input's width when the network is built)."""
    for name in ("rank_ih", "rank_hh"):
        v = o.get(name)
        if v is None:
            continue
        check_int(name, v)
        if not getattr(CELLS[o["cell"]].layer_class, "low_rank", False):
            low = ", ".join(n for n, s in CELLS.items() if getattr(s.layer_class, "low_rank", False))
            raise UserError(f"{name}: expected a cell with low-rank matrices ({low}), got {o['cell']}")
    if o.get("rank_hh") is not None and o["rank_hh"] > o["hidden_size"]:
        raise UserError(f"rank_hh: expected an integer in [1, {o['hidden_size']}] (hidden_size, the recurrent "
                        f"matrix's side), got {o['rank_hh']}")


@dataclass
class ClassifierFields(Config):
    """The fields a ``Classifier`` and a classification run share (each declared once, here)."""

    hidden_size: int = option(32, "hidden units per layer", check=check_int, group="model")
    num_layers: int = option(1, "recurrent layers", check=check_int, group="model")
    pooling: str = option("last", "what the linear layer reads: the last valid state, or the mean or the "
                          "element-wise max over the valid steps", choices=POOLINGS, group="model")
    dropout: float = option(0.3, "dropout between layers and before the linear layer", check=check_probability,
                            group="model")
    frame: int = option(1, "front end: stack this many samples into one recurrent step (long inputs; at most the "
                        "shortest sequence's length)", check=check_int, group="model")
    conv: int = option(0, "front end: channels of a causal convolution over the samples (pointwise, depthwise over "
                       "conv_kernel samples, SiLU), 0 = none", check=check_count, group="model")
    conv_kernel: int = option(4, "front end: samples each convolution filter reads", check=check_int, group="model")
    conv_layers: int = option(1, "front end: causal convolution blocks stacked (each pointwise, depthwise over "
                              "conv_kernel samples, conv_norm, SiLU), at most 16", check=_layers, group="model")
    conv_norm: str = option("none", "front end: 'layer' normalises each step's conv channels (LayerNorm, no state "
                            "in time) before each SiLU", choices=CONV_NORMS, group="model")
    conv_residual: bool = option(False, "front end: add each conv block's input to its output (blocks after the "
                                 "first)", group="model")
    norm: str = option("none", "front end: 'running' scales each sample by its own sequence's mean and std so far",
                       choices=NORMS, group="model")
    rank_ih: int | None = option(None, "rank of the input matrix W = W1 W2 of a low-rank cell (fastgrnn, fastrnn); "
                                 "none = full", check=_rank, group="model")
    rank_hh: int | None = option(None, "rank of the recurrent matrix U = U1 U2 of a low-rank cell; none = full",
                                 check=_rank, group="model")
    max_steps: int = option(500, "training steps (Adam, cosine-decayed to 0 over them)", check=check_int,
                            group="training")
    batch_size: int = option(32, "sequences per step", check=check_int, group="training")
    lr: float = option(1e-2, "Adam learning rate at the start", check=check_positive, group="training")
    clip: float = option(1.0, "global gradient-norm threshold, 0 = off", check=check_nonnegative, group="training")
    seed: int = option(0, "seed of the weights and of the batch order (a run's first: seed, seed+1, ...)",
                       check=check_count, group="training")
    standardize: bool = option(True, "scale each input dimension to mean 0, std 1 over the training steps",
                               group="training")
    noise: float = option(0.3, "std of Gaussian noise added to the standardised training inputs (augmentation)",
                          check=check_nonnegative, group="training")
    scale: float = option(0.0, "std of a random factor 1 + scale N(0,1) each training sequence is multiplied by "
                          "every epoch (augmentation)", check=check_nonnegative, group="training")
    crop: int = option(0, "train on random windows of this many steps (window slicing), predict from the mean "
                       "logits of 5 windows spread over each sequence; 0 = whole sequences", check=check_count,
                       group="training")
    density: float = option(1.0, "fraction of each weight matrix kept non-zero, by iterative hard thresholding "
                            "(train/sparsity.py); 1 = dense", check=check_density, group="training")
    quantize: str = option("none", "quantisation-aware fine-tuning over the last third of the steps "
                           "(train/quantize_aware.py): int8 (the weights end on export --int8's grid), int8-q15 (the "
                           "states also on export --fixed q15's int16 grid: fastgrnn, fastrnn)", choices=QUANTIZE,
                           group="training")
    select: bool = option(True, "choose the number of steps (at most max_steps) on a validation split of the "
                          "training set (stratified; k-fold below 100 cases), early stopping, then refit on all of it "
                          "(--no-select, select=False: max_steps on all of it)", group="training")
    folds: int = option(5, "folds of the cross-validation used when the training set has fewer than 100 cases",
                        check=_folds, group="training")
    time_clock: str = option("wall", "what time_budget counts: wall (the clock) or cpu (this process's CPU time, "
                             "steadier on a shared machine)", choices=CLOCKS, group="training")

    def validate(self):
        check_density("density", self.density)      # its range in the message, before the type check's words
        super().validate()
        check_blocks(self.conv, self.conv_layers, self.conv_norm, self.conv_residual)   # the stacked conv blocks
        return self

    def check_cells(self, cells) -> None:
        """Every cell of ``cells`` takes the ranks (``classify.checks``) and the quantisation."""
        for cell in cells:
            check_ranks(dict(cell=cell, hidden_size=self.hidden_size, rank_ih=self.rank_ih, rank_hh=self.rank_hh))
            check_quantize(self.quantize, CELLS[cell], self.rank_ih, self.rank_hh)


@dataclass
class ClassifierSettings(ClassifierFields):
    """The settings of one ``Classifier``: ``Classifier(**fields)`` and ``Classifier.from_config(settings)``; its
    ``__init__`` checks them here (``validate``), and again at ``fit``."""

    cell: str = option("lstm", "recurrent cell", choices=_cells, group="model")
    time_budget: float | None = option(None, "seconds of model selection at most (none: no bound)", check=_seconds,
                                       group="training")

    def validate(self) -> "ClassifierSettings":
        super().validate()
        self.check_cells([self.cell])
        return self

    @classmethod
    def given(cls, args: tuple, kwargs: dict) -> "ClassifierSettings":
        """The settings of ``Classifier(*args, **kwargs)``: ``POSITIONAL`` by position, the rest by name, checked."""
        if len(args) > len(POSITIONAL):
            raise UserError(f"Classifier: expected at most {len(POSITIONAL)} settings by position "
                            f"({', '.join(POSITIONAL)}), got {len(args)}")
        twice = [k for k in POSITIONAL[:len(args)] if k in kwargs]
        if twice:
            raise UserError(f"{twice[0]}: expected one value, got one by position and one by name")
        return cls.from_dict({**dict(zip(POSITIONAL, args)), **kwargs})


def default_of(f):
    return f.default_factory() if f.default is MISSING else f.default


def settings_signature(cls, extra: dict) -> inspect.Signature:
    """The estimator's signature from its settings dataclass ``cls``: ``POSITIONAL`` first, every other field by
    name, then ``extra`` (name -> default), each with the field's one default."""
    P = inspect.Parameter
    named = {f.name: default_of(f) for f in fields(cls)}
    params = [P(k, P.POSITIONAL_OR_KEYWORD, default=named.pop(k)) for k in POSITIONAL]
    params += [P(k, P.KEYWORD_ONLY, default=v) for k, v in {**named, **extra}.items()]
    return inspect.Signature([P("self", P.POSITIONAL_ONLY), *params])


def settings_doc(cls) -> str:
    """The fields of ``cls`` as docstring lines: ``name = default``: help."""
    return "\n".join(f"    ``{f.name} = {default_of(f)!r}``: {f.metadata['help']}" for f in fields(cls))


@dataclass
class ClassifyConfig(ClassifierFields):
    """Everything that defines a classification run (``--name value`` on the command line): the Classifier's
    fields (``ClassifierFields``), several cells, several seeds, the run's time budget and its outputs."""

    dataset: str | None = option(None, "japanesevowels, basicmotions, another UEA name found under --data-dir or "
                                 "GATEDRNN_DATA (uea/NAME/NAME_TRAIN.ts), or a path prefix DIR/NAME of "
                                 "NAME_TRAIN.ts and NAME_TEST.ts")
    cell: list[str] = option(gated_cells(), "one or more recurrent cells", choices=_cells, check=_some, group="model")
    seeds: int = option(5, "seeds per cell (seed, seed+1, ...): the table shows mean and spread", check=check_int,
                        group="training")
    time_budget: float | None = option(None, "seconds of model selection for the whole run, shared equally by every "
                                       "cell and seed (none: no bound)", check=_seconds, group="training")
    ensemble: bool = option(False, "also report the accuracy of the seeds' averaged probabilities (one row)",
                            group="output")
    baselines: bool = option(True, "1-NN DTW and MiniRocket from aeon when installed (--no-baselines skips)",
                             group="output")

    def validate(self) -> "ClassifyConfig":
        if self.dataset is None:
            raise UserError("dataset: expected japanesevowels, basicmotions or a path prefix (--dataset, or in the "
                            "--config file), got none")
        if not isinstance(self.dataset, str):
            raise UserError(f"dataset: expected a dataset name or a path prefix, got {show(self.dataset)}")
        super().validate()
        self.check_cells(self.cell)             # every cell of the run takes the ranks
        return self

    def classifier_settings(self, cell: str, seed: int) -> dict:
        """The ``Classifier``'s arguments for one cell and one seed (``Classifier.from_config``): the shared
        fields as they are, ``time_budget`` this classifier's equal share of the run's."""
        shared = {f.name: getattr(self, f.name) for f in fields(ClassifierFields)}
        share = None if self.time_budget is None else self.time_budget / (len(self.cell) * self.seeds)
        return {**shared, "cell": cell, "seed": seed, "time_budget": share}

    @classmethod
    def from_dict(cls, d: dict):
        """As ``Config.from_dict``; ``rank_ih``/``rank_hh``/``time_budget`` of 0 (the run's "full" and "no bound"
        before they were none, in older runs' config.json and flags) are read as none."""
        if isinstance(d, dict):
            d = {k: None if k in ("rank_ih", "rank_hh", "time_budget") and type(v) in (int, float) and v == 0 else v
                 for k, v in d.items()}
        return super().from_dict(d)

    model_options = classifier_settings     # its earlier name (tests and benchmarks of issues 24 and 27 call it)


def make_config(config_file=None, flags: dict | None = None) -> ClassifyConfig:
    """The config of a run: the fields of ``config_file`` (JSON or TOML), then ``flags`` over them, validated."""
    return ClassifyConfig.from_sources(config_file, flags)
