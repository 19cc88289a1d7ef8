"""``cacheback clear`` and ``cacheback evict``: remove entries from a cache file."""

from __future__ import annotations

import argparse
import time

from ..storage import EVICTION_POLICIES
from ._common import add_db_argument, db_path, format_bytes, open_existing, parse_size, positive_int

__all__ = ["add_parsers"]

_PURGE_BATCH = 1024


def _clear(args: argparse.Namespace) -> int:
    storage = open_existing(db_path(args))
    try:
        removed = storage.clear(args.namespace)
        storage.checkpoint()
    finally:
        storage.close()
    where = f" from namespace {args.namespace!r}" if args.namespace else ""
    print(f"removed {removed} entries{where}")
    return 0


def _evict(args: argparse.Namespace) -> int:
    storage = open_existing(db_path(args))
    try:
        before = storage.counts()
        expired = 0
        while batch := storage.purge_expired(time.time(), _PURGE_BATCH):
            expired += len(batch)
        evicted = storage.evict(args.max_entries, args.max_bytes, args.policy)
        storage.checkpoint()
        after = storage.counts()
    finally:
        storage.close()
    print(f"purged {expired} expired entries; evicted {len(evicted)} by {args.policy}")
    print(
        f"entries {before['entries']} -> {after['entries']}; "
        f"stored text {format_bytes(before['payload_bytes'])} -> {format_bytes(after['payload_bytes'])}"
    )
    return 0


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    clear = commands.add_parser("clear", help="remove every entry, or those of one namespace")
    add_db_argument(clear)
    clear.add_argument("--namespace", help="remove only this namespace")
    clear.set_defaults(func=_clear)

    evict = commands.add_parser(
        "evict", help="purge expired entries, then evict down to the given limits"
    )
    add_db_argument(evict)
    evict.add_argument("--max-entries", type=positive_int, help="keep at most this many entries")
    evict.add_argument(
        "--max-bytes", type=parse_size,
        help="keep stored text and vectors under this size (e.g. 500M, 2G)",
    )
    evict.add_argument(
        "--policy", choices=sorted(EVICTION_POLICIES), default="least-recently-used",
        help="which entries go first (default: least-recently-used)",
    )
    evict.set_defaults(func=_evict)
