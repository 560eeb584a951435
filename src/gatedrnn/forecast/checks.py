"""The global Forecaster's input and output checks, in one place: every array a user hands it, the sizes it is asked
to allocate, and every forecast it returns.

* ``real_array(name, x)`` lives in ``gatedrnn.data.arrays`` (shared with the Classifier): a float64 array of real
  numbers from anything array-like, or one line (masked entries, complex numbers, text, ragged lists).
* ``check_values(name, v)``: finite and within ``±VALUE_LIMIT``. Each window's level and spread are computed in
  float64 from the squares of its values; beyond 1e100 those overflow (and the forecasts, the spread put back,
  would be ±inf), so such inputs are refused when they come in, before any training or forecasting.
* ``check_targets``: a training target (a future value on the scale of the window before it) beyond
  ``TARGET_LIMIT`` would overflow the network's float32: a one-line error naming the series and the value.
* ``check_sizes``: the memory a network and a training batch of the given sizes need, bounded by ``MAX_BYTES``
  before anything is allocated (``hidden_size=10**12`` is one line, not a MemoryError).
* ``check_steps``: a recursive forecast runs the network once per step: at most ``MAX_STEPS_AHEAD``.
* ``check_forecast``: what every public output of the Forecaster passes before it is returned (``predict``, its
  intervals, ``quantile_forecast``, the backtests): finite, or one line naming the input that caused it. The
  quantile axis is sorted, so an interval's lower end is never above its upper end.
"""

from __future__ import annotations

import math

import numpy

from gatedrnn.errors import UserError, check_choice, check_int, is_finite_number, is_real, show

VALUE_LIMIT = 1e100      # |values| of a series or a covariate (float64 squares of the spread stay finite)
TARGET_LIMIT = 1e30      # |normalised training targets and covariates| (the network computes in float32)
MAX_BYTES = 64 * 2**30   # a network's weights (with gradients and Adam's moments) and one training batch
MAX_STEPS_AHEAD = 10_000  # steps of a recursive forecast
STRATEGIES = ("direct", "recursive")      # a Forecaster's: the whole horizon at once, or one step applied again


def check_values(name: str, v: numpy.ndarray, where: str = "position") -> numpy.ndarray:
    """``v`` (float64) finite and within ``±VALUE_LIMIT``, else one line naming the first bad value."""
    with numpy.errstate(invalid="ignore"):
        bad = ~(numpy.abs(v) <= VALUE_LIMIT)
    if bad.any():
        k = int(numpy.argmax(bad.reshape(-1)))
        got = float(v.reshape(-1)[k])
        if math.isfinite(got):
            top = float(numpy.max(numpy.abs(v)))
            raise UserError(f"{name}: expected values within ±{VALUE_LIMIT:g} (values up to {top:.3g} overflow the "
                            f"float64 normalisation and float32 network), got {got!r} at {where} {k}")
        raise UserError(f"{name}: expected finite values, got {got!r} at {where} {k}")
    return v


def check_targets(t: numpy.ndarray, where) -> None:
    """Normalised training targets (batch, horizon) within ``±TARGET_LIMIT``; ``where(row)`` -> (series, position)
    of a row's first target, for the message."""
    with numpy.errstate(invalid="ignore"):
        bad = ~(numpy.abs(t) <= TARGET_LIMIT)
    if bad.any():
        row, step = (int(i) for i in numpy.unravel_index(int(numpy.argmax(bad)), bad.shape))
        series, pos = where(row)
        raise UserError(f"series {series}: expected each value within {TARGET_LIMIT:g} times the spread of the window "
                        f"before it (beyond, the normalised target overflows float32), got one {abs(t[row, step]):.3g} "
                        f"spreads away at position {pos + step}")


def check_sizes(hidden_size: int, num_layers: int, batch_size: int, steps: int, inputs: int, outputs: int,
                n_models: int = 1) -> None:
    """One line when the weights of ``n_models`` networks (with their gradients and Adam's two moments) and the
    activations of one training batch of ``steps`` steps would exceed ``MAX_BYTES`` (Python integers: no
    overflow, nothing allocated)."""
    H, L = int(hidden_size), int(num_layers)
    weights = L * 4 * H * (H + max(int(inputs), H) + 1) + (H + 1) * int(outputs)
    batch = int(batch_size) * int(steps) * (L * 8 * H + int(inputs) + int(outputs))   # gates, cell, h kept per step
    need = 4 * (4 * weights * int(n_models) + batch)                                  # float32
    if need > MAX_BYTES:
        raise UserError(f"sizes: expected networks and a training batch within {MAX_BYTES / 2**30:g} GiB, got about "
                        f"{need / 2**30:.3g} GiB (hidden_size {H}, num_layers {L}, batch_size {batch_size}, {steps} steps "
                        f"of {inputs} inputs, {outputs} outputs, n_models {n_models})")


def check_steps(h) -> int:
    """``h`` steps of a recursive forecast: a positive integer, at most ``MAX_STEPS_AHEAD``."""
    check_int("h", h)
    if h > MAX_STEPS_AHEAD:
        raise UserError(f"h: expected at most {MAX_STEPS_AHEAD} steps (a recursive forecast runs the network once per "
                        f"step), got {h}")
    return int(h)


def check_forecast(out: numpy.ndarray, tails: numpy.ndarray, ids=None) -> numpy.ndarray:
    """``out`` (n, steps, Q) finite, else one line naming the series and the largest value of its input."""
    bad = ~numpy.isfinite(out)
    if bad.any():
        i, k, _ = (int(j) for j in numpy.unravel_index(int(numpy.argmax(bad)), bad.shape))
        name = ids[i] if ids is not None else i
        top = float(numpy.max(numpy.abs(tails[i]))) if numpy.size(tails[i]) else math.nan
        raise UserError(f"series {name}: expected a finite forecast, got {float(out[bad][0])!r} at step {k + 1} (its "
                        f"last window reaches {top:.3g}: the forecast overflowed once the spread was put back)")
    return out


def check_quantiles(quantiles) -> list:
    """The quantile levels (0.5 added, sorted): a sequence of numbers strictly between 0 and 1."""
    if isinstance(quantiles, (str, bytes)) or not isinstance(quantiles, (list, tuple, numpy.ndarray)):
        raise UserError(f"quantiles: expected a list of levels strictly between 0 and 1, got {show(quantiles)}")
    if not all(is_real(q) for q in quantiles):
        raise UserError(f"quantiles: expected numbers strictly between 0 and 1, got {show(list(quantiles))}")
    if not all(is_finite_number(q) and 0 < q < 1 for q in quantiles):     # an integer of 400 digits is no float
        raise UserError(f"quantiles: expected levels strictly between 0 and 1, got {show(list(quantiles))}")
    return sorted({0.5, *(float(q) for q in quantiles)})


def select_ids(ids) -> list:
    """``predict(ids=...)``: one id or a non-empty list of them (text or integers), as text."""
    one = isinstance(ids, (str, numpy.str_)) or (isinstance(ids, (int, numpy.integer)) and not isinstance(ids, bool))
    items = [ids] if one else list(ids) if isinstance(ids, (list, tuple, numpy.ndarray)) else None
    if items is None or not all(isinstance(i, (str, numpy.str_, int, numpy.integer)) and not isinstance(i, bool)
                                for i in items):
        raise UserError(f"ids: expected a series id or a list of them (text or integers), got {show(ids)}")
    if not items:
        raise UserError("ids: expected at least one series id (ids=None: every series), got an empty list")
    return [str(i) for i in items]


def check_base(base: str, season, window: int, out: int) -> str:
    """The base (``"auto"`` resolved) for ``out`` network outputs; the window must hold the seasons it reads."""
    base = ("snaive" if season else "naive") if base == "auto" else base
    check_choice("base", base, ("snaive", "naive", "none"))
    if base == "snaive":
        if season is None:
            raise UserError("base: expected a season for the seasonal naive base, got season None")
        seasons = math.ceil(out / season)
        if window < season * seasons:
            raise UserError(f"window: expected at least {season * seasons} (the seasonal naive base needs "
                            f"{seasons} season(s) of {season}), got {window}")
    return base


def check_covariates(covariates):
    """``None`` (every extra column), one column name, or a list of them -> None or a list of texts."""
    if covariates is None:
        return None
    names = [covariates] if isinstance(covariates, str) else covariates
    names = names.tolist() if isinstance(names, numpy.ndarray) or type(names).__name__ == "Index" else names
    if not isinstance(names, (list, tuple)) or not all(isinstance(c, (str, int)) and not isinstance(c, bool)
                                                         for c in names):
        raise UserError(f"covariates: expected None, a column name or a list of them, got {show(covariates)}")
    return [str(c) for c in names]
