"""What a global forecaster reads and is trained on: a panel of series from any input layout, per-window
normalisation, the season position as an input, random training windows drawn from every series, and the
pinball (quantile) loss of the direct multi-horizon outputs.

* ``to_panel(y, ...)`` turns a 1-D array, a list of 1-D arrays (of different lengths), a pandas Series with a
  DatetimeIndex or a long DataFrame with ``unique_id``, ``ds``, ``y`` columns (statsforecast's layout) into a
  ``Panel``: ids, float64 values, and for dated input the last timestamp and the frequency of each series.
  Non-finite values, duplicated or unsorted timestamps and a frequency that cannot be inferred are one-line
  ``UserError`` naming the series.
* ``normalise(w)``: the level (mean) and scale (standard deviation, floored) of each input window; the network
  reads ``(w - level) / scale`` plus ``sin``/``cos`` of the position in the season, and predicts the next
  ``horizon`` values on the same scale, at every quantile level.
* Covariates (extra columns of a long DataFrame, known in advance) are read and fed to the network by
  ``covariates.py``, which builds on this module.
"""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass, field

import numpy

from gatedrnn.backend import xp
from gatedrnn.data.arrays import real_array
from gatedrnn.data.stamps import frame_stamps
from gatedrnn.errors import UserError, require, show
from gatedrnn.forecast.checks import check_targets, check_values

PURPOSE = "forecasting pandas input (Series with dates, long DataFrames)"


@dataclass
class Panel:
    """Series of one fit or predict call: ``values[i]`` float64 (n_i,); ``last_ds[i]``/``freq`` for dated input;
    ``covs[i]`` float64 (n_i, C) the raw covariates of each series (empty without covariates; ``covariates.py``)."""

    ids: list
    values: list
    kind: str                           # "array" (one 1-D array), "list", "series" (pandas), "frame" (long)
    last_ds: list = field(default_factory=list)
    freq: str | None = None
    covs: list = field(default_factory=list)

    @property
    def pandas(self) -> bool:
        return self.kind in ("series", "frame")


def _as_values(name: str, y) -> numpy.ndarray:
    """A series' values: a 1-D float64 array of real, finite numbers within ``checks.VALUE_LIMIT``."""
    v = real_array(f"series {name}", y)
    if v.ndim != 1:
        raise UserError(f"series {name}: expected a 1-D array of values, got shape {v.shape}")
    return check_values(f"series {name}", v)


def _check_dates(name: str, ds, pd) -> str:
    """The frequency of the dates ``ds`` (a DatetimeIndex); sorted, unique and regular or a one-line error."""
    if ds.has_duplicates:
        dup = ds[ds.duplicated()][0]
        raise UserError(f"series {name}: expected unique timestamps, got {dup} twice")
    if not ds.is_monotonic_increasing:
        raise UserError(f"series {name}: expected timestamps in increasing order, got them unsorted")
    with warnings.catch_warnings():       # pandas 3 warns that infer_freq will return an offset: take its string
        warnings.simplefilter("ignore")
        freq = pd.infer_freq(ds) if len(ds) >= 3 else None
    freq = getattr(freq, "freqstr", freq)
    if freq is None:
        raise UserError(f"series {name}: expected regular timestamps whose frequency can be inferred, got none "
                        f"(first {', '.join(map(str, ds[:3]))})")
    return freq


def _check_ids(col, pd) -> None:
    """Every row has an id, and ids that differ stay different as text (the panel's ids are ``str(id)``: ``1`` and
    ``"1"``, or ``1`` and ``1.0``, would otherwise become one series, or two series of one name)."""
    missing = col.isna().to_numpy()
    if missing.any():
        k = int(numpy.argmax(missing))
        raise UserError(f"unique_id: expected an id on every row, got {show(col.iloc[k])} on row {k} "
                        f"({int(missing.sum())} row(s) without one)")
    if pd.api.types.infer_dtype(col, skipna=False) in ("string", "integer", "floating", "boolean"):
        return                                       # one type, whose text is one-to-one
    seen: dict = {}
    for v in {(type(v), repr(v)): v for v in col.to_numpy(dtype=object)}.values():
        key = (type(v).__name__, repr(v))
        other = seen.setdefault(str(v), key)
        if other != key:
            raise UserError(f"unique_id: expected ids that stay distinct as text, got {other[1]} ({other[0]}) and "
                            f"{key[1]} ({key[0]}), both {str(v)!r}")


def _from_frame(df, pd) -> Panel:
    missing = [c for c in ("unique_id", "ds", "y") if c not in df.columns]
    if missing:
        raise UserError(f"DataFrame: expected columns unique_id, ds, y, got {list(df.columns)} (missing {missing})")
    if len(df) == 0:
        raise UserError("DataFrame: expected rows of unique_id, ds, y, got an empty DataFrame")
    _check_ids(df["unique_id"], pd)
    ids, values, last, freqs = [], [], [], set()
    for uid, g in df.groupby("unique_id", sort=False):
        name = str(uid)
        ds = frame_stamps(pd, g["ds"], f"series {name}")    # strict: no integers as nanoseconds, no today's date
        freqs.add(_check_dates(name, ds, pd))
        ids.append(name)
        values.append(_as_values(name, g["y"].to_numpy()))
        last.append(ds[-1])
    if len(freqs) > 1:
        raise UserError(f"DataFrame: expected one frequency over all series, got {sorted(freqs)}")
    return Panel(ids, values, "frame", last, freqs.pop() if freqs else None)


def _is_number(v) -> bool:
    return isinstance(v, (numbers.Number, numpy.generic)) or (isinstance(v, numpy.ndarray) and v.ndim == 0)


def to_panel(y) -> Panel:
    """Any accepted layout of ``y`` (module docstring) -> ``Panel``."""
    kind = type(y).__module__.split(".")[0] + "." + type(y).__name__
    if kind in ("pandas.Series", "pandas.DataFrame"):
        pd = require("pandas", PURPOSE, "forecast")
        if isinstance(y, pd.DataFrame):
            return _from_frame(y, pd)
        if not isinstance(y.index, pd.DatetimeIndex):
            raise UserError(f"Series: expected a DatetimeIndex, got {type(y.index).__name__}")
        name = str(y.name) if y.name is not None else "series"
        freq = _check_dates(name, y.index, pd)
        return Panel([name], [_as_values(name, y.to_numpy())], "series", [y.index[-1]], freq)
    if isinstance(y, numpy.ndarray) and y.ndim == 1:
        return Panel(["0"], [_as_values("0", y)], "array")
    if isinstance(y, (list, tuple)) and y:
        if all(_is_number(v) for v in y):
            return Panel(["0"], [_as_values("0", y)], "array")
        return Panel([str(i) for i in range(len(y))], [_as_values(str(i), v) for i, v in enumerate(y)], "list")
    got = f"an empty {type(y).__name__}" if isinstance(y, (list, tuple)) else (
        f"an array of shape {y.shape}" if isinstance(y, numpy.ndarray) else type(y).__name__)
    raise UserError(f"y: expected a 1-D array, a list of 1-D arrays, a pandas Series with a DatetimeIndex or a "
                    f"DataFrame with unique_id, ds, y, got {got}")


def check_lengths(panel: Panel, need: int, what: str) -> None:
    for name, v in zip(panel.ids, panel.values):
        if v.size < need:
            raise UserError(f"series {name}: too short, expected at least {need} values ({what}), got {v.size}")


def normalise(w: numpy.ndarray) -> tuple[numpy.ndarray, numpy.ndarray]:
    """(level, scale) of each row of ``w`` (n, window): the mean and the standard deviation, floored at 1e-3 of
    the level's size (and at 1e-8) so that a flat window does not divide by zero."""
    level = w.mean(axis=1)
    scale = numpy.maximum(w.std(axis=1), numpy.maximum(1e-3 * numpy.abs(level), 1e-8))
    return level, scale


def inputs(w: numpy.ndarray, starts: numpy.ndarray, season: int | None, level, scale, dtype,
           mask: bool = False) -> numpy.ndarray:
    """Network inputs (n, window, 1 or 3, + 1 with ``mask``): the normalised window, then sin/cos of each step's
    season position (the step's index in its series, modulo ``season``; ``starts`` is the index of each window's
    first step, negative when the window begins before the series: ``panel.py``), then with ``mask`` a 0/1 input,
    1 on the series' own values and 0 on the padding before its first value."""
    n, window = w.shape
    z = (w - level[:, None]) / scale[:, None]
    index = starts[:, None] + numpy.arange(window)
    cols = [z]
    if season:
        phase = 2 * math.pi * (index % season) / season
        cols += [numpy.sin(phase), numpy.cos(phase)]
    if mask:
        cols.append((index >= 0).astype(numpy.float64))
    return numpy.stack(cols, axis=2).astype(dtype)


def base_values(z: numpy.ndarray, season: int | None, horizon: int, base: str) -> numpy.ndarray:
    """(n, horizon) values the network's outputs are added to (its targets are the differences): the seasonal
    naive forecast of each normalised window ``z`` (n, window) (``base="snaive"``), its last value (``"naive"``),
    or 0 (``"none"``)."""
    n, window = z.shape
    k = numpy.arange(1, horizon + 1)
    if base == "none":
        return numpy.zeros((n, horizon))
    if base == "naive" or not season:
        return numpy.repeat(z[:, -1:], horizon, axis=1)
    return z[:, window - season * numpy.ceil(k / season).astype(int) + k - 1]


class WindowBatches:
    """One epoch of ``steps`` random batches of training windows from every series (drawn lazily: the panel's
    windows are never all held at once). ``flat`` is every series concatenated; ``index`` (k, 2) holds the
    window start in ``flat`` and the start's position in its own series, for every window that has ``horizon``
    values after it."""

    def __init__(self, panel: Panel, window: int, horizon: int, season, batch_size: int, steps: int, seed, dtype,
                 base: str = "none", mask: bool = False):
        pad = window - 1 if mask else 0      # with the mask input, windows may begin before a series (panel.py)
        values = [numpy.concatenate([numpy.full(pad, v[0]), v]) for v in panel.values]
        self.flat = numpy.concatenate(values)
        offsets = numpy.cumsum([0] + [v.size for v in values[:-1]])
        self.ids, self.offsets, self.pad, self.mask = panel.ids, offsets, pad, mask
        pos = [numpy.arange(max(v.size - window - horizon + 1, 0)) for v in values]
        self.index = numpy.concatenate([numpy.stack([o + p, p - pad], axis=1) for o, p in zip(offsets, pos)])
        if not len(self.index):
            raise UserError(f"y: expected a series with at least {horizon + (1 if mask else window)} values to train "
                            f"on (window {window} + horizon {horizon}{', padded on the left' if mask else ''}), got "
                            f"at most {max(v.size for v in panel.values)}")
        self.window, self.horizon, self.season = window, horizon, season
        self.batch_size, self.steps, self.seed, self.dtype, self.base = batch_size, steps, seed, dtype, base

    def __len__(self) -> int:
        return self.steps

    def epoch(self, k: int) -> "WindowBatches":
        self.rng = numpy.random.default_rng([self.seed, k])
        return self

    def __iter__(self):
        rng = getattr(self, "rng", None) or numpy.random.default_rng([self.seed, 0])
        for _ in range(self.steps):
            yield self.batch(self.index[rng.integers(0, len(self.index), self.batch_size)])

    def batch(self, pick: numpy.ndarray) -> tuple:
        """(inputs, targets) of the windows ``pick`` (rows of ``index``)."""
        v = self.flat[pick[:, :1] + numpy.arange(self.window + self.horizon)]
        w = v[:, :self.window]
        level, scale = normalise(w)
        x = self.features(w, pick, level, scale)
        z = (v - level[:, None]) / scale[:, None]
        t = (z[:, self.window:] - base_values(z[:, :self.window], self.season, self.horizon, self.base))
        check_targets(t, lambda row: self.where(int(pick[row, 0]) + self.window))
        return x, t.astype(self.dtype)

    def where(self, k: int) -> tuple:
        """(series id, position in it) of the value at ``flat[k]``."""
        i = int(numpy.searchsorted(self.offsets, k, side="right")) - 1
        return self.ids[i], k - int(self.offsets[i]) - self.pad

    def features(self, w: numpy.ndarray, pick: numpy.ndarray, level, scale) -> numpy.ndarray:
        """The network's inputs of the windows ``w`` (``covariates.CovariateWindows`` adds the covariates)."""
        return inputs(w, pick[:, 1], self.season, level, scale, self.dtype, self.mask)


class Pinball:
    """Mean pinball loss of direct multi-horizon quantile outputs: ``y`` (batch, horizon * Q), ``target``
    (batch, horizon); quantile level ``q[j]`` is output ``k * Q + j``. With q = 0.5 alone it is half the MAE."""

    def __init__(self, quantiles):
        self.q = numpy.asarray(quantiles, dtype=numpy.float64)
        self._grad = None

    def forward(self, y, target) -> float:
        b, hq = y.shape
        nq = self.q.size
        if hq % nq or xp.asarray(target).shape != (b, hq // nq):
            raise UserError(f"Pinball target: expected shape {(b, hq // nq)}, got {tuple(numpy.shape(target))}")
        q = xp.asarray(self.q, dtype=y.dtype)
        u = xp.asarray(target, dtype=y.dtype)[:, :, None] - y.reshape(b, -1, nq)
        above = u > 0
        self._grad = (xp.where(above, -q, 1 - q) / u.size).reshape(b, hq).astype(y.dtype)
        return float(xp.where(above, q * u, (q - 1) * u).astype(numpy.float64).mean())

    def backward(self):
        if self._grad is None:
            raise UserError("Pinball.backward: expected a forward call first, got none")
        return self._grad
