"""Forecasting (``gatedrnn forecast``): one engine, the global ``Forecaster``, for a held-out evaluation against the
naive, seasonal-naive and ARIMA forecasts, ``--predict``, M4 Hourly and streaming.

One idea per module: ``config`` (``ForecastConfig``, ``make_config``), ``metrics`` (``rmse``, ``mae``),
``baselines`` (naive, seasonal naive), ``arima`` (the order rule, ``fit_arima``, ``arima_forecast``), ``training``
(training one network through the ``Trainer``), ``result`` (``ForecastResult``, the table), ``plot`` (the figure),
``experiment`` (``run``: the held-out evaluation and the run's files), ``live`` (``ForecastStream``);
``forecaster`` (``Forecaster``: one global quantile model over many series, fit / predict / save / load) and
``features`` (its input layouts, per-window normalisation, training windows, pinball loss), ``covariates`` (what the
network reads from covariates known in advance, the ``X_df`` checks), ``saved`` (what ``Forecaster.load`` reads);
M4's measures in ``metrics`` (``smape``, ``mase``, ``msis``, ``coverage``, ``owa``) and its Naive2 in ``baselines``
(``naive2_forecast``); ``m4`` (``gatedrnn forecast --dataset m4-hourly``), ``baselines_sf`` (statsforecast's
automatic methods, cached), ``future`` (``--predict H``), ``backtest`` (``backtest``: rolling-origin forecasts
with or without refits, ``backtest_scores``).

The names below are the package's public face: the estimator, its config, backtests, the measures and the
baselines. The command's own machinery (``experiment.run``, ``config.make_config``, ``result.format_table``, the
ARIMA baseline ...) is imported from its module. Importing the package registers the checkpoint kind
``forecaster`` (``gatedrnn.models.io``): ``gatedrnn.load`` of a ``Forecaster.save`` folder gives the Forecaster.
"""

from gatedrnn.deploy.adapters import register_adapter
from gatedrnn.forecast.backtest import backtest, backtest_scores, forecast_after
from gatedrnn.forecast.baselines import naive2_forecast, naive_forecast, seasonal_naive_forecast
from gatedrnn.forecast.config import ForecastConfig
from gatedrnn.forecast.export_adapter import ADAPTER as _EXPORT_ADAPTER
from gatedrnn.forecast.forecaster import Forecaster
from gatedrnn.forecast.metrics import coverage, mae, mase, msis, owa, rmse, smape
from gatedrnn.models.io import register_kind

# the members are the siblings of the checkpoint found (model, model-1 ...): the Forecaster is their folder's
register_kind("forecaster", Forecaster, lambda found: Forecaster.load(found.parent))
register_adapter("forecaster", _EXPORT_ADAPTER)     # deploy imports no application: forecast hands its adapter down

__all__ = ["ForecastConfig", "Forecaster", "backtest", "backtest_scores", "coverage", "forecast_after", "mae", "mase",
           "msis", "naive2_forecast", "naive_forecast", "owa", "rmse", "seasonal_naive_forecast", "smape"]
