"""What a forecasting run returns and writes to ``results.json``, and the table it prints."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    arima_order: str | None = None
    train_loss: float | None = None
    seconds: dict = field(default_factory=dict)
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


def format_table(r: ForecastResult) -> str:
    """RMSE and MAE per method, then whether the model beats the naive forecast (and ARIMA)."""
    w = max(len(row["method"]) for row in r.rows)
    lines = [f"{'method':<{w}}  {'RMSE':>9}  {'MAE':>9}", f"{'-' * w}  {'-' * 9}  {'-' * 9}"]
    for row in r.rows:
        lines.append(f"{row['method']:<{w}}  {row['rmse']:9.4g}  {row['mae']:9.4g}")
    ours = r.rows[0]
    lines.append(_verdict(ours, r.row("naive"), "naive"))
    if r.arima_order:
        lines.append(_verdict(ours, r.row("ARIMA"), r.arima_order))
    return "\n".join(lines)
