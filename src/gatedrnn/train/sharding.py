"""Dropout under data parallelism: each rank draws the random numbers of the whole global batch and keeps its rows,
so that N ranks consume and use exactly what one process does (``gatedrnn.train.distributed``)."""

from __future__ import annotations

import numpy


class RowSlicedGenerator(numpy.random.Generator):
    """A generator (sharing the layer's bit generator, so checkpoints save and restore it) that, while the
    communicator's ``window`` is ``(B, lo, hi)``, answers a draw of ``(hi - lo, ...)`` numbers with rows
    ``[lo, hi)`` of a draw of ``(B, ...)``: every rank consumes what one process would, and keeps its rows. The
    batch is on ``axis`` (0, or 1 for the time-major activations between the layers of a recurrent stack)."""

    def __init__(self, bit_generator, comm, axis: int = 0):
        super().__init__(bit_generator)
        self.comm, self.axis = comm, axis

    def random(self, size=None, dtype=numpy.float64, out=None):
        window = self.comm.window
        if window is None or out is not None or size is None:
            return super().random(size, dtype=dtype, out=out)
        size = (size,) if isinstance(size, int) else tuple(size)
        B, lo, hi = window
        a = self.axis
        if len(size) <= a or size[a] != hi - lo:
            raise RuntimeError(f"data-parallel dropout: expected a draw with the batch ({hi - lo} rows) on axis {a}, "
                               f"got shape {size}")
        return super().random(size[:a] + (B,) + size[a + 1:], dtype=dtype)[(slice(None),) * a + (slice(lo, hi),)]
