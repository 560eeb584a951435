"""Forecasting a real series: train an LSTM/GRU on the earlier part, forecast the held-out tail, compare with
the naive, seasonal-naive and ARIMA forecasts (``gatedrnn forecast``).

The model
    A ``SequenceRegressor`` (many-to-many) reads two standardised inputs per step, the level and the change
    from the previous step, and predicts the standardised next change (``data.series.SeriesScaler``, fitted on
    the training part only). It is trained with MSE by the project's ``Trainer`` (Adam, global-norm clipping,
    cosine learning-rate decay) on every sliding window of ``window`` steps of the training part, each window
    starting from the zero state; nothing of the held-out tail is seen in training or used to pick anything.

How the horizon is forecast: recursively, one step at a time
    At a forecast origin the model reads the last ``window`` observed steps from the zero state (as in
    training), predicts the next change, adds it to the last value, feeds its own forecast back as the next
    observation and so on for ``horizon`` steps (``deploy.stream.Stream``, one step per call). With
    ``horizon`` equal to the held-out length (the default) there is one origin, the end of the training part,
    and the whole tail is forecast without seeing any of it. A shorter horizon gives rolling origins every
    ``horizon`` steps through the tail, each using the true values before it (no refitting, for any method).

Baselines, forecast from the same origins
    naive: the last observed value. Seasonal naive (series with a period): the value one period earlier
    (for sunspots the 11-year mean solar cycle, though the cycle's length varies). ARIMA (statsmodels, an
    optional extra), order chosen on the training part by this rule, fixed before looking at the tail:

    1. series with a calendar season s (co2: 52 weeks) are seasonally differenced once, y_t - y_{t-s}
       (so the model is SARIMA(p,d,q)(0,1,0)_s); sunspots' cycle is not a fixed season and is left to the AR
       terms;
    2. d = the smallest of 0, 1, 2 for which the augmented Dickey-Fuller test (statsmodels ``adfuller``,
       lag length by AIC) rejects a unit root at the 5% level;
    3. p in 0..5 and q in 0..2 by the lowest AIC of ``ARIMA(p, d, q)`` fitted by maximum likelihood, with a
       constant when d = 0 and none otherwise.

    At later origins the fitted parameters are kept and only the data is extended (``results.apply``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy

from gatedrnn.data.series import Series, SeriesScaler, load_series, make_windows, split

DEFAULT_WINDOW = {"sunspots": 30, "co2": 104}
ARIMA_MAX_P, ARIMA_MAX_Q, ADF_ALPHA = 5, 2, 0.05


@dataclass
class ForecastConfig:
    dataset: str
    column: str | None = None
    period: int | None = None        # season length for a CSV (seasonal naive and ARIMA's seasonal difference)
    cell: str = "lstm"
    hidden: int = 16
    layers: int = 1
    window: int | None = None        # steps the model reads (default: sunspots 30, co2 104, CSV 32)
    horizon: int | None = None       # steps forecast from each origin (default: the whole held-out tail)
    holdout: int | None = None       # held-out tail (default: sunspots 30, co2 104, CSV 20%)
    steps: int = 800
    batch: int = 32
    lr: float = 3e-3
    clip: float | None = 1.0
    seed: int = 0
    arima: bool = True
    plot: bool = True
    out: str | None = None
    figure: str | None = None        # where the PNG goes (default OUT/forecast.png)

    def check(self) -> "ForecastConfig":
        if self.cell not in ("lstm", "gru", "rnn"):
            raise ValueError(f"cell: expected lstm, gru or rnn, got {self.cell!r}")
        for name in ("hidden", "layers", "steps", "batch"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: expected a positive integer, got {v!r}")
        for name in ("window", "horizon", "holdout"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or v < 1):
                raise ValueError(f"{name}: expected a positive integer, got {v!r}")
        if not self.lr > 0:
            raise ValueError(f"lr: expected a positive number, got {self.lr}")
        return self


@dataclass
class ForecastResult:
    config: dict
    series: str
    n_train: int
    n_test: int
    horizon: int
    window: int
    origins: list
    rows: list                      # [{"method", "rmse", "mae"}], the model first
    forecasts: dict                 # method -> list of floats over the held-out tail
    truth: list
    arima_order: str | None = None
    train_loss: float | None = None
    seconds: dict = field(default_factory=dict)
    checkpoint: str | None = None
    figure: str | None = None

    def row(self, method_prefix: str) -> dict | None:
        return next((r for r in self.rows if r["method"].startswith(method_prefix)), None)


# -- metrics and baselines -------------------------------------------------------------------------------
def rmse(f, y) -> float:
    return float(numpy.sqrt(numpy.mean((numpy.asarray(f) - numpy.asarray(y)) ** 2)))


def mae(f, y) -> float:
    return float(numpy.mean(numpy.abs(numpy.asarray(f) - numpy.asarray(y))))


def naive_forecast(history: numpy.ndarray, h: int) -> numpy.ndarray:
    return numpy.full(h, history[-1], dtype=numpy.float64)


def seasonal_naive_forecast(history: numpy.ndarray, h: int, period: int) -> numpy.ndarray:
    """``y_hat[o + k - 1] = y[o + k - 1 - period * ceil(k / period)]`` for k = 1..h, o = len(history)."""
    o = len(history)
    return numpy.array([history[o + k - 1 - period * math.ceil(k / period)] for k in range(1, h + 1)])


@contextlib.contextmanager
def _one_blas_thread():
    """The models here are tiny: one BLAS thread is faster on shared cores (and its sums are the same on every
    run). Uses threadpoolctl when it is installed; does nothing otherwise."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


# -- ARIMA -----------------------------------------------------------------------------------------------
@dataclass
class ArimaChoice:
    order: tuple
    season: int | None
    trend: str
    results: object
    aic: float
    adf_p: list
    fits: int

    @property
    def label(self) -> str:
        p, d, q = self.order
        return f"ARIMA({p},{d},{q})" + (f"(0,1,0)[{self.season}]" if self.season else "")


def _seasonal_diff(y, s):
    return y[s:] - y[:-s] if s else y


def fit_arima(train: numpy.ndarray, season: int | None) -> ArimaChoice:
    """Choose and fit the ARIMA order by the rule in the module docstring."""
    try:
        from statsmodels.tsa.arima.model import ARIMA
        from statsmodels.tsa.stattools import adfuller
    except ImportError:
        raise ImportError("the ARIMA baseline needs statsmodels: pip install 'gatedrnn[forecast]' (or --no-arima)") from None
    w = _seasonal_diff(numpy.asarray(train, dtype=numpy.float64), season)
    adf_p, d = [], 0
    with warnings.catch_warnings(), _one_blas_thread():
        warnings.simplefilter("ignore")
        while True:
            p_value = float(adfuller(numpy.diff(w, d) if d else w, autolag="AIC")[1])
            adf_p.append(p_value)
            if p_value < ADF_ALPHA or d == 2:
                break
            d += 1
        trend = "c" if d == 0 else "n"
        best, fits = None, 0
        for p in range(ARIMA_MAX_P + 1):
            for q in range(ARIMA_MAX_Q + 1):
                try:
                    res = ARIMA(w, order=(p, d, q), trend=trend).fit()
                except (ValueError, numpy.linalg.LinAlgError):
                    continue
                fits += 1
                if math.isfinite(res.aic) and (best is None or res.aic < best[0]):
                    best = (float(res.aic), (p, d, q), res)
    if best is None:
        raise ValueError("ARIMA: no order in the grid could be fitted to the training part")
    return ArimaChoice(best[1], season, trend, best[2], best[0], adf_p, fits)


def arima_forecast(choice: ArimaChoice, history: numpy.ndarray, h: int) -> numpy.ndarray:
    """Forecast ``h`` steps after ``history`` with the chosen order and its fitted parameters."""
    s = choice.season
    w = _seasonal_diff(numpy.asarray(history, dtype=numpy.float64), s)
    with warnings.catch_warnings(), _one_blas_thread():
        warnings.simplefilter("ignore")
        res = choice.results if len(w) == choice.results.nobs else choice.results.apply(w)
        fw = numpy.asarray(res.forecast(h), dtype=numpy.float64)
    if not s:
        return fw
    full = numpy.concatenate([history, numpy.empty(h)])
    o = len(history)
    for k in range(h):
        full[o + k] = full[o + k - s] + fw[k]
    return full[o:]


# -- the recurrent forecaster ----------------------------------------------------------------------------
def model_forecast(model, scaler: SeriesScaler, history: numpy.ndarray, h: int, window: int, stream=None) -> numpy.ndarray:
    """Read the last ``window`` steps of ``history`` from the zero state, then forecast ``h`` steps recursively."""
    from gatedrnn.models.stream import Stream

    stream = stream or Stream(model)
    stream.reset()
    rows = scaler.inputs(history[-(window + 1):])
    for r in rows:
        y = stream.step(r)
    last = float(history[-1])
    out = numpy.empty(h)
    row = numpy.empty(2, dtype=numpy.float64)
    for k in range(h):
        nxt = float(scaler.next_value(last, float(y[0])))
        out[k] = nxt
        if k + 1 < h:
            row[0] = (nxt - scaler.mean) / scaler.std
            row[1] = (nxt - last - scaler.dmean) / scaler.dstd
            y = stream.step(row)
        last = nxt
    return out


def train_model(cfg: ForecastConfig, train: numpy.ndarray, window: int, scaler: SeriesScaler, echo=print):
    """Train the forecaster on every window of the training part; returns (model, final train loss)."""
    from gatedrnn.layers import MSE
    from gatedrnn.models import SequenceRegressor
    from gatedrnn.optim import Adam
    from gatedrnn.optim.schedules import CosineDecay
    from gatedrnn.train.trainer import Trainer

    X, Y = make_windows(scaler.inputs(train), scaler.targets(train), window)
    N = len(X)
    model = SequenceRegressor(2, cfg.hidden, 1, cfg.layers, cell=cfg.cell, seed=cfg.seed)
    opt = Adam(model.params, model.grads, lr=cfg.lr)
    batch = min(cfg.batch, N)
    per_epoch = math.ceil(N / batch)
    epochs = math.ceil(cfg.steps / per_epoch)

    def batches(epoch):
        order = numpy.random.default_rng([cfg.seed, epoch]).permutation(N)
        return [(X[order[i:i + batch]], Y[order[i:i + batch]]) for i in range(0, N, batch)]

    shown = {"n": 0}
    every = max(1, epochs // 4)

    def quiet(line):  # the trainer prints a line per epoch; show a few
        shown["n"] += 1
        if shown["n"] % every == 0 or shown["n"] == epochs:
            echo("   " + line)

    trainer = Trainer(model, MSE(), opt, train_data=batches, clip=cfg.clip, schedule=CosineDecay(opt, total_steps=cfg.steps),
                      carry_state=False, epochs=epochs, max_steps=cfg.steps, progress=False, plot=False, echo=quiet)
    trainer.fit()
    model.eval()
    loss = trainer.history[-1]["train_loss"] if trainer.history else None
    return model, loss, N


def _plot(result: ForecastResult, series: Series, path: Path, echo=print):
    from gatedrnn.lab.plots import new_figure, save_figure

    fig = new_figure((9, 4.2), echo=echo)
    if fig is None:
        return None
    ax = fig.add_subplot(1, 1, 1)
    n_tr, n_te = result.n_train, result.n_test
    lo = max(0, n_tr - 4 * n_te)
    t = series.time
    ax.plot(t[lo:], series.values[lo:], color="black", lw=1.4, label="observed")
    styles = {"naive": ("tab:gray", ":"), "seasonal": ("tab:olive", ":"), "ARIMA": ("tab:blue", "--")}
    for r in result.rows:
        m = r["method"]
        color, ls = next((v for k, v in styles.items() if m.startswith(k)), ("tab:red", "-"))
        ax.plot(t[n_tr:], result.forecasts[m], color=color, ls=ls, lw=1.6 if ls == "-" else 1.2,
                label=f"{m}  RMSE {r['rmse']:.3g}")
    for o in result.origins:
        ax.axvline(t[o], color="0.6", lw=0.8)
    ax.set_xlabel(series.time_label)
    ax.set_ylabel(series.name)
    origins = "1 origin" if len(result.origins) == 1 else f"{len(result.origins)} origins"
    ax.set_title(f"{series.name}: last {n_te} held out, {result.horizon}-step forecasts from {origins}")
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return save_figure(fig, path, dpi=100)


def run(cfg: ForecastConfig, echo=print) -> ForecastResult:
    """The whole experiment; prints a table and returns the numbers."""
    cfg.check()
    if cfg.arima and importlib.util.find_spec("statsmodels") is None:   # say so before training, not after
        raise ImportError("the ARIMA baseline needs statsmodels: pip install 'gatedrnn[forecast]' (or --no-arima)")
    series = load_series(cfg.dataset, cfg.column, period=cfg.period)
    holdout = cfg.holdout or series.holdout
    window = cfg.window or DEFAULT_WINDOW.get(series.name, 32)
    horizon = cfg.horizon or holdout
    if horizon > holdout:
        raise ValueError(f"horizon: expected at most the held-out length {holdout}, got {horizon}")
    min_train = max(window + 2, (series.period or 0) + 1, 10)
    if len(series) - holdout < min_train:
        raise ValueError(f"series {series.name}: too short, expected at least {min_train + holdout} values "
                         f"({min_train} to train on with window {window}, + {holdout} held out), got {len(series)}")
    train, test = split(series.values, holdout, min_train=min_train)
    values = series.values
    n_tr, n_te = len(train), len(test)
    origins = list(range(n_tr, len(values), horizon))
    season = series.period if series.seasonal else None
    model_name = f"{cfg.cell.upper()} ({cfg.hidden} units{'' if cfg.layers == 1 else f' x {cfg.layers}'})"
    echo(f"{series.name}: {len(values)} values ({series.note}); {n_tr} to train on, the last {n_te} held out; "
         f"{horizon}-step forecasts from {len(origins)} origin{'s' if len(origins) > 1 else ''}")
    echo(f"1. training {model_name} on {n_tr - 1 - window} windows of {window} steps: Adam lr {cfg.lr:g}, "
         f"cosine decay, clip {cfg.clip or 'off'}, batch {cfg.batch}, {cfg.steps} steps, seed {cfg.seed}")
    seconds = {}
    with _one_blas_thread():
        t0 = time.perf_counter()
        scaler = SeriesScaler.fit(train)
        model, loss, _ = train_model(cfg, train, window, scaler, echo=echo)
        seconds["train"] = time.perf_counter() - t0

        def by_origin(fn):
            return numpy.concatenate([fn(values[:o], min(horizon, len(values) - o)) for o in origins])

        from gatedrnn.models.stream import Stream

        stream = Stream(model)
        forecasts = {model_name: by_origin(lambda hist, h: model_forecast(model, scaler, hist, h, window, stream))}
        forecasts["naive (last value)"] = by_origin(naive_forecast)
        if series.period:
            forecasts[f"seasonal naive (period {series.period})"] = by_origin(
                lambda hist, h: seasonal_naive_forecast(hist, h, series.period))
        arima_label = None
        if cfg.arima:
            t0 = time.perf_counter()
            echo(f"2. choosing the ARIMA order on the training part (ADF test for d, AIC over p <= {ARIMA_MAX_P}, "
                 f"q <= {ARIMA_MAX_Q}{f', seasonal difference at lag {season}' if season else ''})")
            choice = fit_arima(train, season)
            arima_label = choice.label
            forecasts[arima_label] = by_origin(lambda hist, h: arima_forecast(choice, hist, h))
            seconds["arima"] = time.perf_counter() - t0
            echo(f"   {choice.label}, AIC {choice.aic:.1f} ({choice.fits} fits, ADF p-values "
                 f"{', '.join(f'{p:.3g}' for p in choice.adf_p)}; {seconds['arima']:.0f}s)")
    rows = [{"method": m, "rmse": rmse(f, test), "mae": mae(f, test)} for m, f in forecasts.items()]
    result = ForecastResult(config=asdict(cfg), series=series.name, n_train=n_tr, n_test=n_te, horizon=horizon,
                            window=window, origins=origins, rows=rows,
                            forecasts={m: [float(v) for v in f] for m, f in forecasts.items()},
                            truth=[float(v) for v in test], arima_order=arima_label, train_loss=loss, seconds=seconds)
    echo(format_table(result))
    if cfg.out:
        out = Path(cfg.out)
        from gatedrnn.atomic import write_text_atomic
        from gatedrnn.train.checkpoint import save_checkpoint

        meta = {"series": {"kind": "forecaster", "dataset": cfg.dataset, "name": series.name, "window": window,
                           "horizon": horizon, "holdout": holdout, "scaler": scaler.to_dict(),
                           "inputs": ["standardised level", "standardised change"],
                           "output": "standardised next change"},
                "training": asdict(cfg), "results": rows}
        result.checkpoint = str(save_checkpoint(out / "model", model, meta=meta))
        if cfg.plot:
            fig = _plot(result, series, Path(cfg.figure) if cfg.figure else out / "forecast.png", echo=echo)
            result.figure = None if fig is None else str(fig)
        write_text_atomic(out / "results.json", json.dumps(asdict(result), indent=1) + "\n")
        echo(f"wrote {result.checkpoint} (for gatedrnn stream / export), {out / 'results.json'}"
             f"{'' if result.figure is None else ', ' + result.figure}")
    return result


def format_table(r: ForecastResult) -> str:
    w = max(len(row["method"]) for row in r.rows)
    lines = [f"{'method':<{w}}  {'RMSE':>9}  {'MAE':>9}", f"{'-' * w}  {'-' * 9}  {'-' * 9}"]
    for row in r.rows:
        lines.append(f"{row['method']:<{w}}  {row['rmse']:9.4g}  {row['mae']:9.4g}")
    ours, naive = r.rows[0], r.row("naive")
    verdicts = [f"{ours['method'].split(' ')[0]} vs naive: {'beats it' if ours['rmse'] < naive['rmse'] else 'does NOT beat it'} "
                f"(RMSE {ours['rmse']:.4g} vs {naive['rmse']:.4g})"]
    if r.arima_order:
        ar = r.row("ARIMA")
        verdicts.append(f"{ours['method'].split(' ')[0]} vs {r.arima_order}: "
                        f"{'beats it' if ours['rmse'] < ar['rmse'] else 'does NOT beat it'} (RMSE {ours['rmse']:.4g} vs {ar['rmse']:.4g})")
    return "\n".join(lines + verdicts)
