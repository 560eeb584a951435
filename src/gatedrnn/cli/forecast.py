"""``gatedrnn forecast``: train an LSTM/GRU on a series, forecast its held-out tail, compare with baselines."""

from __future__ import annotations


def register(sub):
    p = sub.add_parser("forecast", help="forecast a time series' held-out tail; RMSE/MAE vs naive, seasonal naive, ARIMA",
                       description="Trains a recurrent forecaster on the earlier part of a series (sunspots and co2 ship "
                                   "inside statsmodels; or a CSV file), forecasts the held-out tail recursively, one step "
                                   "at a time, and prints RMSE and MAE next to the naive, seasonal-naive and ARIMA "
                                   "forecasts (ARIMA's order: seasonal difference for a calendar season, d by the ADF "
                                   "test at 5%, p <= 5 and q <= 2 by AIC). Writes a checkpoint for `gatedrnn stream` "
                                   "and `gatedrnn export`, results.json and forecast.png to --out.")
    p.add_argument("--dataset", required=True, metavar="sunspots|co2|CSV_PATH",
                   help="sunspots (yearly, last 30 years held out), co2 (weekly, last 104 weeks held out) or a CSV file")
    p.add_argument("--column", default=None, help="CSV column to forecast (needed when the file has several numeric columns)")
    p.add_argument("--period", type=int, default=None, help="season length for a CSV (enables seasonal naive and "
                                                            "ARIMA's seasonal difference)")
    p.add_argument("--cell", choices=["lstm", "gru", "rnn"], default="lstm", help="recurrent cell (default lstm)")
    p.add_argument("--hidden", type=int, default=16, help="hidden units (default 16)")
    p.add_argument("--layers", type=int, default=1, help="recurrent layers (default 1)")
    p.add_argument("--window", type=int, default=None, help="steps the model reads before forecasting "
                                                            "(default: sunspots 30, co2 104, CSV 32)")
    p.add_argument("--horizon", type=int, default=None, help="steps forecast from each origin (default: the whole "
                                                             "held-out tail from its start)")
    p.add_argument("--holdout", type=int, default=None, help="values held out at the end (default: sunspots 30, "
                                                             "co2 104, CSV 20%%)")
    p.add_argument("--steps", type=int, default=800, help="training steps (default 800)")
    p.add_argument("--batch", type=int, default=32, help="windows per step (default 32)")
    p.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate, cosine-decayed to 0 (default 0.003)")
    p.add_argument("--clip", type=float, default=1.0, help="global gradient-norm clip, 0 = off (default 1.0)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights and the batch order (default 0)")
    p.add_argument("--no-arima", action="store_true", help="skip the ARIMA baseline (statsmodels not needed then "
                                                            "for a CSV)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="where the checkpoint, results.json and forecast.png go (default runs/forecast-NAME-CELL)")
    p.add_argument("--figure", default=None, metavar="PNG", help="where the forecast plot goes (default OUT/forecast.png)")
    p.set_defaults(func=run)


def run(args):
    from pathlib import Path

    from gatedrnn.cli import CommandError
    from gatedrnn.lab.forecast import ForecastConfig
    from gatedrnn.lab.forecast import run as experiment

    out = args.out or str(Path("runs") / f"forecast-{Path(args.dataset).stem}-{args.cell}")
    cfg = ForecastConfig(dataset=args.dataset, column=args.column, period=args.period, cell=args.cell,
                         hidden=args.hidden, layers=args.layers, window=args.window, horizon=args.horizon,
                         holdout=args.holdout, steps=args.steps, batch=args.batch, lr=args.lr,
                         clip=args.clip if args.clip and args.clip > 0 else None, seed=args.seed,
                         arima=not args.no_arima, out=out, figure=args.figure)
    try:
        experiment(cfg)
    except ImportError as exc:
        raise CommandError(str(exc)) from None
    return 0
