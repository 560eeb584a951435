"""Parameter groups: several optimizers, each over its own parameters with its own learning rate, stepped as one.

    opt = param_groups("adam", model.names, model.params, model.grads, lr=3e-3, rates={"es.": 1e-2})

puts every parameter whose name starts with ``es.`` (the per-series smoothing of an ES-RNN) in an Adam of its own
at lr 1e-2 and the rest in one at 3e-3. ``ParamGroups`` looks like one optimizer to the ``Trainer`` and to the
schedules: ``params``/``grads`` are the groups' lists joined, ``step()`` steps every group, and ``lr`` is the first
group's rate; setting it (a schedule does) scales every group by the same factor, so each keeps its ratio to the
first. ``state_dict``/``load_state_dict`` hold every group's state, so a resumed run continues exactly.
"""

from __future__ import annotations

from gatedrnn.errors import UserError, check_positive, show
from gatedrnn.optim.base import Optimizer
from gatedrnn.optim.sparse import SparseAdam


class ParamGroups:
    """One optimizer made of ``optimizers`` (each an ``Optimizer`` over its own parameters), the first one's
    learning rate being ``lr`` (module docstring)."""

    def __init__(self, optimizers):
        self.groups = list(optimizers)
        if not self.groups or not all(isinstance(o, Optimizer) for o in self.groups):
            raise UserError(f"ParamGroups: expected a non-empty list of optimizers, got {show(optimizers)}")
        seen = [id(p) for o in self.groups for p in o.params]
        if len(set(seen)) != len(seen):
            raise UserError("ParamGroups: expected every parameter in one group only, got one in two groups")
        self.params = [p for o in self.groups for p in o.params]
        self.grads = [g for o in self.groups for g in o.grads]
        self.ratios = [o.lr / self.groups[0].lr for o in self.groups]
        self.t = 0

    @property
    def lr(self) -> float:
        return self.groups[0].lr

    @lr.setter
    def lr(self, value: float) -> None:
        check_positive("ParamGroups lr", value, zero_ok=True)
        for o, r in zip(self.groups, self.ratios):
            o.lr = float(value) * r

    def step(self) -> None:
        self.t += 1
        for o in self.groups:
            o.step()

    def state_dict(self):
        """-> (JSON-able scalars with every group's, arrays keyed ``g<k>.<slot>.<index>``)."""
        scalars, arrays = {"type": "ParamGroups", "t": self.t, "lr": self.lr, "groups": []}, {}
        for k, o in enumerate(self.groups):
            s, a = o.state_dict()
            scalars["groups"].append(s)
            arrays.update({f"g{k}.{key}": v for key, v in a.items()})
        return scalars, arrays

    def load_state_dict(self, scalars: dict, arrays: dict) -> None:
        groups = scalars.get("groups") if isinstance(scalars, dict) else None
        if scalars.get("type") != "ParamGroups" or not isinstance(groups, list) or len(groups) != len(self.groups):
            raise UserError(f"optimizer state: expected ParamGroups of {len(self.groups)} groups, got "
                            f"{show(scalars.get('type'))} with {len(groups) if isinstance(groups, list) else 'no'} groups")
        for k, (o, s) in enumerate(zip(self.groups, groups)):
            prefix = f"g{k}."
            o.load_state_dict(s, {key[len(prefix):]: v for key, v in arrays.items() if key.startswith(prefix)})
        self.t = int(scalars["t"])


def param_groups(name: str, names, params, grads, lr: float, rates: dict, sparse: dict | None = None,
                 **kwargs) -> ParamGroups:
    """The optimizer ``name`` (``gatedrnn.optim.OPTIMIZERS``) in groups: the parameters whose name starts with a
    prefix of ``rates`` train at that prefix's learning rate (the first prefix that matches), the others at ``lr``
    (the first group; when no parameter is left for it, the first prefix's group is first). ``kwargs`` go to every
    group's optimizer. A prefix that matches nothing is an error. ``sparse`` maps a prefix of ``rates`` to
    ``(rows, n_rows)``: that group is a ``SparseAdam`` (``optim/sparse.py``: only the rows present in the batch,
    ``rows()``, step; Adam only)."""
    from gatedrnn.optim import make_optimizer  # the registry of this package, in its __init__

    check_positive("lr", lr)
    prefixes = list(rates)
    for p in prefixes:
        check_positive(f"rates[{p!r}]", rates[p])
    buckets: dict = {None: ([], [])}
    buckets.update({p: ([], []) for p in prefixes})
    for n, p, g in zip(names, params, grads):
        key = next((k for k in prefixes if n.startswith(k)), None)
        buckets[key][0].append(p)
        buckets[key][1].append(g)
    empty = [k for k in prefixes if not buckets[k][0]]
    if empty:
        raise UserError(f"param_groups rates: expected prefixes of parameter names, got {empty} matching none")
    sparse = dict(sparse or {})
    wrong = [k for k in sparse if k not in prefixes]
    if wrong or (sparse and name != "adam"):
        raise UserError(f"param_groups sparse: expected prefixes of rates with the adam optimizer, got {wrong or name}")

    def make(k):
        if k in sparse:
            rows, n_rows = sparse[k]
            return SparseAdam(buckets[k][0], buckets[k][1], rows, n_rows, lr=rates[k], **kwargs)
        return make_optimizer(name, buckets[k][0], buckets[k][1], lr=lr if k is None else rates[k], **kwargs)

    return ParamGroups([make(k) for k in [None] + prefixes if buckets[k][0]])
