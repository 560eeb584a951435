"""What ``Forecaster.load`` reads: the ``forecaster`` entry of the meta.json that ``Forecaster.save`` wrote into
every member's checkpoint, checked in one place before anything is built from it.

The entry holds ``settings`` (the constructor's arguments), ``ids``, ``kind``, ``freq``, ``tails`` (the last
``window`` values of each series), ``lengths``, ``last_ds`` and ``history``; with covariates also
``covariate_stats`` (mean, std) and ``covariate_tails``. A tampered, truncated or foreign entry is one
``UserError`` line per problem, naming the key: a missing key, a value of the wrong type, a key this version does
not know (written by a newer gatedrnn: refused rather than ignored, since it may change what the numbers mean),
counts that disagree (ids, tails, lengths, dates; window; covariates), values that are not finite or beyond
``checks.VALUE_LIMIT`` (a tail of 1e308 would forecast ±inf), and networks whose sizes are not those the settings
imply (another number of quantiles would read the wrong output columns). Every member's own copy of the entry
must be the first's.

Saves older than the covariates and the recursive strategy lack ``settings.strategy`` and
``settings.covariates``: they load with the behaviour they had (``"direct"``, none); saves older than short
series and the settings search lack ``settings.mask``, ``time_limit`` and ``time_clock`` (no mask input, the
default budget). ``selection`` (optional) is what the settings search chose and the candidates' scores. With the
mask input (``panel.py``) a series may be shorter than the window: its tail is saved padded on the left with its
first value, and its length (at least 1) says how much of the tail is its own.
"""

from __future__ import annotations

import math
import re

import numpy

from gatedrnn.data.arrays import real_array
from gatedrnn.errors import UserError, is_integer, require, show
from gatedrnn.forecast.checks import check_values
from gatedrnn.forecast.features import PURPOSE, Panel

KEYS = ("settings", "ids", "kind", "freq", "tails", "lengths", "last_ds", "history", "covariate_stats",
        "covariate_tails", "selection")
OPTIONAL = ("history", "covariate_stats", "covariate_tails", "selection")
# settings that older saves lack: the behaviour they had (no mask input; the search's budget is not used by load)
ADDED_LATER = {"strategy": "direct", "covariates": [], "mask": False, "time_limit": None, "time_clock": "wall"}
KINDS = ("array", "list", "series", "frame")
# the frequencies pandas' infer_freq writes (the aliases of pandas >= 2.2 and the older ones), with a multiple and
# an anchor: a tampered freq is refused here, not at predict's date arithmetic
FREQ = re.compile(r"\d*(ns|N|us|U|ms|L|s|S|min|T|h|H|bh|BH|cbh|CBH|D|B|C|W|M|ME|MS|BM|BME|BMS|CBM|CBME|CBMS|SM|SME|"
                  r"SMS|Q|QE|QS|BQ|BQE|BQS|A|Y|YE|AS|YS|BA|BY|BYE|BAS|BYS)(-([A-Z]{3}|\d{1,2}))?")
MAX_VALUES = 2**28      # the series' lengths together (each is rebuilt as its tail after NaN: 2 GiB)


def saved_entry(meta, where: str) -> dict:
    """The ``forecaster`` entry of ``meta`` with its keys checked (missing, unknown)."""
    doc = meta.get("forecaster") if isinstance(meta, dict) else None
    if not isinstance(doc, dict):
        raise UserError(f"{where}: expected a checkpoint written by Forecaster.save (meta 'forecaster'), got "
                        f"{'none' if doc is None else type(doc).__name__}")
    missing = [k for k in KEYS if k not in doc and k not in OPTIONAL]
    if missing:
        raise UserError(f"{where}: expected the keys {', '.join(k for k in KEYS if k not in OPTIONAL)}, got "
                        f"{sorted(doc)} (missing {missing})")
    unknown = sorted(k for k in doc if k not in KEYS)
    if unknown:
        raise UserError(f"{where}: expected keys among {', '.join(KEYS)}, got unknown {unknown} (written by a newer "
                        f"gatedrnn?)")
    return doc


def saved_settings(doc: dict, where: str, known) -> dict:
    """The constructor's arguments, ``ADDED_LATER`` filled in for older saves; unknown or missing keys refused."""
    s = doc["settings"]
    if not isinstance(s, dict):
        raise UserError(f"{where}: settings: expected a mapping, got {show(s)}")
    unknown = sorted(k for k in s if k not in known)
    if unknown:
        raise UserError(f"{where}: settings: expected keys among {', '.join(known)}, got unknown {unknown} (written "
                        f"by a newer gatedrnn?)")
    s = {**{k: v for k, v in ADDED_LATER.items() if k not in s}, **s}
    missing = [k for k in known if k not in s]
    if missing:
        raise UserError(f"{where}: settings: expected every key of {', '.join(known)}, got none for {missing}")
    if not is_integer(s["n_models"]) or not 1 <= s["n_models"] <= 1000:
        raise UserError(f"{where}: settings: n_models: expected an integer from 1 to 1000, got {show(s['n_models'])}")
    return s


def _list(doc: dict, key: str, n, where: str) -> list:
    v = doc[key]
    if not isinstance(v, list) or (n is not None and len(v) != n):
        want = "a list" if n is None else f"a list of {n} (one per series)"
        raise UserError(f"{where}: {key}: expected {want}, got {show(v) if not isinstance(v, list) else len(v)}")
    return v


def _rows(v, shape: tuple, name: str, where: str) -> numpy.ndarray:
    a = check_values(f"{where}: {name}", real_array(f"{where}: {name}", v))
    if a.shape != shape:
        raise UserError(f"{where}: {name}: expected shape {shape}, got {a.shape}")
    return a


def _dates(doc: dict, n: int, kind: str, where: str) -> list:
    """The last timestamps (pandas layouts) and a frequency pandas knows, or none at all (arrays)."""
    last, freq = _list(doc, "last_ds", None, where), doc["freq"]
    if kind in ("array", "list"):
        if last or freq is not None:
            raise UserError(f"{where}: last_ds, freq: expected none for kind {kind!r}, got {show(last)}, {show(freq)}")
        return []
    if len(last) != n or not all(isinstance(d, str) for d in last) or not isinstance(freq, str):
        raise UserError(f"{where}: last_ds, freq: expected {n} timestamps and a frequency for kind {kind!r}, got "
                        f"{show(last)}, {show(freq)}")
    pd = require("pandas", PURPOSE, "forecast")
    stamps = pd.to_datetime(pd.Series(last, dtype=object), errors="coerce")
    if stamps.isna().any():
        raise UserError(f"{where}: last_ds: expected timestamps, got {show(last[int(stamps.isna().to_numpy().argmax())])}")
    if not FREQ.fullmatch(freq):
        raise UserError(f"{where}: freq: expected a pandas frequency (h, D, W-SUN, MS, QS-OCT, 15min ...), got "
                        f"{show(freq)}")
    return list(stamps)


def saved_ids(doc: dict, where: str) -> tuple[list, int, str]:
    """(ids, their number, the panel's kind) of a saved forecaster's entry, checked: distinct texts, a known kind."""
    ids = _list(doc, "ids", None, where)
    n, kind = len(ids), doc["kind"]
    if not ids or not all(isinstance(i, str) for i in ids) or len(set(ids)) != n:
        raise UserError(f"{where}: ids: expected a non-empty list of distinct texts, got {show(ids)}")
    if kind not in KINDS or (kind in ("array", "series") and n != 1):
        raise UserError(f"{where}: kind: expected one of {', '.join(KINDS)} (array and series: one id), got "
                        f"{show(kind)} with {n} id(s)")
    return ids, n, kind


def saved_panel(f, doc: dict, where: str) -> Panel:
    """The panel (each series its tail, NaN before it) of the checked entry; sets ``f``'s covariate statistics."""
    ids, n, kind = saved_ids(doc, where)
    w, need = f.window, 1 if f.mask else f.window + f.output_horizon
    tails = _rows(_list(doc, "tails", n, where), (n, w), "tails", where)
    lengths = _list(doc, "lengths", n, where)
    if not all(is_integer(k) and k >= need for k in lengths) or sum(lengths) > MAX_VALUES:
        why = "with the mask input" if f.mask else f"window {w} + {f.output_horizon}"
        raise UserError(f"{where}: lengths: expected integers of at least {need} ({why}), {MAX_VALUES:,} in all "
                        f"at most, got {show(lengths)}")
    if not isinstance(doc.get("selection", {}), dict):
        raise UserError(f"{where}: selection: expected a mapping, got {show(doc['selection'])}")
    last = _dates(doc, n, kind, where)
    if not isinstance(doc.get("history", []), list):
        raise UserError(f"{where}: history: expected a list, got {show(doc['history'])}")
    covs = _covariates(f, doc, n, lengths, where)
    return Panel(list(ids), [_padded(t, k) for t, k in zip(tails, lengths)], kind, last, doc["freq"], covs)


def _covariates(f, doc: dict, n: int, lengths: list, where: str) -> list:
    C = len(f.covariates)
    if not C:
        if "covariate_stats" in doc or "covariate_tails" in doc:
            raise UserError(f"{where}: covariate_stats, covariate_tails: expected none (settings.covariates is empty), "
                            "got some")
        return []
    stats = doc.get("covariate_stats")
    if not isinstance(stats, dict) or sorted(stats) != ["mean", "std"]:
        raise UserError(f"{where}: covariate_stats: expected {{'mean': [...], 'std': [...]}} for {C} covariate(s), "
                        f"got {show(stats)}")
    f.cov_mean = _rows(stats["mean"], (C,), "covariate_stats mean", where)
    f.cov_std = _rows(stats["std"], (C,), "covariate_stats std", where)
    if not (f.cov_std > 0).all():
        raise UserError(f"{where}: covariate_stats std: expected positive numbers, got {f.cov_std.tolist()}")
    tails = _rows(_list(doc, "covariate_tails", n, where) if "covariate_tails" in doc else None,
                  (n, f.window, C), "covariate_tails", where)
    return [_padded(t, k) for t, k in zip(tails, lengths)]


def check_networks(f, models: list, where: str) -> None:
    """Every member a ``SequenceRegressor`` of the sizes ``f``'s settings imply (inputs, outputs: the quantiles)."""
    cov = bool(f.covariates)
    want = {"cell": f.cell, "input_size": f.input_size, "hidden_size": f.hidden_size, "num_layers": f.num_layers,
            "output_size": len(f.quantiles) * (1 if cov else f.output_horizon), "many_to_one": not cov}
    for k, model in enumerate(models):
        got = getattr(model, "config", None) or {}
        diff = {key: got.get(key) for key, v in want.items() if got.get(key) != v}
        if type(model).__name__ != "SequenceRegressor" or diff:
            raise UserError(f"{where}: member {k}: expected a SequenceRegressor with {want} (from the settings: "
                            f"{len(f.quantiles)} quantiles {f.quantiles}), got {type(model).__name__} with {diff}")


def check_members(first: dict, metas: list, where: str) -> None:
    """Each member's checkpoint holds the same entry as the first (and says which member it is)."""
    for k, meta in enumerate(metas, start=1):
        doc = meta.get("forecaster") if isinstance(meta, dict) else None
        if doc != first or meta.get("member", k) != k:
            raise UserError(f"{where}: member {k}: expected the same 'forecaster' entry as member 0, got a different "
                            f"one (members of different saves?)")


def _padded(tail, n: int) -> numpy.ndarray:
    """A series of length ``n`` (rows: covariates) whose last values are ``tail`` (only the tail and the length
    matter to predict: the earlier values are NaN so that any use of them shows)."""
    tail = numpy.asarray(tail, dtype=numpy.float64)
    if n <= len(tail):                 # a short series (mask input): its own values end the padded tail
        return tail[len(tail) - n:].copy()
    v = numpy.full((n, *tail.shape[1:]), math.nan)
    v[n - len(tail):] = tail
    return v
