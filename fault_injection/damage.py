"""Ways to damage a closed SQLite file on disk, the way bit rot, bad copies and foreign tools do."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

__all__ = ["overwrite", "page_kind", "page_size", "pages_of_kind", "scribble", "truncate"]

#: First byte of a b-tree page and what it is; any other page is overflow or free-list.
_BTREE_KINDS = {2: "index-interior", 5: "table-interior", 10: "index-leaf", 13: "table-leaf"}


def overwrite(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(data)


def page_size(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA page_size").fetchone()[0])


def page_kind(path: Path, number: int, size: int) -> str:
    """``table-leaf``, ``index-leaf``... for b-tree pages, ``other`` for overflow and free pages."""
    with open(path, "rb") as fh:
        fh.seek((number - 1) * size + (100 if number == 1 else 0))
        return _BTREE_KINDS.get(fh.read(1)[0], "other")


def pages_of_kind(path: Path, kind: str) -> list[int]:
    size = page_size(path)
    count = path.stat().st_size // size
    return [n for n in range(2, count + 1) if page_kind(path, n, size) == kind]


def scribble(path: Path, page: int, rng: random.Random, *, start: int = 0, ascii_only: bool = True) -> None:
    """Overwrite page ``page`` from byte ``start`` with random bytes (printable ASCII by default,
    so the damage still decodes as text and only a checksum can tell)."""
    size = page_size(path)
    alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789 " if ascii_only else bytes(range(256))
    junk = bytes(rng.choice(alphabet) for _ in range(size - start))
    overwrite(path, (page - 1) * size + start, junk)


def truncate(path: Path, keep_fraction: float) -> None:
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.truncate(int(size * keep_fraction))
