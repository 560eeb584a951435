"""``gatedrnn ablate forget-bias|clip|tbptt``: one change at a time, measured, with a plot."""

from __future__ import annotations

from gatedrnn.config import add_config_flags, given_flags
from gatedrnn.lab.ablations import ClipConfig, ForgetBiasConfig
from gatedrnn.lab.tbptt import TBPTTConfig


def _out_flags(p, name: str | None, default_name: str):
    p.add_argument("--out", default="ablate_out", metavar="DIR", help="output folder (default: ./ablate_out)")
    p.add_argument("--name", default=name, help=f"file stem in DIR (default: {default_name})")


def register(sub):
    p = sub.add_parser("ablate", help="ablations: forget-gate bias, gradient clipping, TBPTT length (with plots)",
                       description="Runs one ablation and writes DIR/NAME.csv and DIR/NAME.png.")
    kinds = p.add_subparsers(dest="ablation", metavar="ABLATION", required=True)

    fb = kinds.add_parser("forget-bias", help="LSTM forget-gate bias 0 vs 1 on the adding problem: steps to a target",
                          description="Trains an LSTM on the adding problem once per forget-gate bias (and seed), "
                                      "each stopping when the test MSE falls below --target, and plots the curves.")
    add_config_flags(fb, ForgetBiasConfig, skip=("task", "cell", "forget_bias"))
    _out_flags(fb, None, "forget_bias_T<length>")
    fb.set_defaults(func=run_forget_bias)

    cl = kinds.add_parser("clip", help="gradient clipping off vs on at a high learning rate (SGD, adding problem)",
                          description="Trains the adding problem with the trainer and plain SGD at a high learning "
                                      "rate, first without clipping (expected to stop with the trainer's NaN/Inf "
                                      "message), then with global-norm clipping; plots loss and gradient norm.")
    add_config_flags(cl, ClipConfig)
    _out_flags(cl, "clipping", "clipping")
    cl.set_defaults(func=run_clip)

    tb = kinds.add_parser("tbptt", help="Truncated BPTT length vs peak memory and perplexity on Penn Treebank",
                          description="Trains the book's small LSTM language model (embedding 100, hidden 100, SGD "
                                      "lr 20, clip 0.25) on the same number of PTB training tokens for every TBPTT "
                                      "window length; reports one training step's peak memory (tracemalloc) and "
                                      "the validation perplexity.")
    add_config_flags(tb, TBPTTConfig)
    tb.add_argument("--data-dir", default=None, help="folder holding ptb/ (default: GATEDRNN_DATA, the cache)")
    _out_flags(tb, "tbptt", "tbptt")
    tb.set_defaults(func=run_tbptt)


def run_forget_bias(args):
    from gatedrnn.lab.ablations import run_forget_bias as run

    run(ForgetBiasConfig().replace(**given_flags(ForgetBiasConfig, args)), args.out, args.name)
    return 0


def run_clip(args):
    from gatedrnn.lab.ablations import run_clipping

    run_clipping(ClipConfig().replace(**given_flags(ClipConfig, args)), args.out, args.name)
    return 0


def run_tbptt(args):
    from gatedrnn.lab.tbptt import run_tbptt as run

    run(TBPTTConfig().replace(**given_flags(TBPTTConfig, args)), args.out, args.name, data_dir=args.data_dir)
    return 0
