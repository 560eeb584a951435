"""Linear (affine) layer: ``y = x W^T + b`` over the last axis, PyTorch's layout."""

from __future__ import annotations

import math

import numpy

from gatedrnn.backend import resolve_dtype, xp
from gatedrnn.errors import UserError, check_dim, check_float
from gatedrnn.init import uniform
from gatedrnn.layers.base import Layer


class Linear(Layer):
    """``y = x @ W.T + b`` with ``W`` of shape ``(out_features, in_features)`` (PyTorch's ``weight``).

    ``x`` may have any leading shape; it is flattened to one GEMM. ``W`` is stored as PyTorch stores it so
    that an output layer can share the embedding matrix (``weight=embedding.W``, tied weights, Press & Wolf
    2017); the GEMM reads the transposed view without copying. Initialised U(-1/sqrt(in), 1/sqrt(in)).
    """

    def __init__(self, in_features: int, out_features: int, *, bias: bool = True, weight=None,
                 weight_grad=None, dtype=None, seed=None):
        super().__init__()
        dtype = resolve_dtype(dtype)
        rng = numpy.random.default_rng(seed)
        self.in_features, self.out_features = in_features, out_features
        bound = 1.0 / math.sqrt(in_features)
        if weight is None:
            self.W = self.add_param("weight", uniform(rng, (out_features, in_features), bound, dtype))
        else:  # tied: share the array and its gradient with another layer
            if tuple(weight.shape) != (out_features, in_features):
                raise UserError(f"Linear weight: expected shape {(out_features, in_features)}, got {tuple(weight.shape)}")
            self.W = weight
            self.params.append(weight)
            self.grads.append(weight_grad if weight_grad is not None else xp.zeros_like(weight))
            self.names.append("weight")
        self.b = self.add_param("bias", uniform(rng, (out_features,), bound, dtype)) if bias else None
        self._x = None

    def forward(self, x):
        check_float("Linear input", x)
        check_dim("Linear input", x, -1, self.in_features, "in_features")
        x2 = x.reshape(-1, self.in_features).astype(self.W.dtype, copy=False)
        self._x = x2
        self._lead = x.shape[:-1]
        y = x2 @ self.W.T
        if self.b is not None:
            y += self.b
        return y.reshape(self._lead + (self.out_features,))

    def backward(self, dy):
        if self._x is None:
            raise UserError("Linear.backward: expected a forward call first, got none")
        if tuple(dy.shape) != tuple(self._lead) + (self.out_features,):
            raise UserError(f"Linear.backward: expected dy shape {tuple(self._lead) + (self.out_features,)}, got {tuple(dy.shape)}")
        dy2 = dy.reshape(-1, self.out_features)
        self.grads[0] += dy2.T @ self._x
        if self.b is not None:
            self.grads[1] += dy2.sum(axis=0)
        return (dy2 @ self.W).reshape(self._lead + (self.in_features,))
