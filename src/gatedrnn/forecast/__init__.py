"""Forecasting (``gatedrnn forecast``): one engine, the global ``Forecaster``, for a held-out evaluation against the
naive, seasonal-naive and ARIMA forecasts, ``--predict``, M4 Hourly and streaming.

One idea per module: ``config`` (``ForecastConfig``, ``make_config``), ``metrics`` (``rmse``, ``mae``),
``baselines`` (naive, seasonal naive), ``arima`` (the order rule, ``fit_arima``, ``arima_forecast``), ``training``
(training one network through the ``Trainer``), ``result`` (``ForecastResult``, the table), ``plot`` (the figure),
``experiment`` (``run``: the held-out evaluation and the run's files), ``live`` (``ForecastStream``);
``forecaster`` (``Forecaster``: one global quantile model over many series, fit / predict / save / load) and
``features`` (its input layouts, per-window normalisation, training windows, pinball loss), ``covariates`` (what the
network reads from covariates known in advance, the ``X_df`` checks); M4's measures in
``metrics`` (``smape``, ``mase``, ``msis``, ``coverage``, ``owa``) and its Naive2 in ``baselines``
(``naive2_forecast``); ``m4`` (``gatedrnn forecast --dataset m4-hourly``), ``baselines_sf`` (statsforecast's
automatic methods, cached), ``future`` (``--predict H``), ``backtest`` (``backtest``: rolling-origin forecasts
with or without refits, ``backtest_scores``).
"""

from gatedrnn.forecast.arima import ArimaChoice, arima_forecast, fit_arima
from gatedrnn.forecast.backtest import backtest, backtest_scores, forecast_after
from gatedrnn.forecast.baselines import naive2_forecast, naive_forecast, seasonal_naive_forecast
from gatedrnn.forecast.config import ForecastConfig, make_config
from gatedrnn.forecast.experiment import default_out, run
from gatedrnn.forecast.forecaster import Forecaster
from gatedrnn.forecast.metrics import coverage, mae, mase, msis, owa, rmse, smape
from gatedrnn.forecast.result import ForecastResult, format_table

__all__ = ["ArimaChoice", "ForecastConfig", "ForecastResult", "Forecaster", "arima_forecast",
           "backtest", "backtest_scores", "coverage", "forecast_after",
           "default_out", "fit_arima", "format_table", "mae", "make_config", "mase", "msis",
           "naive2_forecast", "naive_forecast", "owa", "rmse", "run", "seasonal_naive_forecast", "smape"]
