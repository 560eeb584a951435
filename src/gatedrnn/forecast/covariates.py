"""Covariates of a global forecaster: exogenous variables known in advance (statsforecast's ``X_df``,
neuralforecast's ``futr_exog``), given as extra numeric columns of the long DataFrame ``unique_id, ds, y, ...``.

* ``frame_covariates(df, choice)``: the covariate names (``choice``: a list of columns, or ``None`` for every column
  other than ``unique_id``, ``ds``, ``y``) and each series' raw values (n_i, C), in ``to_panel``'s series order.
* ``covariate_stats(covs)``: the mean and standard deviation of each covariate over all training values (1 for a
  constant covariate); the network reads ``(x - mean) / std``.
* ``covariate_inputs(...)``: what a direct model with covariates reads: the window followed by the ``horizon``
  future steps, ``window + horizon`` steps of ``[z, (sin, cos of the season position), known, covariates...]``:
  ``z`` the normalised target (0 on the future steps), ``known`` 1 on the window and 0 on the future steps, the
  covariates on every step. The network is many-to-many: its Q quantile outputs at future step k are the
  forecast of step k (a many-to-one output after the last step, which must carry every future step's covariate
  in its state, learned much more slowly: MAE 5.8 against 1.0 after 1000 steps on a synthetic y = 10 x + noise panel).
* ``CovariateWindows``: the training windows (``features.WindowBatches``) with those inputs; ``FuturePinball``:
  the pinball loss on the outputs of the future steps.
* ``future_covariates(X_df, ...)``: the covariates of the forecast horizon from ``X_df`` (``unique_id, ds,
  <covariates>``), one-line ``UserError`` naming the series when a row, a column or a value is missing.
"""

from __future__ import annotations

import numpy

from gatedrnn.backend import xp
from gatedrnn.data.stamps import frame_stamps
from gatedrnn.errors import UserError
from gatedrnn.forecast.features import Pinball, WindowBatches, _as_values, inputs

KEYS = ("unique_id", "ds", "y")


def frame_covariates(df, choice) -> tuple[list, list]:
    """(names, [raw values (n_i, C) per series]) of the covariate columns of ``df`` (module docstring)."""
    names = [str(c) for c in df.columns if c not in KEYS] if choice is None else list(choice)
    missing = [c for c in names if c not in df.columns or c in KEYS]
    if missing:
        raise UserError(f"covariates: expected columns of the DataFrame other than unique_id, ds, y, got {missing} "
                        f"(columns {list(df.columns)})")
    covs = []
    for uid, g in df.groupby("unique_id", sort=False):
        cols = [_as_values(f"{uid}: covariate {c!r}", g[c].to_numpy()) for c in names]
        covs.append(numpy.stack(cols, axis=1) if cols else numpy.zeros((len(g), 0)))
    return names, covs


def covariate_stats(covs: list) -> tuple[numpy.ndarray, numpy.ndarray]:
    """(mean, std) (C,) of each covariate over every training value (std 1 where a covariate is constant)."""
    flat = numpy.concatenate(covs)
    std = flat.std(axis=0)
    return flat.mean(axis=0), numpy.where(std > 1e-12, std, 1.0)


def covariate_inputs(w: numpy.ndarray, starts: numpy.ndarray, season, level, scale, c: numpy.ndarray,
                     horizon: int, dtype) -> numpy.ndarray:
    """(n, window + horizon, 2 + C or 4 + C) inputs (module docstring): ``w`` (n, window) the raw windows,
    ``c`` (n, window + horizon, C) the normalised covariates of the window and of the horizon."""
    n, window = w.shape
    extended = numpy.concatenate([w, numpy.repeat(level[:, None], horizon, axis=1)], axis=1)
    x = inputs(extended, starts, season, level, scale, numpy.float64)    # z = 0 exactly on the future steps
    known = numpy.zeros((n, window + horizon, 1))
    known[:, :window] = 1.0
    return numpy.concatenate([x, known, c], axis=2).astype(dtype)


class CovariateWindows(WindowBatches):
    """``WindowBatches`` whose inputs carry the covariates (``cnorm``: each series' normalised covariates)."""

    def __init__(self, panel, window: int, horizon: int, season, batch_size: int, steps: int, seed, dtype,
                 base: str, cnorm: list):
        super().__init__(panel, window, horizon, season, batch_size, steps, seed, dtype, base)
        self.cflat = numpy.concatenate(cnorm)

    def features(self, w: numpy.ndarray, pick: numpy.ndarray, level, scale) -> numpy.ndarray:
        c = self.cflat[pick[:, :1] + numpy.arange(self.window + self.horizon)]
        return covariate_inputs(w, pick[:, 1], self.season, level, scale, c, self.horizon, self.dtype)


class FuturePinball(Pinball):
    """``Pinball`` of a many-to-many network's outputs ``y`` (batch, window + horizon, Q) on its last ``horizon``
    steps (the future steps; the outputs on the window get no gradient)."""

    def __init__(self, quantiles, horizon: int):
        super().__init__(quantiles)
        self.horizon = horizon

    def forward(self, y, target) -> float:
        self._shape = y.shape
        return super().forward(y[:, -self.horizon:].reshape(y.shape[0], -1), target)

    def backward(self):
        full = xp.zeros(self._shape, dtype=self._grad.dtype if self._grad is not None else None)
        full[:, -self.horizon:] = super().backward().reshape(self._shape[0], self.horizon, -1)
        return full


def future_covariates(X_df, panel, names: list, h: int, horizon: int, pd) -> numpy.ndarray:
    """(n, horizon, C) raw covariates of the ``horizon`` steps after each series of ``panel`` from ``X_df``.
    Every covariate must be given (finite) at each of the first ``h`` steps; the steps after ``h`` (when
    ``h < horizon``) take their value from ``X_df`` where given, else the last value before them (they do not
    change the first ``h`` forecasts: the network reads the steps in order)."""
    want = ", ".join(["unique_id", "ds", *names])
    if X_df is None or not isinstance(X_df, pd.DataFrame):
        raise UserError(f"X_df: expected a DataFrame {want} over the {h} future steps of every series (fitted with "
                        f"covariates), got {'none' if X_df is None else type(X_df).__name__}")
    missing = [c for c in ("unique_id", "ds", *names) if c not in X_df.columns]
    if missing:
        raise UserError(f"X_df: expected columns {want}, got {list(X_df.columns)} (missing {missing})")
    groups = {str(k): g for k, g in X_df.groupby("unique_id", sort=False)}
    out = numpy.empty((len(panel.ids), horizon, len(names)))
    for i, (uid, last) in enumerate(zip(panel.ids, panel.last_ds)):
        grid = pd.date_range(last, periods=horizon + 1, freq=panel.freq)[1:]
        g = groups.get(uid)
        if g is None:
            raise UserError(f"series {uid}: X_df: expected the covariates of the {h} future steps from {grid[0]}, "
                            f"got no rows")
        ds = frame_stamps(pd, g["ds"], f"series {uid}: X_df")
        if ds.has_duplicates:
            raise UserError(f"series {uid}: X_df: expected unique timestamps, got {ds[ds.duplicated()][0]} twice")
        for j, name in enumerate(names):
            out[i, :, j] = _future_column(uid, name, g[name].to_numpy(), ds, grid, h, pd)
    return out


def _future_column(uid: str, name: str, col, ds, grid, h: int, pd) -> numpy.ndarray:
    if numpy.asarray(col).dtype.kind not in "biuf":
        raise UserError(f"series {uid}: covariate {name!r} in X_df: expected numbers, got dtype {col.dtype}")
    v = numpy.array(pd.Series(numpy.asarray(col, dtype=numpy.float64), index=ds).reindex(grid), dtype=numpy.float64)
    bad = ~numpy.isfinite(v[:h])
    if bad.any():
        k = int(numpy.argmax(bad))
        got = repr(float(v[k])) if grid[k] in ds else "no row"
        raise UserError(f"series {uid}: covariate {name!r}: expected a value at each of the {h} forecast steps "
                        f"(from {grid[0]}), got {got} at {grid[k]}")
    for k in range(h, v.size):
        if not numpy.isfinite(v[k]):
            v[k] = v[k - 1]
    return v
