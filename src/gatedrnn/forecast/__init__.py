"""Forecasting a real series (``gatedrnn forecast``): train an LSTM/GRU on the earlier part, forecast the held-out
tail recursively, compare with the naive, seasonal-naive and ARIMA forecasts; and stream a trained forecaster.

One idea per module: ``config`` (``ForecastConfig``, ``make_config``), ``metrics`` (``rmse``, ``mae``),
``baselines`` (naive, seasonal naive), ``arima`` (the order rule, ``fit_arima``, ``arima_forecast``), ``model``
(training the forecaster through the ``Trainer``, ``model_forecast``), ``result`` (``ForecastResult``, the
table), ``plot`` (the figure), ``experiment`` (``run``: the experiment and the run's files), ``stream`` (``SeriesStream``).
"""

from gatedrnn.forecast.arima import ArimaChoice, arima_forecast, fit_arima
from gatedrnn.forecast.baselines import naive_forecast, seasonal_naive_forecast
from gatedrnn.forecast.config import ForecastConfig, make_config
from gatedrnn.forecast.experiment import default_out, run
from gatedrnn.forecast.metrics import mae, rmse
from gatedrnn.forecast.model import model_forecast, train_model
from gatedrnn.forecast.result import ForecastResult, format_table
from gatedrnn.forecast.stream import SeriesStream

__all__ = ["ArimaChoice", "ForecastConfig", "ForecastResult", "SeriesStream", "arima_forecast", "default_out",
           "fit_arima", "format_table", "mae", "make_config", "model_forecast", "naive_forecast", "rmse", "run",
           "seasonal_naive_forecast", "train_model"]
