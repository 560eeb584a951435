"""``gatedrnn forecast``: train a recurrent forecaster on a series, forecast its held-out tail, compare with baselines.

The flags are generated from ``gatedrnn.forecast.ForecastConfig``; ``--config FILE`` (JSON or TOML, e.g. a run's
``config.json``) gives the fields first and flags override it. This module only parses and calls
``gatedrnn.forecast.run``, ``gatedrnn.forecast.future.predict_future`` (``--predict H``) or
``gatedrnn.forecast.m4.run_m4`` (``--dataset m4-hourly``).
"""

from __future__ import annotations

DESCRIPTION = ("Trains the Forecaster (one global recurrent model; the window, size and steps not given chosen from the "
               "training part within --time-limit seconds) on the earlier part of a series (sunspots and co2 ship "
               "inside statsmodels; or a CSV file), forecasts the held-out tail from its start (all of its steps at "
               "once; --strategy recursive: one step at a time), and prints RMSE and MAE "
               "next to the naive, seasonal-naive and ARIMA forecasts (gatedrnn's order search: seasonal difference "
               "for a calendar season, d by the ADF test at 5%, p <= 5 and q <= 2 by AIC) and, when statsforecast is "
               "installed, its AutoARIMA (then the reference ARIMA), AutoETS and AutoTheta, fitted once on the "
               "training part (--baselines chooses). Writes a checkpoint for "
               "`gatedrnn stream` and `gatedrnn export`, results.json, config.json and forecast.png to --out. "
               "--predict H trains the global quantile Forecaster on the whole series (the window, size and steps "
               "not given chosen from the data within --time-limit seconds: the last H values held out, early "
               "stopping, then a refit; OUT/config.json records them) and writes the next H values "
               "with 80/95% intervals to OUT/future.csv (timestamps continued when the CSV has a date column) and "
               "a plot to OUT/future.png. A CSV may be ',' or ';' separated; gaps are refused (--fill interpolate "
               "fills them). --dataset m4-hourly trains it on M4's 414 hourly series and "
               "prints sMAPE/MASE/OWA next to the baselines and the competition's published figures.")


def register(sub):
    from gatedrnn.config import add_config_file_flag, add_config_flags
    from gatedrnn.forecast import ForecastConfig

    p = sub.add_parser("forecast", help="forecast a time series' held-out tail; RMSE/MAE vs naive, seasonal naive, ARIMA",
                       description=DESCRIPTION)
    add_config_file_flag(p)
    p.add_argument("--out", default=None, metavar="DIR", help="where the checkpoint, results.json, config.json and "
                                                              "forecast.png go (default runs/forecast-NAME-CELL)")
    p.add_argument("--figure", default=None, metavar="PNG", help="where the forecast plot goes (default OUT/forecast.png; "
                                                                 "never an input or an existing file of another program)")
    p.add_argument("--overwrite", action="store_true", help="replace the outputs in an --out that holds files this "
                                                            "command did not write (other files there are kept), and an "
                                                            "existing --figure")
    p.add_argument("--data-dir", default=None, metavar="DIR",
                   help="--dataset m4-hourly: folder holding m4/Hourly-train.csv and m4/Hourly-test.csv (else GATEDRNN_DATA)")
    p.add_argument("--predict", type=int, default=None, metavar="H",
                   help="train on the whole series instead and write the next H values with intervals to OUT/future.csv "
                        "and OUT/future.png")
    add_config_flags(p, ForecastConfig)
    p.set_defaults(func=run)


def run(args):
    from gatedrnn.config import given_flags
    from gatedrnn.forecast.config import ForecastConfig, make_config
    from gatedrnn.forecast.experiment import default_out
    from gatedrnn.forecast.experiment import run as experiment
    from gatedrnn.forecast.future import predict_future
    from gatedrnn.forecast.m4 import CHEAP, DATASET, run_m4

    cfg = make_config(args.config, given_flags(ForecastConfig, args))
    cfg.check_command(args.predict, args.figure)     # flags this run would ignore: one line
    common = {"out": args.out or default_out(cfg), "overwrite": args.overwrite, "inputs": [args.config],
              "progress": not args.no_progress}
    if cfg.dataset == DATASET:
        names = cfg.baseline_list()
        run_m4(cfg, data_dir=args.data_dir, baselines=list(CHEAP) if names == ["auto"] else names, **common)
        return 0
    if args.predict is not None:
        predict_future(cfg, args.predict, **common)
        return 0
    experiment(cfg, figure=args.figure, **common)
    return 0
