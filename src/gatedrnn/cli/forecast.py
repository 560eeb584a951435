"""``gatedrnn forecast``: train a recurrent forecaster on a series, forecast its held-out tail, compare with baselines.

The flags are generated from ``gatedrnn.forecast.ForecastConfig``; ``--config FILE`` (JSON or TOML, e.g. a run's
``config.json``) gives the fields first and flags override it. This module only parses and calls
``gatedrnn.forecast.run``.
"""

from __future__ import annotations

DESCRIPTION = ("Trains a recurrent forecaster on the earlier part of a series (sunspots and co2 ship inside statsmodels; "
               "or a CSV file), forecasts the held-out tail recursively, one step at a time, and prints RMSE and MAE "
               "next to the naive, seasonal-naive and ARIMA forecasts (ARIMA's order: seasonal difference for a "
               "calendar season, d by the ADF test at 5%, p <= 5 and q <= 2 by AIC). Writes a checkpoint for "
               "`gatedrnn stream` and `gatedrnn export`, results.json, config.json and forecast.png to --out.")


def register(sub):
    from gatedrnn.config import add_config_flags
    from gatedrnn.forecast import ForecastConfig

    p = sub.add_parser("forecast", help="forecast a time series' held-out tail; RMSE/MAE vs naive, seasonal naive, ARIMA",
                       description=DESCRIPTION)
    p.add_argument("--config", default=None, metavar="FILE",
                   help="a JSON or TOML file of the fields below (e.g. a run's config.json); flags override it")
    p.add_argument("--out", default=None, metavar="DIR", help="where the checkpoint, results.json, config.json and "
                                                              "forecast.png go (default runs/forecast-NAME-CELL)")
    p.add_argument("--figure", default=None, metavar="PNG", help="where the forecast plot goes (default OUT/forecast.png)")
    add_config_flags(p, ForecastConfig)
    p.set_defaults(func=run)


def run(args):
    from gatedrnn.config import given_flags
    from gatedrnn.forecast import ForecastConfig, default_out, make_config
    from gatedrnn.forecast import run as experiment

    cfg = make_config(args.config, given_flags(ForecastConfig, args))
    experiment(cfg, out=args.out or default_out(cfg), figure=args.figure)
    return 0
