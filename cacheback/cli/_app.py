"""The argument parser and the dispatch from subcommand to handler."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from .. import __version__
from .._errors import CachebackError
from . import _demo, _doctor, _maintenance, _stats, _transfer
from ._common import CommandError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cacheback",
        description="A local, offline semantic cache for LLM APIs. Start with: cacheback demo",
    )
    parser.add_argument("--version", action="version", version=f"cacheback {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _demo.add_parser(commands)
    _stats.add_parser(commands)
    _maintenance.add_parsers(commands)
    _transfer.add_parsers(commands)
    _doctor.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; returns the exit status (0 ok, 1 failed or broken, 2 bad usage)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    try:
        return int(args.func(args))
    except (CommandError, CachebackError) as exc:
        print(f"cacheback {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"cacheback {args.command}: interrupted", file=sys.stderr)
        return 130
