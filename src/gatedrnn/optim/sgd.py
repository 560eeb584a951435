"""Stochastic gradient descent: ``p <- p - lr * g``."""

from __future__ import annotations

from gatedrnn.backend import Workers, xp
from gatedrnn.optim.base import Optimizer

CHUNK = 1 << 16  # elements per pass of the update: 256 KiB of float32 stays in cache between the two ufuncs


class SGD(Optimizer):
    """Plain SGD, the book's choice for the PTB language models (lr 20 with clipping 0.25).

    The update runs over cache-sized chunks through one small scratch array per thread, so it reads each
    gradient once, writes each parameter once and allocates nothing (no parameter-sized temporary), with the
    chunks of large parameters shared across ``threads`` threads.
    """

    def __init__(self, params, grads, lr: float, *, threads: int | None = None):
        super().__init__(params, grads, lr)
        self._workers = Workers(threads)
        self._chunks: dict[tuple, object] = {}   # (dtype, threads) -> scratch array

    def _chunk(self, dtype):
        """Scratch of CHUNK elements per thread (its own per worker: the chunks run concurrently)."""
        key = (dtype, self._workers.threads)
        if key not in self._chunks:
            self._chunks[key] = xp.empty((self._workers.threads, CHUNK), dtype=dtype)
        return self._chunks[key]

    def update(self, k, p, g):
        lr = p.dtype.type(self.lr)
        if p.size <= CHUNK or not (p.flags.c_contiguous and g.flags.c_contiguous):
            if p.size <= CHUNK:
                s = self._chunk(p.dtype)[0, :p.size].reshape(p.shape)
                xp.multiply(g, lr, out=s)
                p -= s
            else:  # pragma: no cover - parameters are contiguous in every layer of gatedrnn
                p -= lr * g
            return
        pf, gf, scratch = p.reshape(-1), g.reshape(-1), self._chunk(p.dtype)
        n_chunks = -(-pf.size // CHUNK)

        def chunks(lo, hi, part):
            s = scratch[part]  # one scratch row per thread
            for c in range(lo, hi):
                a, b = c * CHUNK, min((c + 1) * CHUNK, pf.size)
                sc = s[:b - a]
                xp.multiply(gf[a:b], lr, out=sc)
                pf[a:b] -= sc

        self._workers.run(chunks, n_chunks, item_size=CHUNK)
