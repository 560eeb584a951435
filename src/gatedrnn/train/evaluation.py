"""The mean loss of a model over batches (validation, test), in one process or split over MPI ranks."""

from __future__ import annotations

import numpy

from gatedrnn.errors import UserError


def _unpack(batch):
    """``(x, t)`` or ``(x, t, mask)`` -> (x, t, mask or None, number of targets)."""
    x, t, *rest = batch
    mask = rest[0] if rest else None
    return x, t, mask, int(numpy.prod(t.shape)) if mask is None else int(numpy.count_nonzero(mask))


def evaluate(model, loss, data, *, carry_state: bool = True, comm=None) -> float:
    """Mean loss over ``data`` (an iterable of batches), weighting each batch by its number of targets.

    Runs in evaluation mode (no dropout) and leaves the model in the mode it was in. With ``comm`` (an
    ``MPICommunicator``) each rank evaluates its rows of every batch and the sums are added over the ranks.
    """
    was = model.training
    model.eval()
    total, count, state = 0.0, 0, None
    try:
        for batch in (data if comm is None else comm.local_batches(data)):
            x, t, mask, n = _unpack(batch)
            y, new = model.forward(x, state)
            total += (loss.forward(y, t) if mask is None else loss.forward(y, t, mask)) * n
            count += n
            state = new if carry_state else None
    finally:
        model.train(was)
    if comm is not None:
        total, count = comm.sum(total, count)
    if count == 0:
        raise UserError("evaluate: expected at least one batch, got none")
    return total / count
