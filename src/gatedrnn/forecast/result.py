"""What a forecasting run returns and writes to ``results.json``, and the table it prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

COMMAND = "gatedrnn forecast"
# the names a forecast run writes in --out, in any mode (a held-out evaluation, --predict, m4-hourly): what
# --overwrite replaces in a folder of an earlier version, which has no manifest (gatedrnn.run_folder)
RUN_FILES = ("model", "model-*", "forecaster", "results.json", "config.json", "forecast.png", "future.csv",
             "future.png", "forecasts.csv")


def indented(echo):
    """``echo`` of the fit's own lines, indented under the run's (what ``--no-progress`` leaves out)."""
    return lambda line: echo("   " + line)


def input_files(cfg, *more) -> list:
    """The files a forecast reads (the dataset when it is a file, and ``more``: the --config file...), which no
    output may replace."""
    found = [Path(cfg.dataset)] if isinstance(cfg.dataset, str) and Path(cfg.dataset).is_file() else []
    return found + [Path(m) for m in more if m is not None]


@dataclass
class ForecastResult:
    config: dict                    # the ForecastConfig as a dict
    series: str
    n_train: int
    n_test: int
    horizon: int
    window: int
    origins: list
    rows: list                      # [{"method", "rmse", "mae"}], the model first
    forecasts: dict                 # method -> list of floats over the held-out tail
    truth: list
    arima_order: str | None = None  # the order gatedrnn's own search chose (None when it did not run)
    train_loss: float | None = None
    seconds: dict = field(default_factory=dict)     # "train", and every row's method: its fit + forecasts
    details: dict = field(default_factory=dict)     # statsforecast row -> what its search chose
    checkpoint: str | None = None
    figure: str | None = None

    def row(self, method_prefix: str) -> dict | None:
        """The first row whose method starts with ``method_prefix`` (None if there is none)."""
        return next((r for r in self.rows if r["method"].startswith(method_prefix)), None)


def _verdict(ours: dict, other: dict | None, name: str) -> str:
    if other is None:
        raise RuntimeError(f"forecast table: expected a row for {name}, got none")
    beats = "beats it" if ours["rmse"] < other["rmse"] else "does NOT beat it"
    return f"{ours['method'].split(' ')[0]} vs {name}: {beats} (RMSE {ours['rmse']:.4g} vs {other['rmse']:.4g})"


def reference_arima(r: ForecastResult) -> dict | None:
    """The ARIMA the model is judged against: statsforecast's AutoARIMA when it ran, else gatedrnn's order search."""
    return r.row("AutoARIMA") or r.row("ARIMA")


def format_table(r: ForecastResult) -> str:
    """RMSE, MAE and seconds per method, then whether the model beats the naive forecast, the reference ARIMA
    (``reference_arima``) and the best baseline."""
    w = max(len(row["method"]) for row in r.rows)
    lines = [f"{'method':<{w}}  {'RMSE':>9}  {'MAE':>9}  {'seconds':>8}", f"{'-' * w}  {'-' * 9}  {'-' * 9}  {'-' * 8}"]
    for row in r.rows:
        sec = f"{r.seconds[row['method']]:8.2f}" if row["method"] in r.seconds else f"{'':>8}"
        lines.append(f"{row['method']:<{w}}  {row['rmse']:9.4g}  {row['mae']:9.4g}  {sec}")
    ours, naive, arima = r.rows[0], r.row("naive"), reference_arima(r)
    lines.append(_verdict(ours, naive, "naive"))
    if arima is not None:
        lines.append(_verdict(ours, arima, arima["method"]))
    best = min(r.rows[1:], key=lambda row: row["rmse"])
    if best is not naive and best is not arima:
        lines.append(_verdict(ours, best, f"the best baseline, {best['method']}"))
    return "\n".join(lines)
