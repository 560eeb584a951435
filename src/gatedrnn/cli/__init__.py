"""The ``gatedrnn`` command. Every sub-command lives in a module of this package that defines
``register(subparsers)``; each is a thin call into the rooms below (train, lab, deploy, ...).

Errors a user can cause (bad arguments, missing files, bad data) print as one line, without a traceback,
and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys


class CommandError(Exception):
    """An error to show the user as one line (exit status 2)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gatedrnn",
        description="LSTM, GRU and plain RNN from scratch on NumPy: train, evaluate, sample, inspect.")
    from gatedrnn import __version__

    parser.add_argument("--version", action="version", version=f"gatedrnn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):  # __main__ runs main() when imported: never a sub-command
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (CommandError, ValueError, FileNotFoundError, OSError) as exc:
        print(f"gatedrnn {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"gatedrnn {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
