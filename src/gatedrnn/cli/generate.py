"""``gatedrnn generate``: sample text from a language-model checkpoint."""

from __future__ import annotations


def register(sub):
    p = sub.add_parser("generate", help="sample text from a language-model checkpoint",
                       description="Feeds --start to the model, then draws --length tokens one at a time from "
                                   "softmax(logits / temperature), restricted to the top-k tokens when --top-k is "
                                   "given. The same --seed gives the same text. The text is printed as it is drawn.")
    p.add_argument("checkpoint", help="checkpoint folder or run folder")
    p.add_argument("--start", default="the", help="text to start from (default 'the')")
    p.add_argument("--length", type=int, default=50, help="tokens to generate (default 50)")
    p.add_argument("--temperature", type=float, default=1.0, help="< 1 sharper, > 1 flatter, 0 = greedy (default 1)")
    p.add_argument("--top-k", type=int, default=None, help="sample among the k most likely tokens only")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--allow-unk", action="store_true", help="read --start words missing from the vocabulary as the "
                                                             "unknown-word token (said on stderr; without it they are "
                                                             "an error) and let the model emit that token")
    p.set_defaults(func=run)


def run(args):
    from gatedrnn.lm.infer import print_generated

    print_generated(args.checkpoint, args.start, args.length, temperature=args.temperature, top_k=args.top_k,
                    seed=args.seed, allow_unk=args.allow_unk)
    return 0
