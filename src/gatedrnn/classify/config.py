"""The sequence-classification run configuration: one dataclass, turned into the flags of ``gatedrnn classify``,
written as the run's ``config.json`` when the run has an ``--out`` folder. Where the data lie (``--data-dir``) and
where the outputs go (``--out``) are not part of it."""

from __future__ import annotations

from dataclasses import dataclass

from gatedrnn.classify.checks import check_ranks
from gatedrnn.config import Config, option
from gatedrnn.errors import UserError, check_count, check_int, check_nonnegative, check_positive, check_probability, show
from gatedrnn.layers import CELLS
from gatedrnn.models.classifier import POOLINGS
from gatedrnn.models.front import MAX_CONV_LAYERS, NORMS, check_blocks
from gatedrnn.models.front_blocks import CONV_NORMS
from gatedrnn.train.sparsity import check_density


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


@dataclass
class ClassifyConfig(Config):
    """Everything that defines a classification run (``--name value`` on the command line)."""

    dataset: str | None = option(None, "japanesevowels, basicmotions, another UEA name found under --data-dir or "
                                 "GATEDRNN_DATA (uea/NAME/NAME_TRAIN.ts), or a path prefix DIR/NAME of "
                                 "NAME_TRAIN.ts and NAME_TEST.ts")
    cell: list[str] = option(gated_cells(), "one or more recurrent cells", choices=_cells, check=_some, group="model")
    hidden_size: int = option(32, "hidden units per layer", check=check_int, group="model")
    num_layers: int = option(1, "recurrent layers", check=check_int, group="model")
    pooling: str = option("last", "what the linear layer reads: the last valid state or the mean over the valid "
                          "steps", choices=POOLINGS, group="model")
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
    max_steps: int = option(500, "training steps (Adam, cosine-decayed to 0 over them)", check=check_int,
                            group="training")
    batch_size: int = option(32, "sequences per step", check=check_int, group="training")
    lr: float = option(1e-2, "Adam learning rate at the start", check=check_positive, group="training")
    clip: float = option(1.0, "global gradient-norm threshold, 0 = off", check=check_nonnegative, group="training")
    seed: int = option(0, "first seed (of the weights and of the batch order)", check=check_count, group="training")
    seeds: int = option(5, "seeds per cell (seed, seed+1, ...): the table shows mean and spread", check=check_int,
                        group="training")
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
    rank_ih: int = option(0, "rank of the input matrix W = W1 W2 of a low-rank cell (fastgrnn, fastrnn); 0 = full",
                          check=check_count, group="model")
    rank_hh: int = option(0, "rank of the recurrent matrix U = U1 U2 of a low-rank cell; 0 = full", check=check_count,
                          group="model")
    ensemble: bool = option(False, "also report the accuracy of the seeds' averaged probabilities (one row)",
                            group="output")
    select: bool = option(True, "choose the number of steps (at most max_steps) on a validation split of the "
                          "training set (stratified; k-fold below 100 cases), early stopping, then refit on all of it "
                          "(--no-select: max_steps on all of it)", group="training")
    folds: int = option(5, "folds of the cross-validation used when the training set has fewer than 100 cases",
                        check=_folds, group="training")
    time_budget: float = option(0.0, "seconds of model selection for the whole run, shared equally by every cell "
                                "and seed (0 = no bound)", check=check_nonnegative, group="training")
    baselines: bool = option(True, "1-NN DTW and MiniRocket from aeon when installed (--no-baselines skips)",
                             group="output")

    def validate(self) -> "ClassifyConfig":
        if self.dataset is None:
            raise UserError("dataset: expected japanesevowels, basicmotions or a path prefix (--dataset, or in the "
                            "--config file), got none")
        if not isinstance(self.dataset, str):
            raise UserError(f"dataset: expected a dataset name or a path prefix, got {show(self.dataset)}")
        super().validate()
        check_blocks(self.conv, self.conv_layers, self.conv_norm, self.conv_residual)   # the stacked conv blocks
        for cell in self.cell:                  # every cell of the run takes the ranks (classify.checks)
            check_ranks(dict(cell=cell, hidden_size=self.hidden_size, rank_ih=self.rank_ih or None,
                             rank_hh=self.rank_hh or None))
        return self

    def model_options(self, cell: str, seed: int) -> dict:
        """The keyword arguments of ``Classifier`` for one cell and one seed."""
        return dict(cell=cell, hidden_size=self.hidden_size, num_layers=self.num_layers, pooling=self.pooling,
                    dropout=self.dropout, frame=self.frame, conv=self.conv, conv_kernel=self.conv_kernel, norm=self.norm,
                    conv_layers=self.conv_layers, conv_norm=self.conv_norm, conv_residual=self.conv_residual,
                    max_steps=self.max_steps, batch_size=self.batch_size, lr=self.lr,
                    clip=self.clip, seed=seed, standardize=self.standardize, noise=self.noise, scale=self.scale, crop=self.crop,
                    select=self.select, density=self.density, rank_ih=self.rank_ih or None,
                    rank_hh=self.rank_hh or None,
                    folds=self.folds, time_budget=self.time_budget / (len(self.cell) * self.seeds) or None)


def make_config(config_file=None, flags: dict | None = None) -> ClassifyConfig:
    """The config of a run: the fields of ``config_file`` (JSON or TOML), then ``flags`` over them, validated."""
    return ClassifyConfig.from_sources(config_file, flags)
