"""``gatedrnn train``: train a language model (the book's Rnnlm / BetterRnnlm presets) with Truncated BPTT."""

from __future__ import annotations

import argparse


def register(sub):
    p = sub.add_parser(
        "train", help="train a word- or character-level language model (PTB, Tiny Shakespeare, any text file)",
        description="Trains an LSTM/GRU/RNN language model with Truncated BPTT, global-norm clipping and "
                    "checkpoints. Presets: small = the book's Rnnlm (embedding 100, 1x LSTM 100, SGD lr 20, clip "
                    "0.25, 4 epochs, batch 20 x time 35); medium = BetterRnnlm (650/650, 2 layers, dropout 0.5, "
                    "tied weights, 40 epochs, lr / 4 when validation perplexity stops improving). Every option "
                    "below overrides the preset. Writes OUT/{last,best}/ checkpoints, OUT/log.jsonl, "
                    "OUT/curves.png (with matplotlib) and OUT/results.json with the test perplexity.")
    p.add_argument("--corpus", default=None, help="ptb, tinyshakespeare, or a path to a text file (split 90/5/5) or "
                                                  "to a folder with train.txt/valid.txt/test.txt [ptb]")
    p.add_argument("--level", choices=["word", "char"], default=None, help="tokens of a text corpus [word; "
                                                                           "tinyshakespeare: char]")
    p.add_argument("--data-dir", default=None, help="folder holding ptb/ and tinyshakespeare/ (else GATEDRNN_DATA, "
                                                    "else the download cache)")
    p.add_argument("--preset", choices=["small", "medium"], default=None, help="starting configuration [small]")
    g = p.add_argument_group("model")
    g.add_argument("--cell", choices=["lstm", "gru", "rnn"], default=None, help="recurrent cell [lstm]")
    g.add_argument("--embed-size", type=int, default=None)
    g.add_argument("--hidden-size", type=int, default=None)
    g.add_argument("--num-layers", type=int, default=None)
    g.add_argument("--dropout", type=float, default=None)
    g.add_argument("--tie-weights", action=argparse.BooleanOptionalAction, default=None,
                   help="share the embedding and output matrices (needs embed size = hidden size)")
    g.add_argument("--forget-bias", type=float, default=None, help="LSTM forget-gate bias [1.0]")
    g.add_argument("--input-gain", type=float, default=None,
                   help="multiply the first layer's input weights by this at the start [small: 2, else 1]")
    g.add_argument("--init", choices=["default", "book"], default=None,
                   help="weights: default = LanguageModel's (uniform), book = the book's Rnnlm (normal, scaled by fan-in)")
    g.add_argument("--output-bias", choices=["zero", "unigram"], default=None,
                   help="output bias at the start: zero, or the log unigram frequencies of the training split")
    g.add_argument("--dtype", choices=["float32", "float64"], default=None)
    o = p.add_argument_group("optimisation")
    o.add_argument("--optimizer", choices=["sgd", "momentum", "adagrad", "rmsprop", "adam"], default=None)
    o.add_argument("--lr", type=float, default=None, help="learning rate [preset: 20]")
    o.add_argument("--clip", type=float, default=None, help="global gradient-norm threshold, 0 = off [preset: 0.25]")
    o.add_argument("--schedule", choices=["none", "plateau", "step", "cosine"], default=None,
                   help="plateau = divide lr by 4 when validation perplexity does not improve (the book's)")
    o.add_argument("--epochs", type=int, default=None)
    o.add_argument("--max-steps", type=int, default=None, help="stop after this many optimizer steps in total")
    o.add_argument("--batch-size", type=int, default=None)
    o.add_argument("--time-size", type=int, default=None, help="Truncated BPTT window length")
    o.add_argument("--eval-batch-size", type=int, default=None)
    o.add_argument("--seed", type=int, default=None)
    r = p.add_argument_group("run")
    r.add_argument("--out", default=None, help="run folder [runs/CORPUS-PRESET-CELL]")
    r.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    r.add_argument("--overwrite", action="store_true", help="start again in an --out that holds a run")
    r.add_argument("--log-every", type=int, default=None, help="steps between log lines [50]")
    r.add_argument("--checkpoint-every", type=int, default=None, help="steps between checkpoints, 0 = epoch ends [500]")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


FIELDS = ("corpus", "level", "cell", "embed_size", "hidden_size", "num_layers", "dropout", "tie_weights",
          "forget_bias", "input_gain", "init", "output_bias", "dtype", "optimizer", "lr", "clip", "schedule",
          "epochs", "max_steps", "batch_size", "time_size", "eval_batch_size", "seed", "log_every",
          "checkpoint_every")


def run(args):
    from pathlib import Path

    from gatedrnn.models.presets import make_config
    from gatedrnn.train.language import resume_config, train_language_model

    overrides = {k: getattr(args, k) for k in FIELDS}
    if args.resume:
        if args.out is None:
            raise ValueError("--resume: expected --out naming the run folder to continue, got none")
        config = resume_config(args.out, {**overrides, "preset": args.preset})
    else:
        config = make_config(args.preset or "small", **overrides)
    corpus_name = Path(config.corpus).stem if config.corpus not in ("ptb", "tinyshakespeare") else config.corpus
    out = args.out or f"runs/{corpus_name}-{config.preset}-{config.cell}"
    summary = train_language_model(config, out, data_dir=args.data_dir, resume=args.resume, overwrite=args.overwrite,
                                   progress=not args.no_progress)
    if summary["stopped"] != "done":
        print(f"stopped at step {summary['step']}; continue with: gatedrnn train --out {out} --resume")
    return 0
