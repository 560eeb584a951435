"""AdamW (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization"), in ``torch.optim.AdamW``'s form: the
weight decay shrinks the parameter directly, ``p <- p (1 - lr wd)``, apart from the gradient, and then the Adam step
(``optim.adam``) runs on the gradient alone; Adam with an L2 term in the loss would scale the decay of each
weight by its own adaptive rate instead."""

from __future__ import annotations

from gatedrnn.errors import UserError, check_nonnegative
from gatedrnn.optim.adam import Adam


class AdamW(Adam):
    """``AdamW(params, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, decay=None)``.

    ``decay`` (one bool per parameter, default all True as in PyTorch) says which parameters are decayed: the
    language models leave norms' gains, biases and the embedding undecayed (``decay_mask``)."""

    def __init__(self, params, grads, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01, decay=None):
        super().__init__(params, grads, lr, betas, eps)
        self.weight_decay = float(check_nonnegative("weight_decay", weight_decay))
        self.decay = [True] * len(self.params) if decay is None else [bool(d) for d in decay]
        if len(self.decay) != len(self.params):
            raise UserError(f"AdamW decay: expected one flag per parameter ({len(self.params)}), got {len(self.decay)}")

    def hyper(self):
        return {**super().hyper(), "weight_decay": self.weight_decay}

    def update(self, k, p, g):
        if self.decay[k] and self.weight_decay:
            p *= 1.0 - self.lr * self.weight_decay
        super().update(k, p, g)


def decay_mask(names, params) -> list[bool]:
    """True for the matrices (two or more axes: weights of linear maps and convolutions), False for vectors (biases,
    norms' gains) and for embeddings (names containing ``embed``): the usual split for transformer-style blocks."""
    return [getattr(p, "ndim", 0) >= 2 and "embed" not in n for n, p in zip(names, params)]
