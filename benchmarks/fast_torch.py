"""A PyTorch module of FastGRNN's and FastRNN's equations (Kusupati et al. 2018), with a model's weights: the
reference the cells' parity tests write, as a step at batch 1 for the timing columns of ``edge.py`` and
``sensor_suite.py`` (PyTorch has no such cell). ``time_torch(model, xs, repeats, timer, median_us)`` checks it equal to
``Stream`` to 1e-4 on the first 50 inputs, then times it (µs per step, ``median_us``: ``edge._median_us``)."""

from __future__ import annotations

import numpy as np

from gatedrnn.models.stream import Stream

FAST_CELLS = ("fastgrnn", "fastrnn")


def torch_module(model):
    """A classifier's or regressor's FastGRNN/FastRNN stack and head as a PyTorch module of the paper's equations
    (one step: ``forward(x (1, D), hs) -> (outputs, hs)``), or None without PyTorch."""
    try:
        import torch
    except ImportError:
        return None

    class Step(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = []
            for layer in model.rnn.layers:
                p = {n: torch.tensor(np.asarray(v, np.float32)) for n, v in zip(layer.names, layer.params)}
                W = torch.tensor(np.asarray(layer.dense("ih"), np.float32))
                U = torch.tensor(np.asarray(layer.dense("hh"), np.float32))
                self.layers.append((layer.name, W, U, p))
            self.head = torch.nn.Linear(model.head.in_features, model.head.out_features)
            with torch.no_grad():
                self.head.weight.copy_(torch.tensor(np.asarray(model.head.W, np.float32)))
                self.head.bias.copy_(torch.tensor(np.asarray(model.head.b, np.float32)))

        def forward(self, x, hs):
            out = []
            for (name, W, U, p), h in zip(self.layers, hs):
                pre = x @ W + h @ U
                if name == "fastgrnn":
                    z = torch.sigmoid(pre + p["bias_z"])
                    zeta, nu = torch.sigmoid(p["zeta_logit"]), torch.sigmoid(p["nu_logit"])
                    h = (zeta * (1 - z) + nu) * torch.tanh(pre + p["bias_h"]) + z * h
                else:
                    alpha, beta = torch.sigmoid(p["alpha_logit"]), torch.sigmoid(p["beta_logit"])
                    h = alpha * torch.tanh(pre + p["bias"]) + beta * h
                out.append(h)
                x = h
            return self.head(x), out

    return Step()


def time_torch(model, xs, repeats, timer, median_us, n=2000):
    step = torch_module(model)
    if step is None:
        return None
    import torch

    torch.set_num_threads(1)
    H = model.rnn.hidden_size
    steps = [torch.tensor(np.asarray(x, np.float32)).reshape(1, -1) for x in xs[:n]]
    with torch.no_grad():                   # the reference first: equal to Stream
        hs = [torch.zeros(1, H) for _ in model.rnn.layers]
        got = []
        for x in steps[:50]:
            y, hs = step(x, hs)
            got.append(y.numpy()[0])
    want = np.asarray(Stream(model).run(np.asarray(xs[:50], np.float32)))
    assert np.abs(np.asarray(got) - want).max() < 1e-4, "the PyTorch module differs from Stream"

    def go():
        with torch.no_grad():
            st = [torch.zeros(1, H) for _ in model.rnn.layers]
            for x in steps:
                _, st = step(x, st)
    return median_us(go, len(steps), repeats, timer)
