"""What every subcommand shares: the ``--db`` option (a file or a ``postgresql://`` URL, by the
same rule as ``SemanticCache``), opening an existing store, sizes."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

from ..cache import default_path
from ..storage import DATABASE_URL_ENV, SQLiteStorage, Storage, is_url, open_storage, resolve_location

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
        "--db", default=None,
        help=f"cache database file or postgresql:// URL (default: ${DATABASE_URL_ENV}, else "
             f"{default_path()}, or $CACHEBACK_HOME/cache.db)",
    )


def db_path(args: argparse.Namespace) -> Path | str:
    """The ``--db`` the user gave, else what ``SemanticCache()`` would open: a database URL as
    a str, a file as a Path. An unsupported URL is a ConfigurationError (one-line error)."""
    given = args.db if args.db is not None else os.environ.get(DATABASE_URL_ENV) or default_path()
    resolved = resolve_location(given)
    return resolved if is_url(resolved) else Path(resolved)


def open_existing(location: Path | str) -> Storage:
    """Open a store that must already exist, so a typo in ``--db`` never creates an empty file
    (a database server is opened as it is: its schema is created on first use)."""
    if isinstance(location, str):
        return open_storage(location)
    if not location.is_file():
        raise CommandError(f"no cache database at {location}")
    return SQLiteStorage(location)


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
