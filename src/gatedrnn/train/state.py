"""A training run's whole state in a checkpoint, and back: weights, optimizer slots and scalars, the schedule,
every random generator, the carried recurrent state, the callbacks' counters, and where the run is."""

from __future__ import annotations

import math

import numpy

from gatedrnn.backend import asarray, to_numpy
from gatedrnn.errors import UserError
from gatedrnn.train.checkpoint import read_checkpoint, save_checkpoint


def iter_layers(layer):
    """``layer`` and all its descendants, depth first, each once."""
    seen, stack = set(), [layer]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        stack.extend(reversed(getattr(node, "children", [])))


def model_generators(model) -> list:
    """The random generators a model owns (its dropout layers' ``rng``), in a fixed order."""
    return [lay.rng for lay in iter_layers(model) if isinstance(getattr(lay, "rng", None), numpy.random.Generator)]


def _flatten_state(state):
    if state is None:
        return None, []
    if isinstance(state, (tuple, list)):
        return len(state), [to_numpy(s) for s in state]
    return 0, [to_numpy(state)]


def _unflatten_state(kind, arrays):
    if kind is None:
        return None
    arrays = [asarray(a) for a in arrays]
    return arrays[0] if kind == 0 else tuple(arrays)


def _callback_key(k: int, cb) -> str:
    return f"{k}.{type(cb).__name__}"


def save_training_state(trainer, path, carried):
    """Write ``trainer``'s model and everything needed to resume it to the checkpoint folder ``path``; ``carried``:
    the carried recurrent state to save (the whole one under MPI, which the trainer's communicator gathers)."""
    scalars, slots = trainer.optimizer.state_dict()
    kind, state_arrays = _flatten_state(carried)
    arrays = {f"optim.{k}": v for k, v in slots.items()}
    arrays.update({f"state.{i}": a for i, a in enumerate(state_arrays)})
    rng = {"model": [g.bit_generator.state for g in model_generators(trainer.model)],
           "extra": {k: g.bit_generator.state for k, g in trainer.rngs.items()}}
    meta = {**trainer.meta, "trainer": trainer.position(), "optimizer": scalars, "rng": rng,
            "schedule": None if trainer.schedule is None else trainer.schedule.state_dict(),
            "callbacks": {_callback_key(k, cb): cb.state_dict() for k, cb in enumerate(trainer.callbacks)},
            "carried_state": kind}
    return save_checkpoint(path, trainer.model, meta=meta, arrays=arrays)


def load_training_state(trainer, path) -> dict:
    """Restore into ``trainer`` what ``save_training_state`` wrote; returns the checkpoint's meta."""
    meta, weights, extra = read_checkpoint(path)
    if "trainer" not in meta or "optimizer" not in meta:
        raise UserError(f"checkpoint {path}: expected a training checkpoint (trainer and optimizer state), got a weights-only one")
    trainer.model.load_state_dict(weights)
    trainer.optimizer.load_state_dict(meta["optimizer"], {k[6:]: v for k, v in extra.items() if k.startswith("optim.")})
    _load_schedule(trainer.schedule, meta.get("schedule"), path)
    _load_generators(trainer, meta.get("rng", {}), path)
    saved_callbacks = meta.get("callbacks", {})
    for k, cb in enumerate(trainer.callbacks):
        if _callback_key(k, cb) in saved_callbacks:
            cb.load_state_dict(saved_callbacks[_callback_key(k, cb)])
    kind = meta.get("carried_state")
    n = 0 if kind is None else max(kind, 1)
    trainer.state = _unflatten_state(kind, [extra[f"state.{i}"] for i in range(n)])
    trainer.restore_position(meta["trainer"])
    return meta


def _load_schedule(schedule, saved, path) -> None:
    if (saved is None) != (schedule is None):
        raise UserError(f"checkpoint {path}: expected schedule {None if schedule is None else schedule.name!r}, "
                        f"got {None if saved is None else saved.get('name')!r}")
    if schedule is not None:
        schedule.load_state_dict(saved)


def _load_generators(trainer, saved: dict, path) -> None:
    gens, states = model_generators(trainer.model), saved.get("model", [])
    if len(gens) != len(states):
        raise UserError(f"checkpoint {path}: expected {len(gens)} random generator states for the model, got {len(states)}")
    for g, s in zip(gens, states):
        g.bit_generator.state = s
    for k, s in saved.get("extra", {}).items():
        if k in trainer.rngs:
            trainer.rngs[k].bit_generator.state = s


def finite_or_none(v: float):
    return v if v is not None and math.isfinite(v) else None
