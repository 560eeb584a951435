"""Initialisers. Every one takes a ``numpy.random.Generator`` so that a seed fixes the weights."""

from __future__ import annotations

import math

import numpy

from gatedrnn.backend import asarray


def uniform(rng: numpy.random.Generator, shape, bound: float, dtype):
    """U(-bound, bound), the default of PyTorch's recurrent layers with bound = 1/sqrt(hidden_size)."""
    return asarray(rng.uniform(-bound, bound, size=shape), dtype=dtype)


def xavier_uniform(rng: numpy.random.Generator, fan_in: int, fan_out: int, dtype):
    """Glorot & Bengio (2010): U(-a, a) with a = sqrt(6 / (fan_in + fan_out)); shape (fan_out, fan_in)."""
    a = math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(rng, (fan_out, fan_in), a, dtype)


def normal(rng: numpy.random.Generator, shape, std: float, dtype):
    return asarray(rng.normal(0.0, std, size=shape), dtype=dtype)


def orthogonal(rng: numpy.random.Generator, rows: int, cols: int, dtype, gain: float = 1.0):
    """Saxe et al. (2014): a (rows, cols) matrix with orthonormal rows or columns, from the QR of a Gaussian."""
    a = rng.normal(size=(max(rows, cols), min(rows, cols)))
    q, r = numpy.linalg.qr(a)
    q = q * numpy.sign(numpy.diag(r))
    if rows < cols:
        q = q.T
    return asarray(gain * q[:rows, :cols], dtype=dtype)
