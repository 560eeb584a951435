"""``gatedrnn gradflow``: the gradient reaching every earlier step, per cell, as a CSV, a table and a PNG."""

from __future__ import annotations

import os


def register(sub):
    p = sub.add_parser(
        "gradflow", help="gradient norm reaching every step (vanishing/exploding gradients), RNN vs LSTM vs GRU",
        description="Runs a freshly initialised layer over a sequence of N(0,1) inputs, puts the loss sum(h_T) on "
                    "the last step only and records, from the library's own backward pass, |dL/dh_t| (and "
                    "|dL/dc_t| for the LSTM, along the cell path) and |dL/dx_t| for every step. Writes DIR/NAME.csv and DIR/NAME.png "
                    "(log-scale y, one panel per cell) and prints |dL/dx_1| / |dL/dx_T| for each.")
    p.add_argument("--cell", nargs="+", choices=["rnn", "lstm", "gru"], default=["rnn", "lstm", "gru"],
                   help="one or more cells (default: all three)")
    p.add_argument("--steps", type=int, default=100, help="sequence length T (default 100)")
    p.add_argument("--hidden", type=int, default=64, help="hidden units (default 64; inputs have as many features)")
    p.add_argument("--batch", type=int, default=1, help="sequences in the batch (default 1)")
    p.add_argument("--weight-scale", type=float, nargs="+", default=[None], metavar="S",
                   help="multiply the recurrent weights W_hh by S (< 1: vanishing, > 1: exploding in the plain "
                        "RNN); several values give one panel each (default: the initialisation as drawn)")
    p.add_argument("--forget-bias", type=float, nargs="+", default=[1.0], metavar="B",
                   help="LSTM forget-gate bias; several values give one LSTM panel each (default 1.0)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and the inputs (default 0)")
    p.add_argument("--out", default="gradflow_out", metavar="DIR", help="output folder (default ./gradflow_out)")
    p.add_argument("--name", default="gradflow", help="file stem of the CSV and PNG (default gradflow)")
    p.set_defaults(func=run)


def run(args):
    from gatedrnn.atomic import write_text_atomic
    from gatedrnn.lab.gradflow import compare, plot, summary, to_csv

    cells = list(dict.fromkeys(args.cell))
    runs = compare(cells, forget_biases=args.forget_bias, weight_scales=args.weight_scale, steps=args.steps,
                   hidden=args.hidden, batch=args.batch, seed=args.seed)
    print(f"gradient of L = sum(h_{args.steps}) reaching earlier steps (hidden {args.hidden}, batch {args.batch}, "
          f"inputs N(0,1), seed {args.seed}, float64)")
    print(summary(runs))
    csv = write_text_atomic(os.path.join(args.out, f"{args.name}.csv"), to_csv(runs))
    print(f"wrote {csv}")
    png = plot(runs, os.path.join(args.out, f"{args.name}.png"))
    if png:
        print(f"wrote {png}")
    return 0
