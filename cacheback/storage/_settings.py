"""SQLite settings and eviction policies as data, so they are read and tested in one place."""

from __future__ import annotations

__all__ = ["EVICTION_POLICIES", "PRAGMAS", "RETRY"]

#: Applied to every new connection, in order. WAL lets readers run beside one writer;
#: synchronous=NORMAL is durable across application crashes in WAL mode (not power loss).
PRAGMAS: tuple[tuple[str, object], ...] = (
    ("journal_mode", "wal"),
    ("synchronous", "NORMAL"),
    ("busy_timeout", 100),
    ("foreign_keys", "ON"),
    ("temp_store", "MEMORY"),
    ("cache_size", -8192),
    ("wal_autocheckpoint", 1000),
)

#: Retry on "database is locked" only: total time budget and the pause between tries.
RETRY = {"budget_seconds": 2.0, "pause_seconds": 0.005, "max_pause_seconds": 0.1}

#: Eviction order, first evicted first: the ORDER BY clause each policy sorts entries by.
EVICTION_POLICIES: dict[str, str] = {
    "least-recently-used": "last_hit ASC, id ASC",
    "least-frequently-used": "hit_count ASC, last_hit ASC, id ASC",
    "oldest-first": "created ASC, id ASC",
}
