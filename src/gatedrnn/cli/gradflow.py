"""``gatedrnn gradflow``: the gradient reaching every earlier step, per cell, as a CSV, a table and a PNG."""

from __future__ import annotations

from gatedrnn.config import add_config_flags, given_flags
from gatedrnn.lab.gradflow import GradflowConfig


def register(sub):
    p = sub.add_parser(
        "gradflow", help="gradient norm reaching every step (vanishing/exploding gradients), RNN vs LSTM vs GRU",
        description="Runs a freshly initialised layer over a sequence of N(0,1) inputs, puts the loss sum(h_T) on "
                    "the last step only and records, from the library's own backward pass, |dL/dh_t| (and "
                    "|dL/dc_t| for the LSTM, along the cell path) and |dL/dx_t| for every step. Writes DIR/NAME.csv "
                    "and DIR/NAME.png (log-scale y, one panel per cell) and prints |dL/dx_1| / |dL/dx_T| for each.")
    add_config_flags(p, GradflowConfig)
    p.add_argument("--out", default="gradflow_out", metavar="DIR", help="output folder (default: ./gradflow_out)")
    p.add_argument("--name", default="gradflow", help="file stem of the CSV and PNG (default: gradflow)")
    p.set_defaults(func=run)


def run(args):
    from gatedrnn.lab.gradflow import run_gradflow

    run_gradflow(GradflowConfig().replace(**given_flags(GradflowConfig, args)), args.out, args.name)
    return 0
