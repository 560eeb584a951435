"""``gatedrnn ablate forget-bias|clip|tbptt``: one change at a time, measured, with a plot."""

from __future__ import annotations

import json
import os


def register(sub):
    p = sub.add_parser("ablate", help="ablations: forget-gate bias, gradient clipping, TBPTT length (with plots)",
                       description="Runs one ablation and writes DIR/NAME.csv and DIR/NAME.png.")
    kinds = p.add_subparsers(dest="ablation", metavar="ABLATION", required=True)

    from gatedrnn.cli.task import add_training_args

    fb = kinds.add_parser("forget-bias", help="LSTM forget-gate bias 0 vs 1 on the adding problem: steps to a target",
                          description="Trains an LSTM on the adding problem once per forget-gate bias (and seed), "
                                      "each stopping when the test MSE falls below --target, and plots the curves.")
    add_training_args(fb, steps=6000, eval_every=50)
    fb.add_argument("--bias", type=float, nargs="+", default=[0.0, 1.0], help="forget-gate biases (default 0 1)")
    fb.add_argument("--seeds", type=int, nargs="+", default=None, help="several seeds (default: --seed)")
    fb.add_argument("--target", type=float, default=0.01, help="test MSE to reach (default 0.01)")
    fb.add_argument("--out", default="ablate_out", metavar="DIR", help="output folder (default ./ablate_out)")
    fb.add_argument("--name", default=None, help="file stem (default forget_bias_T<length>)")
    fb.set_defaults(func=run_forget_bias, task="adding")

    cl = kinds.add_parser("clip", help="gradient clipping off vs on at a high learning rate (SGD, adding problem)",
                          description="Trains the adding problem with the trainer and plain SGD at a high learning "
                                      "rate, first without clipping (expected to stop with the trainer's NaN/Inf "
                                      "message), then with global-norm clipping; plots loss and gradient norm.")
    cl.add_argument("--cell", choices=["lstm", "gru", "rnn"], default="lstm")
    cl.add_argument("--length", type=int, default=50, help="adding-problem length T (default 50)")
    cl.add_argument("--hidden", type=int, default=64)
    cl.add_argument("--batch", type=int, default=32)
    cl.add_argument("--lr", type=float, default=0.5, help="SGD learning rate (default 0.5, high for this task)")
    cl.add_argument("--clip", type=float, default=1.0, help="clipping threshold of the clipped run (default 1.0)")
    cl.add_argument("--steps", type=int, default=300)
    cl.add_argument("--seed", type=int, default=0)
    cl.add_argument("--out", default="ablate_out", metavar="DIR")
    cl.add_argument("--name", default="clipping")
    cl.set_defaults(func=run_clip)

    tb = kinds.add_parser("tbptt", help="Truncated BPTT length vs peak memory and perplexity on Penn Treebank",
                          description="Trains the book's small LSTM language model (embedding 100, hidden 100, SGD "
                                      "lr 20, clip 0.25) on the same number of PTB training tokens for every TBPTT "
                                      "window length; reports one training step's peak memory (tracemalloc) and "
                                      "the validation perplexity.")
    tb.add_argument("--lengths", type=int, nargs="+", default=[10, 35, 70], help="window lengths (default 10 35 70)")
    tb.add_argument("--tokens", type=int, default=280_000, help="training tokens per run (default 280,000)")
    tb.add_argument("--steps", type=int, default=None,
                    help="instead of --tokens: the same number of optimizer steps for every length")
    tb.add_argument("--batch", type=int, default=20)
    tb.add_argument("--hidden", type=int, default=100)
    tb.add_argument("--cell", choices=["lstm", "gru", "rnn"], default="lstm")
    tb.add_argument("--valid-tokens", type=int, default=None, help="use only the first N validation tokens")
    tb.add_argument("--corpus", default="ptb", help="ptb (default), tinyshakespeare or a text file")
    tb.add_argument("--data-dir", default=None, help="folder holding ptb/ (default: GATEDRNN_DATA, the cache)")
    tb.add_argument("--seed", type=int, default=0)
    tb.add_argument("--out", default="ablate_out", metavar="DIR")
    tb.add_argument("--name", default="tbptt")
    tb.set_defaults(func=run_tbptt)


def run_forget_bias(args):
    from gatedrnn.atomic import write_text_atomic
    from gatedrnn.cli.task import config_from_args
    from gatedrnn.lab.ablations import forget_bias, forget_bias_table, plot_forget_bias
    from gatedrnn.lab.tasks import curve_csv

    base = config_from_args(args, cell="lstm", target=args.target)
    seeds = args.seeds or [args.seed]
    print(f"forget-gate bias ablation: adding problem T={base.length}, LSTM {base.hidden} units, batch {base.batch}, "
          f"{base.optimizer} lr {base.lr:g}, clip {base.clip or 'off'}, target test MSE {base.target:g}, at most {base.steps} steps")
    runs = forget_bias(base, args.bias, seeds)
    print(forget_bias_table(runs))
    name = args.name or f"forget_bias_T{base.length}"
    pairs = [(label, r) for label, _, _, r in runs]
    print(f"wrote {write_text_atomic(os.path.join(args.out, name + '.csv'), curve_csv(pairs))}")
    js = {label: r.to_dict() for label, r in pairs}
    print(f"wrote {write_text_atomic(os.path.join(args.out, name + '.json'), json.dumps(js, indent=1) + chr(10))}")
    png = plot_forget_bias(runs, os.path.join(args.out, name + ".png"),
                           f"Forget-gate bias, adding problem T={base.length}: LSTM {base.hidden}, batch {base.batch}, "
                           f"{base.optimizer} lr {base.lr:g}, {len(seeds)} seed(s)")
    if png:
        print(f"wrote {png}")
    return 0


def run_clip(args):
    from gatedrnn.atomic import write_text_atomic
    from gatedrnn.lab.ablations import clipping, clipping_csv, plot_clipping

    runs = clipping(cell=args.cell, length=args.length, hidden=args.hidden, batch=args.batch, lr=args.lr,
                    clip=args.clip, steps=args.steps, seed=args.seed)
    for r in runs:
        end = f"stopped at step {r.steps[-1]} by the trainer (NaN/Inf)" if r.diverged else \
            f"ran {len(r.steps)} steps, validation MSE {r.val_loss:.4f}"
        print(f"{r.label:12s}: {end}")
    print(f"wrote {write_text_atomic(os.path.join(args.out, args.name + '.csv'), clipping_csv(runs))}")
    png = plot_clipping(runs, os.path.join(args.out, args.name + ".png"),
                        f"SGD lr {args.lr:g}, adding problem T={args.length}, {args.cell.upper()} {args.hidden}: "
                        f"clipping off vs {args.clip:g}")
    if png:
        print(f"wrote {png}")
    return 0


def run_tbptt(args):
    from gatedrnn.atomic import write_text_atomic
    from gatedrnn.data.corpus import load_corpus
    from gatedrnn.lab.ablations import plot_tbptt, tbptt, tbptt_csv, tbptt_table

    corpus = load_corpus(args.corpus, data_dir=args.data_dir, progress=False)
    print(f"TBPTT ablation on {corpus}: {args.cell.upper()} LM (embedding 100, hidden {args.hidden}), SGD lr 20, "
          f"clip 0.25, "
          + (f"{args.steps} steps per run" if args.steps else f"{args.tokens:,} training tokens per run"))
    runs = tbptt(corpus, args.lengths, tokens=args.tokens, batch=args.batch, hidden=args.hidden, cell=args.cell,
                 seed=args.seed, valid_tokens=args.valid_tokens, steps=args.steps)
    print(tbptt_table(runs))
    print(f"wrote {write_text_atomic(os.path.join(args.out, args.name + '.csv'), tbptt_csv(runs))}")
    png = plot_tbptt(runs, os.path.join(args.out, args.name + ".png"),
                     f"TBPTT length on {corpus.name}: "
                     + (f"same {args.steps} steps each" if args.steps else f"same {args.tokens:,} training tokens each"))
    if png:
        print(f"wrote {png}")
    return 0
