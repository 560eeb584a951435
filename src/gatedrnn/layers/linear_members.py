"""K linear layers of one shape side by side (the heads of an ensemble's members trained as one batched network):
member k computes ``y_k = x_k W_k^T + b_k`` (linear.py's layer, PyTorch's layout) on its own rows, all K in one
stacked GEMM. ``weight`` (K, out, in) and ``bias`` (K, out) are the members' parameters stacked, used in place."""

from __future__ import annotations

from gatedrnn.errors import UserError
from gatedrnn.layers.base import Layer
from gatedrnn.layers.lstm_members import given_grads


class LinearMembers(Layer):
    """``forward(x (K, B, in)) -> (K, B, out)``; ``backward(dy (K, B, out)) -> dx (K, B, in)``, accumulating the
    gradients of ``weight`` and ``bias`` (new arrays, or the two given as ``grads``)."""

    def __init__(self, weight, bias, *, grads=None):
        super().__init__()
        K, out, inp = weight.shape
        if tuple(bias.shape) != (K, out):
            raise UserError(f"LinearMembers bias: expected shape {(K, out)}, got {tuple(bias.shape)}")
        self.members, self.in_features, self.out_features = K, inp, out
        self.W = self.add_param("weight", weight)
        self.b = self.add_param("bias", bias)
        self._x = None
        if grads is not None:
            self.grads = given_grads(self, grads)

    def forward(self, x):
        if x.ndim != 3 or (x.shape[0], x.shape[2]) != (self.members, self.in_features):
            raise UserError(f"LinearMembers input: expected shape ({self.members}, B, {self.in_features}), got "
                            f"{tuple(x.shape)}")
        self._x = x
        y = x @ self.W.transpose(0, 2, 1)
        y += self.b[:, None, :]
        return y

    def backward(self, dy):
        if self._x is None:
            raise UserError("LinearMembers.backward: expected a forward call first, got none")
        x, self._x = self._x, None
        self.grads[0] += dy.transpose(0, 2, 1) @ x
        self.grads[1] += dy.sum(axis=1)
        return dy @ self.W
