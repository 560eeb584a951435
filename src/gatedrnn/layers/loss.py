"""Losses: softmax cross-entropy over a token sequence, and mean-squared error."""

from __future__ import annotations

import numpy

from gatedrnn.backend import xp
from gatedrnn.errors import check_ids, check_shape


class SoftmaxCrossEntropy:
    """Mean negative log-likelihood of integer targets under ``softmax(logits)``.

    ``forward(logits, targets, mask=None)`` takes logits of shape ``(..., V)`` (e.g. (batch, time, vocab)) and
    targets of the leading shape; ``mask`` (same shape as targets, 1 = count, 0 = ignore) makes the mean run
    over the counted tokens only. ``backward()`` returns ``dL/dlogits = (softmax - onehot) * mask / n``.
    The softmax is computed once, in place in a buffer reused across calls of the same shape.
    """

    def __init__(self):
        self._p = None
        self._cache = None

    def forward(self, logits, targets, mask=None) -> float:
        V = logits.shape[-1]
        targets = xp.asarray(targets)
        check_shape("SoftmaxCrossEntropy targets", targets, logits.shape[:-1])
        check_ids("SoftmaxCrossEntropy targets", targets, V)
        x = logits.reshape(-1, V)
        p = self._p
        if p is None or p.shape != x.shape or p.dtype != x.dtype:
            p = self._p = xp.empty_like(x)
        xp.subtract(x, x.max(axis=1, keepdims=True), out=p)
        xp.exp(p, out=p)
        s = p.sum(axis=1, keepdims=True)
        p /= s
        t = targets.reshape(-1)
        rows = xp.arange(t.size)
        nll = -xp.log(xp.maximum(p[rows, t], numpy.finfo(p.dtype).tiny))
        if mask is None:
            m, n = None, t.size
        else:
            m = xp.asarray(mask, dtype=p.dtype).reshape(-1)
            check_shape("SoftmaxCrossEntropy mask", m, t.shape)
            n = float(m.sum())
            nll = nll * m
        n = max(n, 1.0)
        self._cache = (t, rows, m, n, logits.shape)
        return float(nll.sum(dtype=numpy.float64) / n)

    def backward(self):
        if self._cache is None:
            raise ValueError("SoftmaxCrossEntropy.backward: expected a forward call first, got none")
        t, rows, m, n, shape = self._cache
        d = self._p  # reuse the buffer: the softmax is not needed after this
        d[rows, t] -= 1
        if m is not None:
            d *= m[:, None]
        d *= d.dtype.type(1.0 / n)
        self._cache = None
        return d.reshape(shape)


class MSE:
    """Mean over all elements of ``(y - target)^2``; ``backward()`` returns ``2 (y - target) / n``."""

    def __init__(self):
        self._diff = None

    def forward(self, y, target) -> float:
        target = xp.asarray(target, dtype=y.dtype)
        check_shape("MSE target", target, y.shape)
        self._diff = y - target
        return float((self._diff.astype(numpy.float64) ** 2).mean())

    def backward(self):
        if self._diff is None:
            raise ValueError("MSE.backward: expected a forward call first, got none")
        return self._diff * (2.0 / self._diff.size)
