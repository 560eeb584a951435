"""The ARIMA baseline (statsmodels, an optional extra), its order chosen on the training part by a rule fixed
before looking at the held-out tail:

1. series with a calendar season s (co2: 52 weeks) are seasonally differenced once, y_t - y_{t-s} (so the model
   is SARIMA(p,d,q)(0,1,0)_s); sunspots' cycle is not a fixed season and is left to the AR terms;
2. d = the smallest of 0, 1, 2 for which the augmented Dickey-Fuller test (statsmodels ``adfuller``, lag length
   by AIC) rejects a unit root at the 5% level;
3. p in 0..5 and q in 0..2 by the lowest AIC of ``ARIMA(p, d, q)`` fitted by maximum likelihood, with a constant
   when d = 0 and none otherwise.

At later origins the fitted parameters are kept and only the data is extended (``results.apply``). The search and
the forecasts read only the ``baselines.recent`` part of the history (the last 10,000 values; a note says so when
that drops some), so that the order search takes seconds on a series of any length.

The tables label it ``ARIMA(p,d,q) (gatedrnn's order search)``; where statsforecast is installed its AutoARIMA
(``baselines_sf``, the standard stepwise search) is the reference ARIMA and this one is kept for comparison.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy

from gatedrnn.errors import UserError, require
from gatedrnn.forecast.baselines import recent

ARIMA_MAX_P, ARIMA_MAX_Q, ADF_ALPHA = 5, 2, 0.05
MIN_VALUES = 10                 # the ADF test and the fits need a few values (after the seasonal difference)
PURPOSE = "the ARIMA baseline (--no-arima skips it)"
ORDER_SEARCH = "gatedrnn's order search"          # how the tables tell this ARIMA from statsforecast's AutoARIMA


@contextlib.contextmanager
def one_blas_thread():
    """The models here are tiny: one BLAS thread is faster on shared cores (and its sums are the same on every
    run). Uses threadpoolctl when it is installed; does nothing otherwise."""
    if importlib.util.find_spec("threadpoolctl") is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def require_statsmodels() -> None:
    """Raise ``MissingDependency`` now (before any training) when statsmodels is not installed."""
    require("statsmodels", PURPOSE, "forecast")


def check_arima_input(n_train: int, season: int | None) -> None:
    """A one-line ``UserError`` when the training part is too short for the ADF test and the fits."""
    n = n_train - (season or 0)
    if n < MIN_VALUES:
        lag = f" after the seasonal difference at lag {season}" if season else ""
        raise UserError(f"ARIMA: expected at least {MIN_VALUES} training values{lag}, got {n} (a longer series, "
                        "or --no-arima)")


@dataclass
class ArimaChoice:
    """The chosen order, its fitted statsmodels results, and how it was chosen."""

    order: tuple
    season: int | None
    trend: str
    results: Any   # statsmodels' ARIMAResults (an optional dependency)
    aic: float
    adf_p: list
    fits: int
    n_train: int = 0        # the length of the training part (the search read its ``recent`` part)

    @property
    def label(self) -> str:
        p, d, q = self.order
        return f"ARIMA({p},{d},{q})" + (f"(0,1,0)[{self.season}]" if self.season else "")


def _seasonal_diff(y, s):
    return y[s:] - y[:-s] if s else y


def _choose_d(w, adfuller) -> tuple[int, list]:
    """Step 2 of the rule: the smallest d (at most 2) whose ADF test rejects a unit root; and the p-values."""
    adf_p, d = [], 0
    while True:
        p_value = float(adfuller(numpy.diff(w, d) if d else w, autolag="AIC")[1])
        adf_p.append(p_value)
        if p_value < ADF_ALPHA or d == 2:
            return d, adf_p
        d += 1


def fit_arima(train: numpy.ndarray, season: int | None, echo=print) -> ArimaChoice:
    """Choose and fit the ARIMA order by the rule in the module docstring (``echo``: the size rule's note)."""
    ARIMA = require("statsmodels.tsa.arima.model", PURPOSE, "forecast").ARIMA
    adfuller = require("statsmodels.tsa.stattools", PURPOSE, "forecast").adfuller
    check_arima_input(len(train), season)
    part = recent(train, season)
    if part.size < len(train):
        echo(f"   note: the ARIMA order search reads the last {part.size:,} of the {len(train):,} training values "
             f"(a size rule that bounds its time)")
    w = _seasonal_diff(part, season)
    with warnings.catch_warnings(), one_blas_thread():
        warnings.simplefilter("ignore")
        d, adf_p = _choose_d(w, adfuller)
        trend = "c" if d == 0 else "n"
        best, fits = None, 0
        for p in range(ARIMA_MAX_P + 1):
            for q in range(ARIMA_MAX_Q + 1):
                try:
                    res = ARIMA(w, order=(p, d, q), trend=trend).fit()
                except (ValueError, numpy.linalg.LinAlgError):   # statsmodels cannot fit this order: not a candidate
                    continue
                fits += 1
                if math.isfinite(res.aic) and (best is None or res.aic < best[0]):
                    best = (float(res.aic), (p, d, q), res)
    if best is None:
        raise UserError("ARIMA: expected an order in the grid that can be fitted to the training part, got none")
    return ArimaChoice(best[1], season, trend, best[2], best[0], adf_p, fits, len(train))


def arima_forecast(choice: ArimaChoice, history: numpy.ndarray, h: int) -> numpy.ndarray:
    """Forecast ``h`` steps after ``history`` with the chosen order and its fitted parameters."""
    s = choice.season
    history = numpy.asarray(history, dtype=numpy.float64)
    w = _seasonal_diff(recent(history, s), s)
    with warnings.catch_warnings(), one_blas_thread():
        warnings.simplefilter("ignore")
        res = choice.results if len(history) == choice.n_train else choice.results.apply(w)
        fw = numpy.asarray(res.forecast(h), dtype=numpy.float64)
    if not s:
        return fw
    full = numpy.concatenate([history, numpy.empty(h)])
    o = len(history)
    for k in range(h):
        full[o + k] = full[o + k - s] + fw[k]
    return full[o:]
