"""The offline demo: check the LSTM's gradients, then train a character-level LSTM on generated text."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy

from gatedrnn.config import Config, option
from gatedrnn.data.batching import TBPTTBatches
from gatedrnn.data.synthetic import toy_sentences
from gatedrnn.errors import check_count, check_int
from gatedrnn.gradcheck import gradcheck
from gatedrnn.layers import LSTM, SoftmaxCrossEntropy
from gatedrnn.models import LanguageModel
from gatedrnn.models.generate import sample
from gatedrnn.optim import Adam
from gatedrnn.train.callbacks import Callback
from gatedrnn.train.trainer import Trainer


@dataclass
class QuickstartConfig(Config):
    """The demo's two knobs."""

    max_steps: int = option(300, "training steps", check=check_int)
    seed: int = option(0, "seed of the text, the weights and the sample", check=check_count)


class LossLine(Callback):
    """Keeps every step's loss and prints it (with the perplexity) at step 1 and every 50 steps."""

    def __init__(self, echo):
        self.echo, self.losses = echo, []

    def on_step_end(self, trainer, logs):
        loss, step = logs["loss"], logs["step"]
        self.losses.append(loss)
        if step % 50 == 0 or step == 1:
            self.echo(f"   step {step:4d}  loss {loss:.3f}  perplexity {math.exp(loss):6.2f}")


def run(cfg: QuickstartConfig | None = None, echo=print) -> dict:
    """Gradient check, 300 steps of a character-level LSTM (Truncated BPTT, batch 32 x 48), a sample."""
    cfg = (cfg or QuickstartConfig()).validate()
    t0 = time.perf_counter()
    rng = numpy.random.default_rng(cfg.seed)
    lstm = LSTM(3, 4, 2, dtype=numpy.float64, seed=cfg.seed)
    err = max(gradcheck(lstm, rng.standard_normal((2, 5, 3))).values())
    echo(f"1. gradient check of a 2-layer LSTM (float64): worst relative error {err:.1e} "
         f"({'PASS' if err < 1e-6 else 'FAIL'})")

    text = toy_sentences(40_000, seed=cfg.seed)
    chars = sorted(set(text))
    ids = numpy.array([chars.index(c) for c in text], dtype=numpy.int64)
    echo(f"2. training a character-level LSTM (128 units) on {len(text):,} characters of generated sentences "
         f"({len(chars)} symbols)")
    model = LanguageModel(len(chars), 32, 128, seed=cfg.seed)
    data = TBPTTBatches(ids, 32, 48, drop_last=True)
    losses = LossLine(echo)
    Trainer(model, SoftmaxCrossEntropy(), Adam(model.params, model.grads, lr=0.005), train_data=data, clip=5.0,
            epochs=math.ceil(cfg.max_steps / len(data)), max_steps=cfg.max_steps, callbacks=[losses]).fit()
    first, final = losses.losses[0], float(numpy.mean(losses.losses[-20:]))
    out = sample(model, [chars.index(c) for c in "the "], 160, rng, temperature=0.6)
    text_out = "the " + "".join(chars[i] for i in out)
    echo("3. sample (temperature 0.6):")
    for line in text_out.splitlines():
        echo("   " + line)
    elapsed = time.perf_counter() - t0
    echo(f"done in {elapsed:.1f}s: perplexity per character {math.exp(first):.1f} -> {math.exp(final):.2f}")
    return {"gradcheck": err, "first_loss": first, "final_loss": final, "sample": text_out, "seconds": elapsed}
