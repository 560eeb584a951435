"""Settings from the data: what ``Forecaster.fit`` does for ``window``, ``hidden_size``, ``max_steps`` and
``strategy`` left at None (the strategy only beside another: alone it is direct).

1. The last ``horizon`` values of each series are held out (as neuralforecast's ``val_size`` and statsforecast's
   model selection do); the series with more than ``horizon`` values left before them take part, the others are
   still forecast by the final fit. A panel of fewer than ``ORIGINS`` series is scored from more origins (up to
   ``ORIGINS`` blocks of ``horizon`` values, ``horizon // blocks`` apart, the last ending at the series' end;
   ``origins``), so that one series is not judged on one window: the candidates train on what is before the
   earliest block.
2. A few candidates are trained on the rest: the windows ``2u`` and ``4u`` (``u`` the longer of the season and the
   horizon, at least 8 and 24 values, at most half the longest series) times the sizes 16 and 48 units, only over
   what was left at None. On a panel of fewer than ``ORIGINS`` series without covariates, with the strategy left at
   None, the recursive strategy's candidates come too (``strategies``): the windows ``u`` and ``2u``, since its
   one-step network learns from every value of a short series (sunspots, 279 yearly values: the direct network's 30
   outputs overfit the ~200 windows, RMSE 63.77; the chosen recursive one 18.23). Each trains with a cosine decay
   over the steps that fit in its share of the time (``steps_within``: at most ``MAX_STEPS``), with the Trainer's
   ``EarlyStopping`` (the held-out score of step 3 every ``EVERY`` steps, the best weights put back; patience: the
   whole schedule, or ``PATIENCE`` validations when ``max_steps`` is given, since the score often improves only as
   the rate anneals) up to ``MAX_STEPS`` steps, and within its share of ``time_limit`` (``TimeLimit`` on
   ``time_clock``; the candidates share the budget, each given what is left over the candidates left). The score is
   the error of the forecasts over the whole horizon, which the recursive strategy's one-step loss does not measure.
3. Each candidate forecasts the held-out values; its score is the mean over the series of the mean absolute
   error divided by the mean absolute (seasonal) difference of the series' training part (scale-free, so that
   series of any size count alike; ``scaled_mae``). The lowest score wins.
4. ``fit`` then trains on all the data with the winner's window and size for the number of steps at which its
   held-out loss was best (an explicit ``max_steps`` wins over it).

What was chosen and the candidates' scores are printed and kept in ``Forecaster.selection`` (saved with the
forecaster); ``settings()`` then holds the chosen values, so a forecaster built from them (or a run's
``config.json``) fits the same network without searching, bit for bit. With no series long enough to hold out
``horizon`` values there is no search: the fallbacks of ``AUTO`` are used and said.
"""

from __future__ import annotations

import copy
import math
import time

import numpy

from gatedrnn.errors import UserError
from gatedrnn.forecast.auto_model import adopt, try_hybrid, why_not
from gatedrnn.forecast.features import Panel
from gatedrnn.forecast.panel import last_windows, resolve_mask
from gatedrnn.forecast.training import train_network, validation_batches

AUTO = {"hidden_size": 32, "max_steps": 500}    # without a search (and before fit)
DEFAULT_TIME_LIMIT = 120.0                      # seconds of the search
SIZES = (16, 48)
MAX_STEPS, EVERY, PATIENCE = 2000, 50, 5
PROBE = 10                                      # steps timed to fit a candidate's schedule into its time share
ORIGINS = 4                                     # held-out blocks of a panel of fewer series


def _now(clock: str) -> float:
    return time.perf_counter() if clock == "wall" else time.process_time()


def scaled_mae(truth: list, forecast: numpy.ndarray, train: list, season) -> float:
    """Mean over the series of MAE / the mean absolute (seasonal) difference of its training part (floored at 1e-3
    of its mean size and 1e-8: a constant series does not divide by zero)."""
    out = []
    for y, f, x in zip(truth, forecast, train):
        lag = season if season and x.size > season else 1
        d = numpy.abs(x[lag:] - x[:-lag]).mean() if x.size > lag else 0.0
        out.append(numpy.abs(y - f).mean() / max(d, 1e-3 * numpy.abs(x).mean(), 1e-8))
    return float(numpy.mean(out))


def strategies(f, n_series: int) -> tuple:
    """The strategies tried: both when ``strategy`` was left at None on a panel of fewer than ``ORIGINS`` series
    without covariates (a one-step network learns from every value of a short series), else ``f.strategy``."""
    if "strategy" in f.auto and n_series < ORIGINS and not f.covariates:
        return ("direct", "recursive")
    return (f.strategy,)


def candidates(f, longest: int, n_series: int) -> list[dict]:
    """The settings tried: windows and sizes over what was left at None, for each of ``strategies`` (module
    docstring; a recursive candidate's windows are half the direct ones': ``u`` and ``2u``)."""
    u = max(f.season or 0, f.horizon)
    out = []
    for strategy in strategies(f, n_series):
        steps = 1 if strategy == "recursive" else f.horizon
        floor = f.season * math.ceil(steps / f.season) if f.base == "snaive" else 2
        cap = max(floor, longest // 2)
        span = (max(u, 8), max(2 * u, 24)) if strategy == "recursive" else (max(2 * u, 8), max(4 * u, 24))
        windows = sorted({min(max(w, floor), cap) for w in span}) if "window" in f.auto else [f.window]
        sizes = SIZES if "hidden_size" in f.auto else (f.hidden_size,)
        out += [{"strategy": strategy, "window": w, "hidden_size": s} for w in windows for s in sizes]
    return out


def origins(f, n_series: int) -> list:
    """How far before the end each held-out block ends: ``[0]`` for a panel of ``ORIGINS`` series or more, else up
    to ``ORIGINS`` blocks (fewer series, more blocks), ``horizon // blocks`` (at least 1) apart."""
    k = max(1, min(ORIGINS, math.ceil(ORIGINS / n_series)))
    step = max(1, f.horizon // k)
    return [j * step for j in range(k)]


def _split(f, panel: Panel) -> tuple[Panel, Panel, list]:
    """(the held-out panel: whole series that take part, the training panel: the same without their held-out
    values, ``origins``'s offsets)."""
    h, need = f.horizon, f.output_horizon + 1
    backs = origins(f, len(panel.values))
    cut = h + backs[-1]
    keep = [i for i, v in enumerate(panel.values) if v.size - cut >= need]
    full = Panel([panel.ids[i] for i in keep], [panel.values[i] for i in keep], panel.kind,
                 covs=[panel.covs[i] for i in keep] if panel.covs else [])
    part = Panel(full.ids, [v[:-cut] for v in full.values], panel.kind,
                 covs=[c[:-cut] for c in full.covs] if full.covs else [])
    return full, part, backs


def _try(f, cand: dict, full: Panel, part: Panel, backs: list, limit: float) -> dict:
    """Train the candidate ``cand`` on ``part`` with early stopping on ``full``'s held-out values; its score."""
    c = copy.copy(f)
    c.window, c.hidden_size, c.strategy = cand["window"], cand["hidden_size"], cand["strategy"]
    short = any(v.size < c.window + c.output_horizon for v in part.values)
    if short and f.mask_choice is False:
        return {**cand, "score": None, "why": "a series too short for this window (mask=False)"}
    c.mask = resolve_mask(f.mask_choice, part, c.window, c.output_horizon, "")
    t0 = _now(f.time_clock)
    c.max_steps = steps_within(c, part, limit) if "max_steps" in f.auto else f.max_steps
    train = getattr(c, "network_trainer", train_network)     # model="esrnn": its own (esrnn_training.py)
    valid = None if hasattr(c, "held_out_score") else validation_batches(c, full, numpy.float32, backs)
    # a schedule fitted to the share runs whole (the held-out score often improves only as the rate anneals); an
    # explicit max_steps keeps the patience
    patience = c.max_steps // EVERY if "max_steps" in f.auto else PATIENCE
    model, rec = train(c, part, f.seed, valid=valid, every=EVERY, patience=patience, limit=limit,
                       clock=f.time_clock, score=lambda net: held_out_score(c, net, full, part, backs))
    return {**cand, "schedule": c.max_steps, "best_step": rec["best_step"], "steps_run": rec["steps"], "stopped": rec["stopped"],
            "score": held_out_score(c, model, full, part, backs), "seconds": round(_now(f.time_clock) - t0, 2)}


def steps_within(c, part: Panel, limit: float) -> int:
    """The length of a candidate's schedule (its cosine decay reaches 0 there): what fits in ``limit`` seconds at
    the speed of ``PROBE`` timed steps of throwaway networks (80 %: the held-out scores take the rest), a multiple
    of ``EVERY`` between ``2 * EVERY`` and ``MAX_STEPS``. A schedule that anneals within the share learns more than
    a long one cut by the clock at a high learning rate."""
    took = []
    for steps in (PROBE, 2 * PROBE):          # the difference leaves out the setup (windows, weights)
        probe = copy.copy(c)
        probe.max_steps = steps
        t0 = _now(c.time_clock)
        getattr(c, "network_trainer", train_network)(probe, part, c.seed)
        took.append(_now(c.time_clock) - t0)
    per_step = max((took[1] - took[0]) / PROBE, took[1] / (4 * PROBE), 1e-6)
    return int(min(MAX_STEPS, max(2 * EVERY, EVERY * int(0.8 * limit / per_step / EVERY))))


def held_out_score(c, model, full: Panel, part: Panel, backs: list) -> float:
    """``scaled_mae`` of the candidate ``c`` with the network ``model``: its median forecasts of the held-out
    values from every origin (what the search ranks by, and what early stopping watches)."""
    if hasattr(c, "held_out_score"):             # model="esrnn" runs whole series (esrnn_forecaster.py)
        return c.held_out_score(model, full, part, backs)
    c.models = [model]
    h, truth, fcs, train = c.horizon, [], [], []
    for b in backs:
        seen = [v[:v.size - b - h] for v in full.values]
        tails, starts = last_windows(seen, c.window)
        covs = None
        if c.covariates:
            covs = numpy.stack([cv[v.size - b - h - c.window:v.size - b] for cv, v in zip(full.covs, full.values)])
        fcs.append(c.quantile_forecast(tails, starts, covs, steps=h)[:, :, c.quantiles.index(0.5)])
        truth += [v[v.size - b - h:v.size - b] for v in full.values]
        train += part.values
    return scaled_mae(truth, numpy.concatenate(fcs), train, c.season)


def choose_settings(f, panel: Panel, echo) -> None:
    """Set ``f``'s settings left at None from the data (module docstring) and ``f.selection``."""
    full, part, backs = _split(f, panel)
    if not full.ids:
        chosen = {k: getattr(f, k) for k in ("window", "hidden_size", "max_steps", "strategy")}
        f.selection = {"chosen": chosen, "why": f"no series has more than {f.output_horizon} values before its last "
                                                f"{f.horizon + backs[-1]}: nothing to hold out, the defaults used"}
        echo(f"settings: {f.selection['why']} ({chosen})")
        f.auto = ()
        return
    cands = candidates(f, max(v.size for v in part.values), len(panel.values))
    hybrid = why_not(f, panel) is None
    cands = ([{"model": "esrnn"}] if hybrid else []) + cands        # the hybrid first, with half the time
    blocks = f" from {len(backs)} origins {backs[1]} apart" if len(backs) > 1 else ""
    echo(f"settings search: the last {f.horizon} values of {len(full.ids)} series held out{blocks}; {len(cands)} "
         f"candidate(s){' (the ES-RNN among them)' if hybrid else ''} within {f.time_limit:g} s ({f.time_clock} clock)")
    tried = _run(f, cands, panel, (full, part, backs), echo)
    scored = [r for r in tried if r["score"] is not None and r["best_step"]]
    if not scored:
        raise UserError(f"time_limit: expected enough time to train one candidate, got {f.time_limit:g} s "
                        f"({f.time_clock} clock)")
    best = min(scored, key=lambda r: r["score"])
    records = [{k: v for k, v in r.items() if k != "forecaster"} for r in tried]
    if best.get("model") == "esrnn":
        adopt(f, best["forecaster"])
        chosen = {"model": "esrnn", "window": f.window, "hidden_size": f.hidden_size, "max_steps": f.max_steps}
    else:
        f.window, f.hidden_size, f.strategy = best["window"], best["hidden_size"], best["strategy"]
        if "max_steps" in f.auto:
            f.max_steps = int(best["best_step"])
        f.model = "window" if f.model == "auto" else f.model
        chosen = {"window": f.window, "hidden_size": f.hidden_size, "max_steps": f.max_steps, "strategy": f.strategy}
    f.selection = {"holdout": f.horizon, "series": len(full.ids), "origins": backs, "time_limit": f.time_limit,
                   "time_clock": f.time_clock, "score": "mean over the series of MAE / mean absolute (seasonal) "
                   "difference of the training part", "candidates": records, "chosen": chosen}
    echo(f"chose {chosen} (lowest held-out scaled MAE {best['score']:.4f}); refitting on all the data")
    f.auto = ()


def _run(f, cands: list, panel: Panel, split: tuple, echo) -> list:
    """Each candidate's record, trained in turn, each given what is left of the time over the candidates left."""
    full, part, backs = split
    t0, tried = _now(f.time_clock), []
    for k, cand in enumerate(cands):
        left = f.time_limit - (_now(f.time_clock) - t0)
        if left <= 0:
            tried.append({**cand, "score": None, "why": "time limit reached before it"})
            continue
        share = left / 2 if cand.get("model") == "esrnn" and len(cands) > 1 else left / (len(cands) - k)
        if cand.get("model") == "esrnn":
            tried.append(try_hybrid(f, panel, share, echo))
            if tried[-1]["score"] is None:
                echo(f"   ES-RNN: {tried[-1]['why']}")
            continue
        tried.append(_try(f, cand, full, part, backs, share))
        r = tried[-1]
        echo(f"   {r['strategy']}, window {r['window']}, {r['hidden_size']} units: " + (r.get("why") or
             f"best held-out score at step {r['best_step']} of {r['steps_run']} ({r['stopped']}; a schedule of "
             f"{r['schedule']}), scaled MAE "
             f"{r['score']:.4f} ({r['seconds']:.1f} s)"))
    return tried
