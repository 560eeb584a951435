"""Sampling text from a language model, one token at a time, with temperature and top-k."""

from __future__ import annotations

import numpy

from gatedrnn.backend import to_numpy
from gatedrnn.errors import UserError, check_int, check_positive


def next_token_distribution(logits, temperature: float = 1.0, top_k: int | None = None, exclude=()) -> numpy.ndarray:
    """``softmax(logits / temperature)`` over the ``top_k`` largest logits (all when ``None``), as float64.

    Ids in ``exclude`` (e.g. ``<unk>``) get probability 0. ``temperature == 0`` puts all mass on the argmax.
    """
    check_positive("temperature", temperature, zero_ok=True)    # NaN and Inf would make every probability NaN
    z = numpy.array(to_numpy(logits), dtype=numpy.float64).reshape(-1)
    if numpy.isnan(z).any():
        raise UserError("sampling: expected finite logits from the model, got NaN")
    if len(exclude):
        z[numpy.asarray(list(exclude), dtype=numpy.int64)] = -numpy.inf
    if top_k is not None:
        check_int("top_k", top_k)
        if top_k < z.size:
            cut = numpy.partition(z, z.size - top_k)[z.size - top_k]
            z[z < cut] = -numpy.inf
    if not numpy.isfinite(z.max()):
        raise UserError("sampling: expected at least one finite logit after exclusions, got none")
    if temperature == 0:
        p = numpy.zeros_like(z)
        p[int(z.argmax())] = 1.0
        return p
    z = (z - z.max()) / temperature
    p = numpy.exp(z)
    return p / p.sum()


def sample(model, start_ids, length: int, rng: numpy.random.Generator, temperature: float = 1.0,
           top_k: int | None = None, exclude=()) -> list[int]:
    """Feed ``start_ids``, then draw ``length`` ids one step at a time, carrying the recurrent state.

    Deterministic for a given ``rng`` state. The model runs in evaluation mode (no dropout) and is left in
    the mode it was in.
    """
    return list(iter_sample(model, start_ids, length, rng, temperature, top_k, exclude))


def iter_sample(model, start_ids, length: int, rng: numpy.random.Generator, temperature: float = 1.0,
                top_k: int | None = None, exclude=()):
    """``sample`` one id at a time, as each is drawn (the same ids for the same ``rng`` state): what streams a
    long sample to the screen instead of holding it back until the end. The arguments are checked before
    the first id is drawn."""
    start = numpy.asarray(start_ids, dtype=numpy.int64).reshape(-1)
    if start.size == 0:
        raise UserError("sample start_ids: expected at least one id, got none")
    check_int("sample length", length, 0)
    check_positive("temperature", temperature, zero_ok=True)
    check_int("top_k", top_k, none_ok=True)
    return _draw(model, start, length, rng, temperature, top_k, exclude)


def _draw(model, start, length, rng, temperature, top_k, exclude):
    was_training = model.training
    model.eval()
    try:
        logits, state = model.forward(start[None])
        step = numpy.empty((1, 1), dtype=numpy.int64)
        for _ in range(length):
            p = next_token_distribution(logits[0, -1], temperature, top_k, exclude)
            nxt = int(rng.choice(p.size, p=p))
            yield nxt
            step[0, 0] = nxt
            logits, state = model.forward(step, state)
    finally:
        model.train(was_training)
