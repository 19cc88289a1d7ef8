"""What every subcommand shares: the ``--db`` option, opening an existing store, sizes."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from ..cache import default_path
from ..storage import SQLiteStorage

__all__ = [
    "CommandError",
    "add_db_argument",
    "db_path",
    "format_bytes",
    "open_existing",
    "parse_size",
    "positive_int",
]

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


class CommandError(Exception):
    """A failure the command reports in one line and exits 1 for (no traceback)."""


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", type=Path, default=None,
        help=f"cache database file (default: {default_path()}, or $CACHEBACK_HOME/cache.db)",
    )


def db_path(args: argparse.Namespace) -> Path:
    """The ``--db`` the user gave, else the path ``SemanticCache()`` would use."""
    return Path(args.db) if args.db is not None else default_path()


def open_existing(path: Path) -> SQLiteStorage:
    """Open a store that must already exist, so a typo in ``--db`` never creates an empty file."""
    if not path.is_file():
        raise CommandError(f"no cache database at {path}")
    return SQLiteStorage(path)


def positive_int(text: str) -> int:
    """An argparse type for counts that must be at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parse_size(text: str) -> int:
    """``"500M"``, ``"2GiB"``, ``"1048576"`` -> bytes (binary multiples)."""
    match = _SIZE.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (examples: 500M, 2G, 1048576)")
    number, unit = float(match.group(1)), (match.group(2) or "").lower()
    return int(number * _UNITS[unit[:1]])


def format_bytes(size: float) -> str:
    """Bytes in the largest binary unit (up to GiB) that keeps the number at or above 1."""
    value = float(size)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
