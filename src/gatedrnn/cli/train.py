"""``gatedrnn train``: train a language model (the book's Rnnlm / BetterRnnlm presets) with Truncated BPTT."""

from __future__ import annotations


def register(sub):
    from gatedrnn.config import add_config_file_flag, add_config_flags
    from gatedrnn.lm import PRESETS, LMConfig
    from gatedrnn.lm.presets import shown_defaults

    p = sub.add_parser(
        "train", help="train a word- or character-level language model (PTB, Tiny Shakespeare, any text file)",
        description="Trains an LSTM/GRU/RNN language model with Truncated BPTT, global-norm clipping and "
                    "checkpoints. Presets: small = the book's Rnnlm (embedding 100, 1x LSTM 100, SGD lr 20, clip "
                    "0.25, 4 epochs, batch 20 x time 35); medium = BetterRnnlm (650/650, 2 layers, dropout 0.5, "
                    "tied weights, 40 epochs, lr / 4 when validation perplexity stops improving). --arch block trains "
                    "minGRU/minLSTM in pre-norm residual blocks (causal conv, the cell, feed-forward; d_model = "
                    "--hidden-size) instead of a bare stack of recurrent layers. Values come from "
                    "the preset, then --config FILE, then the flags. Writes OUT/{last,best}/ checkpoints, "
                    "OUT/config.json (re-runs the run with --config), OUT/log.jsonl, OUT/epochs.csv, OUT/curves.png "
                    "(with matplotlib) and OUT/results.json with the test perplexity.")
    add_config_file_flag(p)
    p.add_argument("--preset", choices=sorted(PRESETS), default=None, help="starting configuration (default: the "
                                                                           "config file's, else small)")
    p.add_argument("--data-dir", default=None, help="folder holding ptb/ and tinyshakespeare/ (else GATEDRNN_DATA, "
                                                    "else the download cache)")
    add_config_flags(p, LMConfig, shown=shown_defaults())
    r = p.add_argument_group("run folder")
    r.add_argument("--out", default=None, help="run folder (default: runs/CORPUS-PRESET-CELL)")
    r.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    r.add_argument("--overwrite", action="store_true", help="start again in an --out that holds a run (removes "
                                                            "everything the earlier run wrote)")
    r.add_argument("--no-progress", action="store_true", help="no progress bar or progress lines")
    p.set_defaults(func=run)


def run(args):
    from gatedrnn.config import given_flags
    from gatedrnn.lm import LMConfig
    from gatedrnn.lm.run import train_command

    train_command(flags=given_flags(LMConfig, args), config_file=args.config, preset=args.preset, out=args.out,
                  resume=args.resume, overwrite=args.overwrite, data_dir=args.data_dir, progress=not args.no_progress)
    return 0
