"""``gatedrnn eval``: the perplexity of a checkpoint on a split of its corpus."""

from __future__ import annotations


def register(sub):
    p = sub.add_parser("eval", help="perplexity of a language-model checkpoint on the train/valid/test split",
                       description="Loads a checkpoint (or a run folder: its best/, else last/), reloads the corpus it "
                                   "was trained on, and prints the perplexity on the chosen split, carrying the "
                                   "hidden state across windows as in training.")
    p.add_argument("checkpoint", help="checkpoint folder or run folder")
    p.add_argument("--split", choices=["train", "valid", "test"], default="test")
    p.add_argument("--data-dir", default=None, help="folder holding the corpora (else GATEDRNN_DATA, else the cache)")
    p.add_argument("--batch-size", type=int, default=None, help="parallel streams (default: the run's eval batch size)")
    p.add_argument("--time-size", type=int, default=None, help="window length (default: the run's)")
    p.set_defaults(func=run)


def run(args):
    from gatedrnn.lm import evaluate_checkpoint

    res = evaluate_checkpoint(args.checkpoint, args.split, data_dir=args.data_dir, batch_size=args.batch_size,
                              time_size=args.time_size)
    print(f"{args.split} perplexity {res['ppl']:.2f} (loss {res['loss']:.4f} nats, {res['tokens']:,} tokens, "
          f"{res['checkpoint']})")
    return 0
