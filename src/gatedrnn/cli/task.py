"""``gatedrnn task adding|copy``: train on a long-range synthetic task and compare with the trivial baseline."""

from __future__ import annotations

import json
import os


def add_training_args(p, *, steps=3000, hidden=128, batch=32, lr=2e-3, eval_every=100):
    p.add_argument("--length", type=int, default=100,
                   help="T: sequence length (adding) or delay in blanks (copy) (default 100)")
    p.add_argument("--hidden", type=int, default=hidden, help=f"hidden units (default {hidden})")
    p.add_argument("--batch", type=int, default=batch, help=f"sequences per step, drawn fresh every step (default {batch})")
    p.add_argument("--steps", type=int, default=steps, help=f"training steps (default {steps})")
    p.add_argument("--lr", type=float, default=lr, help=f"learning rate (default {lr:g})")
    p.add_argument("--optimizer", choices=["adam", "sgd"], default="adam", help="optimizer (default adam)")
    p.add_argument("--clip", type=float, default=1.0, help="global gradient-norm clip, 0 = off (default 1.0)")
    p.add_argument("--eval-every", type=int, default=eval_every, help=f"steps between test evaluations (default {eval_every})")
    p.add_argument("--test-size", type=int, default=1000, help="sequences in the fixed test set (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and the training data; the test set "
                                                       "uses seed + 1 (default 0)")
    p.add_argument("--symbols", type=int, default=5, help="copy task: string length (default 5)")
    p.add_argument("--alphabet", type=int, default=8, help="copy task: alphabet size (default 8)")


def register(sub):
    p = sub.add_parser("task", help="long-range synthetic tasks (adding problem, copy task) with a learning curve",
                       description="Trains a recurrent regressor on freshly generated batches of the adding problem "
                                   "(predict the sum of two marked numbers in a sequence of length T) or the copy "
                                   "task (reproduce a symbol string after T blanks), prints the learning curve and "
                                   "the final test error against the trivial baseline. Several --cell values run "
                                   "with the same budget, one after the other.")
    p.add_argument("task", choices=["adding", "copy"])
    p.add_argument("--cell", nargs="+", choices=["lstm", "gru", "rnn"], default=["lstm"],
                   help="one or more cells, same budget for each (default lstm)")
    p.add_argument("--forget-bias", type=float, default=1.0, help="LSTM forget-gate bias (default 1.0)")
    add_training_args(p)
    p.add_argument("--target", type=float, default=None,
                   help="stop a run once the test error falls below this (default: run all steps)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="also write DIR/NAME.csv (curves), DIR/NAME.json (results) and DIR/NAME.png")
    p.add_argument("--name", default=None, help="file stem in DIR (default TASK_T<length>)")
    p.set_defaults(func=run)


def config_from_args(args, **over):
    from gatedrnn.lab.tasks import TaskConfig

    kw = dict(task=getattr(args, "task", "adding"), length=args.length, hidden=args.hidden, batch=args.batch,
              steps=args.steps, lr=args.lr, optimizer=args.optimizer, clip=args.clip if args.clip and args.clip > 0 else None,
              seed=args.seed, eval_every=args.eval_every, test_size=args.test_size, symbols=args.symbols,
              alphabet=args.alphabet)
    kw.update(over)
    return TaskConfig(**kw).check()


def describe(r) -> str:
    c = r.config
    if c.task == "adding":
        base = f"trivial baseline (always predict 1.0) {r.baseline:.3f}"
        return f"final test MSE {r.test_error:.4f} vs {base}"
    return (f"final test cross-entropy {r.test_error:.4f}, {100 * r.test_accuracy:.1f}% of symbols right, vs "
            f"guessing uniformly {r.baseline:.3f} ({100 / c.alphabet:.1f}%)")


def run(args):
    from gatedrnn.atomic import write_text_atomic
    from gatedrnn.lab.tasks import curve_csv, plot_curves, train

    results = []
    for cell in dict.fromkeys(args.cell):
        cfg = config_from_args(args, cell=cell, forget_bias=args.forget_bias, target=args.target)
        what = "adding problem" if cfg.task == "adding" else "copy task"
        extra = f", forget bias {cfg.forget_bias:g}" if cell == "lstm" else ""
        print(f"{what}, T={cfg.length}: {cell.upper()} {cfg.hidden} units{extra}, batch {cfg.batch}, "
              f"{'Adam' if cfg.optimizer == 'adam' else 'SGD'} lr {cfg.lr:g}, clip {cfg.clip or 'off'}, {cfg.steps} steps, seed {cfg.seed}")
        r = train(cfg)
        print(f"{cell.upper()}: {describe(r)} ({r.seconds:.0f}s)")
        results.append((cell, r))
    if len(results) > 1:
        print("summary:")
        for cell, r in results:
            print(f"  {cell:5s} {describe(r)}  [{r.seconds:.0f}s]")
    if args.out:
        name = args.name or f"{args.task}_T{args.length}"
        csv = write_text_atomic(os.path.join(args.out, f"{name}.csv"), curve_csv(results))
        js = write_text_atomic(os.path.join(args.out, f"{name}.json"),
                               json.dumps({cell: r.to_dict() for cell, r in results}, indent=1) + "\n")
        print(f"wrote {csv}\nwrote {js}")
        what = "Adding problem" if args.task == "adding" else "Copy task"
        r0 = results[0][1]
        png = plot_curves(results, os.path.join(args.out, f"{name}.png"),
                          f"{what}, T={args.length}: hidden {args.hidden}, batch {args.batch}, seed {args.seed}",
                          target=args.target, baseline=r0.baseline)
        if png:
            print(f"wrote {png}")
    return 0
