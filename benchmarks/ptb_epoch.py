"""Time one Penn Treebank epoch of a preset (default ``small``) through the project's own Trainer.

    GATEDRNN_DATA=../shared/data python benchmarks/ptb_epoch.py                  # small preset, 1 epoch
    GATEDRNN_DATA=../shared/data python benchmarks/ptb_epoch.py --preset small --cell gru

This is what ``gatedrnn train --preset small`` does per epoch (TBPTT windows of 20 x 35, forward, loss,
backward, clipping, SGD, then the validation pass), without checkpoints or progress output. It prints the
training pass and the validation pass separately, the steps per second, and the loss and perplexity reached,
so that the time is seen to buy a real epoch of learning.
"""

from __future__ import annotations

import argparse
import math
import os
import time


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="small", choices=["small", "medium"])
    ap.add_argument("--cell", default="lstm", choices=["lstm", "gru", "rnn"])
    ap.add_argument("--data-dir", default=os.environ.get("GATEDRNN_DATA"),
                    help="folder holding ptb/ptb.{train,valid}.txt (default: $GATEDRNN_DATA, else the corpus search path)")
    ap.add_argument("--max-steps", type=int, help="stop the training pass early (for a quick look)")
    args = ap.parse_args(argv)

    from gatedrnn.data.batching import TBPTTBatches
    from gatedrnn.data.corpus import load_corpus
    from gatedrnn.layers import SoftmaxCrossEntropy
    from gatedrnn.lm import build_language_model, preset_config
    from gatedrnn.optim import make_optimizer
    from gatedrnn.train.trainer import Trainer, evaluate

    try:
        from threadpoolctl import threadpool_info
        blas = next((d for d in threadpool_info() if d.get("user_api") == "blas"), {})
        blas_s = f"{blas.get('internal_api')} {blas.get('version')} kernel {blas.get('architecture')}, {blas.get('num_threads')} threads"
    except ImportError:
        blas_s = "(threadpoolctl not installed)"
    la = os.getloadavg()
    print(f"# {os.cpu_count()} cores, load average {la[0]:.2f} at start; BLAS {blas_s}")

    config = preset_config(args.preset, cell=args.cell, epochs=1, max_steps=args.max_steps)
    corpus = load_corpus("ptb", None, args.data_dir, allow_download=False, progress=False)
    model = build_language_model(config, len(corpus.vocab), corpus.train)
    optimizer = make_optimizer(config.optimizer, model.params, model.grads, lr=config.lr)
    train = TBPTTBatches(corpus.train, config.batch_size, config.time_size, drop_last=True)
    valid = TBPTTBatches(corpus.valid, config.eval_batch_size, config.time_size)
    loss = SoftmaxCrossEntropy()
    trainer = Trainer(model, loss, optimizer, train_data=train, valid_data=None, clip=config.clip or None,
                      carry_state=True, epochs=1, max_steps=config.max_steps, plot=False)
    print(f"# preset {args.preset} ({config.cell}, embed {config.embed_size}, hidden {config.hidden_size} x "
          f"{config.num_layers}, vocab {len(corpus.vocab)}), {len(train)} training windows of "
          f"{config.batch_size} x {config.time_size}, {len(valid)} validation windows of {config.eval_batch_size} x {config.time_size}")
    t0, c0 = time.perf_counter(), time.process_time()
    summary = trainer.fit()
    t_train, c_train = time.perf_counter() - t0, time.process_time() - c0
    t1, c1 = time.perf_counter(), time.process_time()
    val = evaluate(model, loss, valid)
    t_valid, c_valid = time.perf_counter() - t1, time.process_time() - c1
    steps = summary["step"]
    print(f"training pass   {t_train:6.1f} s  ({steps} steps, {1e3 * t_train / max(steps, 1):.1f} ms/step; "
          f"process CPU {c_train:.1f} s)")
    print(f"validation pass {t_valid:6.1f} s  (validation perplexity after the epoch {math.exp(val):.1f}; "
          f"process CPU {c_valid:.1f} s)")
    print(f"epoch total     {t_train + t_valid:6.1f} s = {(t_train + t_valid) / 60:.2f} min; process CPU "
          f"{c_train + c_valid:.1f} s (on a loaded machine the figure to compare)")


if __name__ == "__main__":
    main()
