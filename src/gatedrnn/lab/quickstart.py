"""The offline demo: check the LSTM's gradients, then train a character-level LSTM on generated text."""

from __future__ import annotations

import math
import time

import numpy

from gatedrnn.data.synthetic import toy_sentences
from gatedrnn.gradcheck import gradcheck
from gatedrnn.layers import LSTM, SoftmaxCrossEntropy
from gatedrnn.models import LanguageModel
from gatedrnn.models.generate import sample
from gatedrnn.optim import Adam, clip_grad_norm


def run(steps: int = 300, seed: int = 0, echo=print) -> dict:
    t0 = time.perf_counter()
    rng = numpy.random.default_rng(seed)
    lstm = LSTM(3, 4, 2, dtype=numpy.float64, seed=seed)
    err = max(gradcheck(lstm, rng.standard_normal((2, 5, 3))).values())
    echo(f"1. gradient check of a 2-layer LSTM (float64): worst relative error {err:.1e} "
         f"({'PASS' if err < 1e-6 else 'FAIL'})")

    text = toy_sentences(40_000, seed=seed)
    chars = sorted(set(text))
    ids = numpy.array([chars.index(c) for c in text], dtype=numpy.int64)
    B, T = 32, 48
    echo(f"2. training a character-level LSTM (128 units) on {len(text):,} characters of generated sentences "
         f"({len(chars)} symbols)")
    model = LanguageModel(len(chars), 32, 128, seed=seed)
    opt = Adam(model.params, model.grads, lr=0.005)
    ce = SoftmaxCrossEntropy()
    streams = ids[: (len(ids) - 1) // B * B + 1]
    L = (len(streams) - 1) // B
    xs, ts = streams[:-1].reshape(B, L), streams[1:].reshape(B, L)
    state, pos, losses = None, 0, []
    first = None
    for step in range(1, steps + 1):
        if pos + T > L:
            pos, state = 0, None
        x, t = xs[:, pos:pos + T], ts[:, pos:pos + T]
        pos += T
        model.zero_grad()
        logits, state = model.forward(x, state)
        loss = ce.forward(logits, t)
        model.backward(ce.backward())
        clip_grad_norm(model.grads, 5.0)
        opt.step()
        losses.append(loss)
        first = loss if first is None else first
        if step % 50 == 0 or step == 1:
            echo(f"   step {step:4d}  loss {loss:.3f}  perplexity {math.exp(loss):6.2f}")
    final = float(numpy.mean(losses[-20:]))
    out = sample(model, [chars.index(c) for c in "the "], 160, rng, temperature=0.6)
    text_out = "the " + "".join(chars[i] for i in out)
    echo("3. sample (temperature 0.6):")
    for line in text_out.splitlines():
        echo("   " + line)
    elapsed = time.perf_counter() - t0
    echo(f"done in {elapsed:.1f}s: perplexity per character {math.exp(first):.1f} -> {math.exp(final):.2f}")
    return {"gradcheck": err, "first_loss": first, "final_loss": final, "sample": text_out, "seconds": elapsed}
