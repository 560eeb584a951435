"""``Forecaster(model="auto")``: the settings search also tries the hybrid ES-RNN, and the better model is fitted.

With ``model="auto"`` and the window model's search running (``window``, ``hidden_size`` and ``max_steps`` left at
None), ``selection.choose_settings`` adds one more candidate to the window model's: an ``ESRNNForecaster`` with the
same horizon, season, cell, quantiles, batch size, rates, seed and members, its number of steps chosen by its own
early stopping on the same held-out values (the last ``horizon`` of each series) within its share of the time.
It takes part only where the hybrid applies (``why_not``): a season, every value > 0 (its multiplicative form), no
covariates, the window model's own options (strategy, mask, layers) at their defaults, and series long enough
to hold out the horizon and train before it. Both are ranked by the same score (``selection.scaled_mae`` of the
held-out forecasts; the hybrid scales each series by the span it fits, the median length of the panel, where the
window model uses the whole series: on a panel of equal lengths the two are the same).

When the hybrid wins, the forecaster becomes it (``adopt``: its class and settings, ``model="esrnn"``) and ``fit``
refits it on all the data; otherwise ``model`` is ``"window"``. Either way ``settings()`` then names the model
chosen, so a forecaster built from them (or a run's ``config.json``) refits without the search.
"""

from __future__ import annotations

from gatedrnn.forecast.features import Panel


def why_not(f, panel: Panel) -> str | None:
    """Why the hybrid is not a candidate for the forecaster ``f`` on ``panel`` (None: it is)."""
    if getattr(f, "model", "window") != "auto" or not {"window", "hidden_size", "max_steps"} <= set(f.auto):
        return "not asked (model 'auto' with window, hidden_size and max_steps left at None asks)"
    if not f.season:
        return "no season"
    if f.covariate_choice or f.covariates:
        return "covariates"
    if f.strategy != "direct" or f.num_layers != 1 or f.mask_choice is not None:
        return "a window-model option given"
    if any(v.size == 0 or not bool((v > 0).all()) for v in panel.values):
        return "a value <= 0 (the hybrid's form is multiplicative)"
    return None


def hybrid_candidate(f, seconds: float):
    """The hybrid's candidate ``ESRNNForecaster`` for ``f``, its search within ``seconds``."""
    from gatedrnn.forecast.esrnn_choice import hybrid

    return hybrid()(cell=f.cell, horizon=f.horizon, season=f.season, batch_size=f.batch_size, lr=f.lr, clip=f.clip,
                    seed=f.seed, n_models=f.n_models, quantiles=f.quantiles, time_limit=max(seconds, 1e-3),
                    time_clock=f.time_clock)


def try_hybrid(f, panel: Panel, limit: float, echo) -> dict:
    """The hybrid's candidate record (``{"model": "esrnn", "score", ...}``; ``"forecaster"``: the candidate, its
    ``max_steps`` chosen), trained within ``limit`` seconds; a score of None with ``"why"`` when it cannot be
    scored (series too short to hold out, or refused)."""
    e = hybrid_candidate(f, limit)
    spans = e.spans_of(panel)
    if min(v.size for v in spans.values) < e.window + e.horizon:
        return {"model": "esrnn", "score": None, "why": f"a series shorter than its window {e.window} + horizon "
                                                         f"{e.horizon}"}
    e._search(spans, lambda line: None)
    cands = (e.selection or {}).get("candidates") or []
    scored = [r for r in cands if r.get("score") is not None and r.get("best_step")]
    if not scored:
        why = (e.selection or {}).get("why") or "no score within its share of the time"
        return {"model": "esrnn", "score": None, "why": why}
    r = scored[0]
    echo(f"   ES-RNN ({e.hidden_size} units, window {e.window}): best held-out score at step {r['best_step']} of "
         f"{r['steps_run']} ({r['stopped']}; a schedule of {r['schedule']}), scaled MAE {r['score']:.4f} "
         f"({r['seconds']:.1f} s)")
    return {"model": "esrnn", "window": e.window, "hidden_size": e.hidden_size, "schedule": r["schedule"],
            "best_step": r["best_step"], "steps_run": r["steps_run"], "stopped": r["stopped"], "score": r["score"],
            "seconds": r["seconds"], "forecaster": e}


def adopt(f, e) -> None:
    """Make the forecaster ``f`` the fitted-to-be hybrid ``e`` (its class and every setting; its search done)."""
    e.auto = ()
    e.time_limit, e.time_clock = f.time_limit, f.time_clock
    f.__class__ = type(e)
    f.__dict__.clear()
    f.__dict__.update(e.__dict__)
