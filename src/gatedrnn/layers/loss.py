"""Losses: softmax cross-entropy over a token sequence, and mean-squared error."""

from __future__ import annotations

import math

import numpy

from gatedrnn.backend import Workers, xp
from gatedrnn.errors import UserError, check_ids, check_shape


class SoftmaxCrossEntropy:
    """Mean negative log-likelihood of integer targets under ``softmax(logits)``.

    ``forward(logits, targets, mask=None)`` takes logits of shape ``(..., V)`` (e.g. (batch, time, vocab)) and
    targets of the leading shape; ``mask`` (same shape as targets, 1 = count, 0 = ignore) makes the mean run
    over the counted tokens only. ``backward()`` returns ``dL/dlogits = (softmax - onehot) * mask / n``.

    For the 10 000-way softmax of a word model this is the largest elementwise pass of a training step, so
    ``forward`` makes it once: row blocks small enough to stay in cache go through ``exp``, the row sums and
    the scaling by ``mask / (n * sum)`` before the next block is read, which leaves the *gradient* (not the
    probabilities) in a buffer reused across calls of the same shape; ``backward`` only subtracts at the
    targets. The usual shift by the row maximum is skipped where it cannot matter: a row whose sum of
    exponentials is a normal, finite number lost nothing to overflow or underflow (every term is at most
    the sum, and terms below ``tiny`` are under 1e-8 of it), and only the rows where that test fails (logits
    above ~88 or all below ~-69 in float32) are recomputed with the shift. The loss is
    ``logsumexp(x) - x[target]`` per token, exact even where a probability underflows. Row blocks are shared
    across ``threads`` threads (default: ``gatedrnn.backend.default_threads()``).
    """

    def __init__(self, *, threads: int | None = None):
        self._p = None
        self._cache: tuple | None = None   # (targets, rows, weights, logits shape) of the last forward
        self._workers = Workers(threads)

    def __call__(self, logits, targets, mask=None) -> float:
        """``loss(logits, targets)`` is ``loss.forward(logits, targets)``."""
        return self.forward(logits, targets, mask)

    def forward(self, logits, targets, mask=None) -> float:
        V = logits.shape[-1]
        targets = xp.asarray(targets)
        check_shape("SoftmaxCrossEntropy targets", targets, logits.shape[:-1])
        check_ids("SoftmaxCrossEntropy targets", targets, V)
        x = logits.reshape(-1, V)
        N = x.shape[0]
        p = self._p
        if p is None or p.shape != x.shape or p.dtype != x.dtype:
            p = self._p = xp.empty_like(x)
        t = targets.reshape(-1)
        rows = xp.arange(N)
        if mask is None:
            m, n = None, float(N)
        else:
            m = xp.asarray(mask, dtype=p.dtype).reshape(-1)
            check_shape("SoftmaxCrossEntropy mask", m, t.shape)
            n = float(m.sum())
        n = max(n, 1.0)
        lse = xp.empty(N, dtype=p.dtype)          # log-sum-exp of each row
        w = xp.full(N, 1.0 / n, dtype=p.dtype) if m is None else m * p.dtype.type(1.0 / n)
        rb = max(1, (1 << 18) // V)               # rows per block: 1 MiB of float32

        def rows_pass(lo, hi, part):
            with numpy.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):  # caught below
                for a in range(lo, hi, rb):
                    b = min(a + rb, hi)
                    pb, lb = p[a:b], lse[a:b]
                    xp.exp(x[a:b], out=pb)
                    s = pb.sum(axis=1, out=lb)
                    pb *= (w[a:b] / s)[:, None]   # softmax * mask / n: the gradient, bar the targets
                    xp.log(lb, out=lb)

        self._workers.run(rows_pass, N, item_size=V)
        info = numpy.finfo(p.dtype)
        bad = xp.flatnonzero(~((lse > 0.75 * math.log(info.tiny)) & (lse < math.log(info.max))))
        if bad.size:                              # overflow or underflow: these rows again, shifted by their max
            xb = x[bad]
            mx = xb.max(axis=1, keepdims=True)
            eb = xp.exp(xb - mx)
            s = eb.sum(axis=1, keepdims=True)
            p[bad] = eb * (w[bad, None] / s)
            lse[bad] = (xp.log(s) + mx)[:, 0]
        nll = lse - x[rows, t]
        if m is not None:
            nll *= m
        self._cache = (t, rows, w, logits.shape)
        return float(nll.sum(dtype=numpy.float64) / n)

    def backward(self):
        if self._cache is None:
            raise UserError("SoftmaxCrossEntropy.backward: expected a forward call first, got none")
        t, rows, w, shape = self._cache
        d = self._p  # the buffer holds softmax * mask / n already
        d[rows, t] -= w
        self._cache = None
        return d.reshape(shape)


class MSE:
    """Mean over all elements of ``(y - target)^2``; ``backward()`` returns ``2 (y - target) / n``."""

    def __init__(self):
        self._diff = None

    def __call__(self, y, target) -> float:
        """``loss(y, target)`` is ``loss.forward(y, target)``."""
        return self.forward(y, target)

    def forward(self, y, target) -> float:
        target = xp.asarray(target, dtype=y.dtype)
        check_shape("MSE target", target, y.shape)
        self._diff = y - target
        return float((self._diff.astype(numpy.float64) ** 2).mean())

    def backward(self):
        if self._diff is None:
            raise UserError("MSE.backward: expected a forward call first, got none")
        return self._diff * (2.0 / self._diff.size)
