"""Gradient clipping per member of an ensemble whose K members' parameters are stacked on a leading axis (the
batched ensembles of ``layers/lstm_members.py``).

``MemberClip(optimizer, max_norm)`` wraps any optimizer over such stacked ``params``/``grads`` (axis 0: the
member): ``step()`` first scales each member's gradient to a global norm of at most ``max_norm``, measured over
that member's slices of every gradient (``clip.clip_grad_norm`` on ``[g[k] for g in grads]``), then runs the
wrapped optimizer's step. This is what K separate training runs, each with the Trainer's global-norm clipping,
would do; clipping the stacked gradient as one vector would tie the members together (a member with a large
gradient would shrink every other's step). Give the ``Trainer`` this wrapper and ``clip=None``. ``max_norm`` 0
or None: no clipping. Everything else (``lr`` that schedules set, ``t``, ``state_dict``) is the wrapped
optimizer's.
"""

from __future__ import annotations

from gatedrnn.errors import check_positive
from gatedrnn.optim.clip import clip_grad_norm


class MemberClip:
    """See the module docstring; ``norms`` holds each member's gradient norm before the last step's clipping."""

    def __init__(self, optimizer, max_norm: float | None):
        check_positive("MemberClip max_norm", max_norm, zero_ok=True, none_ok=True)
        self.optimizer, self.max_norm = optimizer, float(max_norm or 0.0)
        self.members = int(optimizer.grads[0].shape[0]) if optimizer.grads else 0
        self.norms: list = []

    @property
    def lr(self) -> float:
        return self.optimizer.lr

    @lr.setter
    def lr(self, value: float) -> None:
        self.optimizer.lr = value

    def __getattr__(self, name):
        if name == "optimizer":             # not yet set (a copy being built): no recursion
            raise AttributeError(name)
        return getattr(self.optimizer, name)

    def step(self) -> None:
        if self.max_norm:
            self.norms = [clip_grad_norm([g[k] for g in self.optimizer.grads], self.max_norm)
                          for k in range(self.members)]
        self.optimizer.step()
