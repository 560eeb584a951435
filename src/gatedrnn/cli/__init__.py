"""The ``gatedrnn`` command. Every sub-command lives in a module of this package that defines
``register(subparsers)`` and only parses arguments and calls into the floors below (lm, forecast, lab, deploy).

A user's mistake (a ``gatedrnn.errors.UserError``: bad arguments, bad data, a missing optional extra; or a file
that cannot be read or written) prints as one line and exits with status 2. Anything else is a bug: it prints its
traceback and one line asking to report it, and exits with status 1.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import traceback
from typing import Any

from gatedrnn.errors import UserError

BUG_NOTE = "this is a bug in gatedrnn, not in your input; please report it with the traceback above"


class _Version(argparse.Action):
    """``--version``: the version on stdout (one line, as scripts read it) and which LSTM path is active on stderr
    (the compiled one is looked for only here)."""

    def __call__(self, parser, namespace, values, option_string=None):
        from gatedrnn import __version__
        from gatedrnn.layers import lstm_fast

        print(f"gatedrnn {__version__}")
        print(f"LSTM: {lstm_fast.describe()}", file=sys.stderr)
        parser.exit()


# the flags every sub-command takes (added here unless its module declared the flag itself): (flags, keywords)
COMMON_FLAGS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("--no-progress",), {"action": "store_true",
                          "help": "no progress bar or progress lines, only the results (a command that shows none "
                                  "ignores it)"})]


def add_common_flags(parser: argparse.ArgumentParser) -> None:
    """``COMMON_FLAGS`` on a sub-command's parser, each unless the sub-command declared it already."""
    for flags, kwargs in COMMON_FLAGS:
        if not any(f in parser._option_string_actions for f in flags):
            parser.add_argument(*flags, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gatedrnn",
        description="LSTM, GRU and plain RNN from scratch on NumPy: train, evaluate, sample, inspect.")
    parser.add_argument("--version", action=_Version, nargs=0, help="show the version and the LSTM's compute path")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):  # __main__ runs main() when imported: never a sub-command
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    for command in sub.choices.values():
        add_common_flags(command)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:                   # the reader went away (`gatedrnn stream ... | head -1`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # so that the exit's flush says nothing
        return 141                            # 128 + SIGPIPE, as a program killed by it
    except (UserError, OSError) as exc:       # OSError: FileNotFoundError, PermissionError, a full disk ...
        print(f"gatedrnn {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"gatedrnn {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        print(f"gatedrnn {args.command}: internal error: {BUG_NOTE}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
