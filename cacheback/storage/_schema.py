"""The schema as an ordered list of migrations; ``PRAGMA user_version`` records how far a file is."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from .._errors import SchemaVersionError
from .._normalize import normalise_query, query_hash
from ._checksum import entry_checksum, legacy_checksum

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SCHEMA_VERSION", "check_compatible", "migrate"]

#: Marks a file as a cacheback database ("CbK1").
APPLICATION_ID = 0x43624B31

Step = str | Callable[[sqlite3.Connection], None]


def _rekey(conn: sqlite3.Connection) -> None:
    """Recompute every exact-tier key with the current :func:`normalise_query` (NFC and lower
    case since schema 4; NFKC and case folding before, which merged "3²" with "32"; since
    schema 5 words whose case is part of them, "getUser", "aGVsbG8", "Hunter2", keep it). An old
    entry is never found under the new key of a different question. Two rows that now share a
    key are the same question: the newer one is kept. Feedback rows are re-keyed too, so a pair
    reported wrong stays blocked. Checksums that verify are rewritten to cover the namespace and
    scope too; one that does not verify is kept, so the damaged row stays refused."""
    rows = conn.execute("SELECT id, namespace, scope_key, query, response, payload, metadata, "
                        "checksum FROM entries ORDER BY id DESC")
    seen: set[tuple[str, str, str]] = set()
    updates, duplicates = [], []
    for entry_id, namespace, scope, query, response, payload, metadata, old in rows.fetchall():
        norm = normalise_query(query)
        digest = query_hash(norm)
        if (namespace, scope, digest) in seen:
            duplicates.append((entry_id,))
            continue
        seen.add((namespace, scope, digest))
        checksum = old
        if old is None or legacy_checksum(query, response, payload, metadata) == old:
            checksum = entry_checksum(namespace, scope, query, response, payload, metadata)
        updates.append((digest, norm, checksum, entry_id))
    conn.executemany("DELETE FROM entries WHERE id = ?", duplicates)
    conn.execute("UPDATE entries SET query_hash = 'rekey:' || id")
    conn.executemany("UPDATE entries SET query_hash = ?, norm_query = ?, checksum = ? WHERE id = ?",
                     updates)
    feedback = conn.execute("SELECT id, query FROM feedback").fetchall()
    conn.executemany("UPDATE feedback SET query_hash = ? WHERE id = ?",
                     [(query_hash(normalise_query(q)), i) for i, q in feedback])


MIGRATIONS: tuple[tuple[Step, ...], ...] = (
    # 1: entries, running totals kept by triggers, feedback
    (
        """
        CREATE TABLE entries (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            namespace TEXT NOT NULL,
            scope_key TEXT NOT NULL,
            query_hash TEXT NOT NULL,
            norm_query TEXT NOT NULL,
            query TEXT NOT NULL,
            response TEXT NOT NULL,
            payload TEXT,
            embedding BLOB,
            embed_model TEXT,
            created REAL NOT NULL,
            last_hit REAL NOT NULL,
            hit_count INTEGER NOT NULL DEFAULT 0,
            expires REAL,
            metadata TEXT,
            size INTEGER NOT NULL
        )
        """,
        """
        CREATE UNIQUE INDEX entries_key ON entries (namespace, scope_key, query_hash)
        """,
        """
        CREATE INDEX entries_last_hit ON entries (last_hit)
        """,
        """
        CREATE INDEX entries_expires ON entries (expires) WHERE expires IS NOT NULL
        """,
        """
        CREATE TABLE totals (id INTEGER PRIMARY KEY CHECK (id = 0), entries INTEGER NOT NULL,
                             bytes INTEGER NOT NULL)
        """,
        """
        INSERT INTO totals VALUES (0, 0, 0)
        """,
        """
        CREATE TRIGGER entries_ins AFTER INSERT ON entries BEGIN
            UPDATE totals SET entries = entries + 1, bytes = bytes + NEW.size;
        END
        """,
        """
        CREATE TRIGGER entries_del AFTER DELETE ON entries BEGIN
            UPDATE totals SET entries = entries - 1, bytes = bytes - OLD.size;
        END
        """,
        """
        CREATE TRIGGER entries_upd AFTER UPDATE OF size ON entries BEGIN
            UPDATE totals SET bytes = bytes - OLD.size + NEW.size;
        END
        """,
        """
        CREATE TABLE feedback (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            entry_id INTEGER NOT NULL,
            namespace TEXT NOT NULL,
            scope_key TEXT NOT NULL,
            query TEXT NOT NULL,
            query_hash TEXT NOT NULL,
            matched_query TEXT NOT NULL,
            similarity REAL NOT NULL,
            probability REAL,
            tier TEXT NOT NULL,
            correct INTEGER NOT NULL,
            created REAL NOT NULL,
            note TEXT
        )
        """,
        """
        CREATE INDEX feedback_wrong ON feedback (query_hash, entry_id) WHERE correct = 0
        """,
    ),
    # 2: a CRC-32 of each entry's served text, checked on every read (NULL on older rows)
    (
        """
        ALTER TABLE entries ADD COLUMN checksum INTEGER
        """,
    ),
    # 3: facts about the file itself; db_uuid tells a saved ANN index which database it indexes
    (
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)
        """,
        """
        INSERT INTO meta VALUES ('db_uuid', lower(hex(randomblob(16))))
        """,
    ),
    # 4: exact-tier keys from the meaning-preserving normalisation (NFC + lower case)
    (_rekey,),
    # 5: exact-tier keys keep the case of words whose case is meaningful ("getUser")
    (_rekey,),
)

SCHEMA_VERSION = len(MIGRATIONS)


def check_compatible(version: int, app_id: int, has_tables: bool) -> None:
    """Raise :class:`SchemaVersionError` for a file this cacheback must not write to."""
    if has_tables and app_id != APPLICATION_ID:
        raise SchemaVersionError("the file is an SQLite database of some other program")
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"database schema version {version} is newer than this cacheback's {SCHEMA_VERSION}"
        )


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema to :data:`SCHEMA_VERSION`; the caller holds a write transaction."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    has_tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0
    check_compatible(version, app_id, has_tables)
    if version == 0:
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    for number in range(version, SCHEMA_VERSION):
        for step in MIGRATIONS[number]:
            if isinstance(step, str):
                conn.execute(step)
            else:
                step(conn)
        conn.execute(f"PRAGMA user_version = {number + 1}")
