"""What ``Forecaster(model="esrnn").save`` writes and ``Forecaster.load`` reads back, checked in one place.

The folder is the window model's: ``path/model`` holds the first network (an ``ESRNN``: its per-series smoothing
parameters are weights in ``model.npz``, beside the network's), ``path/model-K`` the other members; each member's
``meta.json`` holds the same ``forecaster`` entry with the keys of ``saved.py``: ``settings`` (the constructor's
arguments, ``model: "esrnn"`` among them), ``ids``, ``kind``, ``freq``, ``last_ds``, ``history``, ``selection``,
``lengths`` (each series' whole length) and ``tails``: the span of each series the networks were fitted on (its
last ``length`` values), the values every forecast runs over again, so that the forecaster predicts, streams and
moves forward without the data (and the additive form's fixed scales follow from them). No pickle: JSON and npz.

A tampered or foreign entry is one ``UserError`` line naming the key: unknown settings, ids that are not distinct
texts, spans that are not finite (or not positive under the multiplicative form) or shorter than ``window +
horizon``, lengths shorter than the spans, members whose networks disagree with the settings or the first one's
entry.
"""

from __future__ import annotations

from pathlib import Path

from gatedrnn.checkpoint_io import locate_checkpoint
from gatedrnn.data.arrays import real_array
from gatedrnn.errors import UserError, is_integer, show
from gatedrnn.forecast.checks import check_values
from gatedrnn.forecast.features import Panel
from gatedrnn.forecast.saved import _dates, _list, saved_entry, saved_ids
from gatedrnn.models.esrnn import ESRNN
from gatedrnn.models.io import load_checkpoint, resolve_checkpoint


def saved_doc(f) -> dict:
    """The ``forecaster`` entry of the fitted ``f``."""
    p = f.panel
    if p is None or not f.models:
        raise UserError("Forecaster.save: expected a fitted forecaster, got none")
    doc = {"settings": f.settings(), "ids": p.ids, "kind": p.kind, "freq": p.freq,
           "tails": [v.tolist() for v in p.values], "lengths": [int(n) for n in f.lengths],
           "last_ds": [str(d) for d in p.last_ds], "history": f.history}
    if f.selection is not None:
        doc["selection"] = f.selection
    return doc


def _settings(cls, doc: dict, where: str):
    from gatedrnn.forecast.esrnn_forecaster import SETTINGS

    s = doc["settings"]
    if not isinstance(s, dict) or s.get("model") != "esrnn":
        raise UserError(f"{where}: settings: expected a mapping with model 'esrnn', got {show(s)}")
    unknown = sorted(k for k in s if k not in SETTINGS)
    if unknown:
        raise UserError(f"{where}: settings: expected keys among {', '.join(SETTINGS)}, got unknown {unknown} "
                        f"(written by a newer gatedrnn?)")
    if not is_integer(s.get("n_models")) or not 1 <= s["n_models"] <= 1000 or not is_integer(s.get("snapshots")) \
            or not 1 <= s["snapshots"] <= 1000:
        raise UserError(f"{where}: settings: n_models, snapshots: expected integers from 1 to 1000, got "
                        f"{show(s.get('n_models'))}, {show(s.get('snapshots'))}")
    return cls(**s)            # the constructor's own one-line checks of every setting


def _panel(f, doc: dict, where: str) -> Panel:
    ids, n, kind = saved_ids(doc, where)
    tails = [check_values(f"{where}: tails", real_array(f"{where}: tails", t)) for t in _list(doc, "tails", n, where)]
    if any(t.ndim != 1 for t in tails):
        raise UserError(f"{where}: tails: expected one list of values per series, got nested lists")
    lengths = _list(doc, "lengths", n, where)
    if not all(is_integer(k) and k >= t.size for k, t in zip(lengths, tails)):
        raise UserError(f"{where}: lengths: expected integers of at least each span's length, got {show(lengths)}")
    panel = Panel(list(ids), tails, kind, _dates(doc, n, kind, where), doc["freq"])
    f.check_spans(panel)
    f.lengths = [int(k) for k in lengths]
    return panel


def _check_network(f, model, n: int, where: str) -> None:
    c = getattr(model, "config", {})
    want = {"n_series": n, "horizon": f.horizon, "season": f.season, "season2": f.season2, "window": f.window,
            "cell": f.cell, "hidden_size": f.hidden_size, "quantiles": list(f.quantiles),
            "seasonality": f.seasonality, "es": True, "dilations": [list(b) for b in f.dilations]}
    wrong = [k for k, v in want.items() if c.get(k) != v]
    if not isinstance(model, ESRNN) or wrong:
        raise UserError(f"{where}: expected ES-RNN networks of the settings, got one whose {wrong or 'class'} differ")


def load_folder(cls, path):
    """The ``ESRNNForecaster`` of the folder ``path`` (every member)."""
    path = Path(path)
    found = resolve_checkpoint(path)
    first, meta, _ = load_checkpoint(found)
    where = f"Forecaster {found / 'meta.json'}"
    doc = saved_entry(meta, where)
    f = _settings(cls, doc, where)
    panel = _panel(f, doc, where)
    count = len(doc["history"]) if isinstance(doc.get("history"), list) else 0
    n = sum(1 + int(r.get("snapshots", 0)) for r in doc["history"] if isinstance(r, dict)) if count else 1
    missing = [f"model-{k}" for k in range(1, n) if locate_checkpoint(path / f"model-{k}") is None]
    if missing:
        raise UserError(f"{where}: history: expected {n} members in {path}, got none for {missing[:3]}")
    members = [first]
    for k in range(1, n):
        model, other, _ = load_checkpoint(path / f"model-{k}")
        if other.get("forecaster") != doc:
            raise UserError(f"{where}: model-{k}: expected the first member's forecaster entry, got another")
        members.append(model)
    for m in members:
        _check_network(f, m, len(panel.ids), where)
        m.scales = f.scales_of(panel.values)
        m.names_of_series = list(panel.ids)
    f.models, f.panel, f.history, f.selection = members, panel, doc.get("history", []), doc.get("selection")
    return f
