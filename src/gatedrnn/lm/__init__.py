"""Language modelling, the book's chapter 6: the run configuration and its presets, the model they build, training
runs end to end, and the checkpoint-side helpers (evaluate, generate).

One idea per module: ``config`` (``LMConfig``), ``presets`` (``PRESETS``, ``preset_config``: a preset with some
fields changed), ``build`` (the model a config describes), ``run`` (a training run end to end: ``make_run_config``
for the preset, a config file and the flags, ``train_language_model``, ``train_command``, resuming), ``infer``
(``evaluate_checkpoint``, ``generate_text``, ``load_language_model``), ``plateau`` (the unigram-plateau warning),
``block`` (the block architecture's model and optimizer), ``trainer`` (``make_trainer``: the ``Trainer`` of an
``LMConfig`` on a corpus, the one place the model, its optimizer, batches, schedule and callbacks are built). The
names below are the package's public face; the command's machinery is imported from its module.
"""

from gatedrnn.lm.build import build_language_model
from gatedrnn.lm.config import LMConfig
from gatedrnn.lm.infer import evaluate_checkpoint, generate_text, load_language_model
from gatedrnn.lm.presets import PRESETS, preset_config
from gatedrnn.lm.run import train_language_model
from gatedrnn.lm.trainer import make_trainer

__all__ = ["LMConfig", "PRESETS", "build_language_model", "evaluate_checkpoint", "generate_text",
           "load_language_model", "make_trainer", "preset_config", "train_language_model"]
