"""Language modelling, the book's chapter 6: the run configuration and its presets, the model they build, training
runs end to end, and the checkpoint-side helpers (evaluate, generate)."""

from gatedrnn.lm.build import book_init, build_language_model, unigram_bias
from gatedrnn.lm.config import LMConfig
from gatedrnn.lm.infer import (
                               check_corpus_vocab,
                               detokenize,
                               evaluate_checkpoint,
                               generate_text,
                               iter_generated,
                               load_language_model,
                               print_generated,
)
from gatedrnn.lm.presets import PRESETS, make_config
from gatedrnn.lm.run import make_run_config, resume_config, train_command, train_language_model

__all__ = ["LMConfig", "PRESETS", "book_init", "build_language_model", "check_corpus_vocab", "detokenize",
           "iter_generated", "print_generated", "evaluate_checkpoint",
           "generate_text", "load_language_model", "make_config", "make_run_config", "resume_config", "train_command",
           "train_language_model", "unigram_bias"]
