"""SQLite storage: WAL, one connection per thread (reopened after fork), one re-entrant
``BEGIN IMMEDIATE`` helper, and a bounded retry that applies to "database is locked" only."""

from __future__ import annotations

import functools
import inspect
import json
import logging
import os
import sqlite3
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from .._errors import CorruptDatabaseError, DatabaseLockedError, StorageError
from .._files import ensure_private_file, make_private_dirs, resolve_file_mode
from ._base import Entry, Feedback, NewEntry, Storage, VectorBatch
from ._checksum import entry_checksum
from ._schema import SCHEMA_VERSION, check_compatible, migrate
from ._settings import EVICTION_POLICIES, PRAGMAS, RETRY

__all__ = ["SQLITE_HEADER", "SQLiteStorage", "is_locked_error", "json_text"]

SQLITE_HEADER = b"SQLite format 3\x00"
#: The file header fields read before connecting: page size (offset 16), the fixed payload
#: fractions 64/32/32 (21), user_version (60), application_id (68), then page 1's b-tree kind
#: (100) and cell count (103), i.e. whether any table exists.
_HEADER_PROBE = struct.Struct(">16xH3x3B36xI4xI28xB2xH")
_FRACTIONS = (64, 32, 32)
_INTERIOR_PAGE = 5
_ENTRY_COLUMNS = (
    "id, namespace, scope_key, query_hash, query, response, payload, created, last_hit, "
    "hit_count, expires, metadata, checksum"
)
#: Not expired, and (for entries with a TTL) not created in the future: such an entry was written
#: by a process whose clock was ahead, so its age is unknown. Takes ``now`` twice.
_LIVE = "(expires IS NULL OR (expires > ? AND created <= ?))"
logger = logging.getLogger("cacheback")
_CORRUPT_MARKERS = ("malformed", "not a database", "file is encrypted", "disk image")
_T = TypeVar("_T")


def is_locked_error(exc: BaseException) -> bool:
    """True for SQLite's "database is locked" / "busy", the one failure worth retrying."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    message = str(exc).lower()
    return "locked" in message or "busy" in message


def json_text(value: Any) -> str:
    """``value`` as JSON that SQLite can store as UTF-8: readable non-ASCII text, except that
    lone surrogates force ``\\uXXXX`` escapes (lossless) instead of an encoding error."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, allow_nan=False)
    return text


def _convert(exc: BaseException) -> StorageError:
    message = str(exc)
    if isinstance(exc, sqlite3.DatabaseError) and any(
        marker in message.lower() for marker in _CORRUPT_MARKERS
    ):
        return CorruptDatabaseError(message)
    if is_locked_error(exc):
        return DatabaseLockedError(message)
    return StorageError(f"{type(exc).__name__}: {message}")


_FOREIGN_ERRORS = (sqlite3.Error, OSError, MemoryError, ValueError)


def _storage_errors(method: Callable[..., _T]) -> Callable[..., _T]:
    """Convert every foreign error at the boundary so callers handle one family; for a generator
    method, errors raised while it is iterated too."""
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def generator(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from method(*args, **kwargs)
            except StorageError:
                raise
            except _FOREIGN_ERRORS as exc:
                raise _convert(exc) from exc

        return generator  # type: ignore[return-value]

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> _T:
        try:
            return method(*args, **kwargs)
        except StorageError:
            raise
        except _FOREIGN_ERRORS as exc:
            raise _convert(exc) from exc

    return wrapper


def _damaged(row: dict[str, Any]) -> bool:
    """Whether an exported row fails its checksum or has values of the wrong type."""
    texts = (row["namespace"], row["scope_key"], row["query"], row["response"])
    if not all(isinstance(t, str) for t in texts):
        return True
    if any(v is not None and not isinstance(v, str) for v in (row["payload"], row["metadata"])):
        return True
    numbers = (row["created"], row["last_hit"], row["hit_count"], row["expires"])
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in numbers[:3]) or (
            numbers[3] is not None and not isinstance(numbers[3], (int, float))):
        return True  # SQLite keeps text in a REAL column: 'never' is no expiry time
    checksum = row.pop("checksum", None)
    return checksum is not None and entry_checksum(
        row["namespace"], row["scope_key"], row["query"], row["response"], row["payload"],
        row["metadata"]) != checksum


def _common_size(rows: Sequence[Sequence[Any]]) -> int:
    """The most common embedding size (bytes) among ``rows`` that can hold float32 vectors."""
    sizes: dict[int, int] = {}
    for row in rows:
        length = len(row[3])
        if length and length % 4 == 0:
            sizes[length] = sizes.get(length, 0) + 1
    return max(sizes, key=lambda length: sizes[length]) if sizes else 0


def _row_to_entry(row: Sequence[Any]) -> Entry:
    if row[12] is not None and entry_checksum(row[1], row[2], row[4], row[5], row[6],
                                              row[11]) != row[12]:
        raise CorruptDatabaseError(f"entry {row[0]} does not match its checksum")
    return Entry(
        id=row[0],
        namespace=row[1],
        scope_key=row[2],
        query_hash=row[3],
        query=row[4],
        response=row[5],
        payload=row[6],
        created=row[7],
        last_hit=row[8],
        hit_count=row[9],
        expires=row[10],
        metadata=json.loads(row[11]) if row[11] else {},
    )


class SQLiteStorage(Storage):
    """The source of truth: entries, their vectors and feedback in one SQLite file.

    ``":memory:"`` keeps a single connection shared by every thread under a lock, since each
    in-memory connection would otherwise be a database of its own. A new file is created with
    ``file_mode`` (default 0600, see ``cacheback._files``) in directories created 0700.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        pragmas: Sequence[tuple[str, object]] = PRAGMAS,
        retry: dict[str, float] | None = None,
        file_mode: int | None = None,
    ) -> None:
        self.path = str(path)
        self.file_mode = resolve_file_mode(file_mode)
        self.in_memory = self.path == ":memory:"
        self.pragmas = tuple(pragmas)
        self.retry = {**RETRY, **(retry or {})}
        self._local = threading.local()
        self._all_lock = threading.RLock()
        self._connections: list[tuple[int, sqlite3.Connection]] = []
        self._shared: sqlite3.Connection | None = None
        self._closed = False
        self._identity: tuple[int, int] | None = None
        if not self.in_memory:
            try:
                make_private_dirs(Path(self.path).parent, self.file_mode)
                if not os.path.exists(self.path):
                    ensure_private_file(self.path, self.file_mode)
            except OSError as exc:
                raise StorageError(
                    f"unable to open database file {self.path}: {exc.strerror or exc}") from exc
            self._check_header()
        try:
            if self._schema_version() != SCHEMA_VERSION:
                with self.transaction() as conn:
                    migrate(conn)
        except BaseException:
            self.close()
            raise
        if not self.in_memory:
            self._identity = self._stat_identity()

    def _schema_version(self) -> int:
        """Read without a write lock, so an up-to-date file opens while another process writes."""
        with self._reading() as conn:
            return int(self._retry_locked(lambda: conn.execute("PRAGMA user_version").fetchone()[0]))

    def _stat_identity(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def file_replaced(self) -> bool:
        """True when the file at ``path`` is no longer the one opened (deleted, moved or replaced):
        SQLite would go on using the old inode, so every later write would be lost."""
        return self._identity is not None and self._stat_identity() != self._identity

    def _check_identity(self) -> None:
        if self.file_replaced():
            raise StorageError(f"{self.path} was deleted or replaced while open")

    def _check_header(self) -> None:
        """Refuse a file that is not SQLite, or that is another program's or a newer cacheback's,
        from its header alone: opening a connection would already switch it to WAL mode."""
        try:
            with open(self.path, "rb") as fh:
                head = fh.read(_HEADER_PROBE.size)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise _convert(exc) from exc
        if head and head[: len(SQLITE_HEADER)] != SQLITE_HEADER:
            raise CorruptDatabaseError(f"{self.path} is not an SQLite database")
        if len(head) == _HEADER_PROBE.size:
            page_size, *fractions, version, app_id, page_kind, cells = _HEADER_PROBE.unpack(head)
            valid_size = page_size == 1 or (512 <= page_size and page_size & (page_size - 1) == 0)
            if not valid_size or tuple(fractions) != _FRACTIONS:
                raise CorruptDatabaseError(f"{self.path} has a damaged SQLite header")
            check_compatible(version, app_id, has_tables=page_kind == _INTERIOR_PAGE or cells > 0)

    def _open(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path, timeout=0, isolation_level=None, check_same_thread=False
            )
            for name, value in self.pragmas:
                if self.in_memory and name == "journal_mode":
                    continue
                self._retry_locked(functools.partial(conn.execute, f"PRAGMA {name} = {value}"))
        except (sqlite3.Error, OSError) as exc:
            raise _convert(exc) from exc
        with self._all_lock:
            self._connections.append((os.getpid(), conn))
        return conn

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise StorageError("storage is closed")
        if self.in_memory:
            with self._all_lock:
                if self._shared is None:
                    self._shared = self._open()
                return self._shared
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.conn, local.pid, local.depth = self._open(), os.getpid(), 0
        return local.conn  # type: ignore[no-any-return]

    def _retry_locked(self, action: Callable[[], _T]) -> _T:
        """Run ``action``, retrying only on "database is locked" until the time budget is spent."""
        deadline = time.monotonic() + self.retry["budget_seconds"]
        pause = self.retry["pause_seconds"]
        while True:
            try:
                return action()
            except sqlite3.OperationalError as exc:
                if not is_locked_error(exc):
                    raise
                if time.monotonic() + pause > deadline:
                    raise DatabaseLockedError(
                        f"{self.path}: database is locked after "
                        f"{self.retry['budget_seconds']:.1f}s of retries"
                    ) from exc
                time.sleep(pause)
                pause = min(pause * 2, self.retry["max_pause_seconds"])

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A re-entrant ``BEGIN IMMEDIATE`` transaction: nested uses join the outer one."""
        if self.in_memory:
            self._all_lock.acquire()
        try:
            conn = self._conn
            depth = getattr(self._local, "depth", 0)
            if depth:
                self._local.depth = depth + 1
                try:
                    yield conn
                finally:
                    self._local.depth = depth
                return
            self._check_identity()
            self._retry_locked(lambda: conn.execute("BEGIN IMMEDIATE"))
            self._local.depth = 1
            try:
                yield conn
            except BaseException:
                self._local.depth = 0
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            self._local.depth = 0
            self._retry_locked(lambda: conn.execute("COMMIT"))
        finally:
            if self.in_memory:
                self._all_lock.release()

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        if self.in_memory:
            with self._all_lock:
                yield self._conn
        else:
            self._check_identity()
            yield self._conn

    @_storage_errors
    def put(self, entry: NewEntry) -> int:
        blob = None if entry.embedding is None else entry.embedding.astype(np.float32).tobytes()
        metadata = json_text(entry.metadata) if entry.metadata else None
        size = sum(
            len(part.encode("utf-8")) if isinstance(part, str) else len(part)
            for part in (entry.query, entry.response, entry.payload, metadata, blob)
            if part is not None
        )
        with self.transaction() as conn:
            row = conn.execute(
                """
                INSERT INTO entries (namespace, scope_key, query_hash, norm_query, query, response,
                    payload, embedding, embed_model, created, last_hit, hit_count, expires,
                    metadata, size, checksum)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)
                ON CONFLICT (namespace, scope_key, query_hash) DO UPDATE SET
                    norm_query = excluded.norm_query, query = excluded.query,
                    response = excluded.response, payload = excluded.payload,
                    embedding = excluded.embedding, embed_model = excluded.embed_model,
                    created = excluded.created, last_hit = excluded.last_hit, hit_count = 0,
                    expires = excluded.expires, metadata = excluded.metadata, size = excluded.size,
                    checksum = excluded.checksum
                RETURNING id
                """,
                (
                    entry.namespace, entry.scope_key, entry.query_hash, entry.norm_query,
                    entry.query, entry.response, entry.payload, blob, entry.embed_model,
                    entry.created, entry.created, entry.expires, metadata, size,
                    entry_checksum(entry.namespace, entry.scope_key, entry.query, entry.response,
                                   entry.payload, metadata),
                ),
            ).fetchone()
        return int(row[0])

    @_storage_errors
    def get_exact(self, namespace: str, scope_key: str, query_hash: str, now: float) -> Entry | None:
        with self._reading() as conn:
            row = conn.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE namespace = ? AND scope_key = ? "
                f"AND query_hash = ? AND {_LIVE}",
                (namespace, scope_key, query_hash, now, now),
            ).fetchone()
        return None if row is None else _row_to_entry(row)

    def _rows_with_ids(self, columns: str, ids: Sequence[int], condition: str,
                       params: Sequence[object] = ()) -> list[Any]:
        """``SELECT columns`` of the rows among ``ids`` that meet ``condition``."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        with self._reading() as conn:
            return conn.execute(
                f"SELECT {columns} FROM entries WHERE id IN ({marks}) AND {condition}",
                (*[int(i) for i in ids], *params),
            ).fetchall()

    @_storage_errors
    def get_many(self, ids: Sequence[int], now: float) -> dict[int, Entry]:
        rows = self._rows_with_ids(_ENTRY_COLUMNS, ids, _LIVE, (now, now))
        return {row[0]: _row_to_entry(row) for row in rows}

    @_storage_errors
    def vectors_after(
        self, after_id: int, model: str, now: float, batch: int = 4096
    ) -> Iterator[VectorBatch]:
        size = 0  # the embedding size in bytes, from the first batch: every row must have it
        while True:
            with self._reading() as conn:
                rows = conn.execute(
                    "SELECT id, namespace, scope_key, embedding FROM entries WHERE id > ? "
                    f"AND embed_model = ? AND embedding IS NOT NULL AND {_LIVE} "
                    "ORDER BY id LIMIT ?",
                    (after_id, model, now, now, batch),
                ).fetchall()
            if not rows:
                return
            after_id = rows[-1][0]
            size = size or _common_size(rows)
            if not size:
                logger.warning("cacheback: %d stored embeddings cannot be read; left out of the "
                               "semantic index", len(rows))
                continue
            # A torn or rotten blob must not cost the whole cache (it used to be read as a
            # corrupt file and moved aside): its row gets a NaN vector, which the index skips
            # and counts as damaged, and keeps its exact-tier answer.
            nan = b"\xff\xff\xff\x7f" * (size // 4)
            vectors = np.frombuffer(b"".join(r[3] if len(r[3]) == size else nan for r in rows),
                                    dtype=np.float32)
            dim = size // 4
            yield VectorBatch(
                ids=np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)),
                partitions=[(r[1], r[2]) for r in rows],
                vectors=vectors.reshape(len(rows), dim),
            )

    @_storage_errors
    def vectors_of(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        rows = self._rows_with_ids("id, embedding", ids, "embedding IS NOT NULL")
        return {
            row[0]: np.frombuffer(row[1], dtype=np.float32)
            for row in rows if len(row[1]) and len(row[1]) % 4 == 0
        }

    @_storage_errors
    def vector_partitions(self, upto_id: int, model: str, now: float) -> dict[int, tuple[str, str]]:
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT id, namespace, scope_key FROM entries WHERE id <= ? AND embed_model = ? "
                f"AND embedding IS NOT NULL AND {_LIVE}",
                (upto_id, model, now, now),
            ).fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    @_storage_errors
    def db_uuid(self) -> str:
        with self._reading() as conn:
            return str(conn.execute("SELECT value FROM meta WHERE key = 'db_uuid'").fetchone()[0])

    @_storage_errors
    def max_id(self) -> int:
        with self._reading() as conn:
            return int(conn.execute("SELECT coalesce(max(id), 0) FROM entries").fetchone()[0])

    @_storage_errors
    def record_hits(self, hits: dict[int, tuple[int, float]]) -> None:
        if not hits:
            return
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE entries SET hit_count = hit_count + ?, last_hit = max(last_hit, ?) "
                "WHERE id = ?",
                [(count, last, entry_id) for entry_id, (count, last) in hits.items()],
            )

    @_storage_errors
    def delete(self, ids: Iterable[int]) -> int:
        id_list = [int(i) for i in ids]
        if not id_list:
            return 0
        with self.transaction() as conn:
            return sum(
                conn.execute("DELETE FROM entries WHERE id = ?", (i,)).rowcount for i in id_list
            )

    @_storage_errors
    def clear(self, namespace: str | None = None) -> int:
        with self.transaction() as conn:
            if namespace is None:
                return conn.execute("DELETE FROM entries").rowcount
            return conn.execute("DELETE FROM entries WHERE namespace = ?", (namespace,)).rowcount

    @_storage_errors
    def purge_expired(self, now: float, limit: int = 256) -> list[int]:
        with self.transaction() as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM entries WHERE expires IS NOT NULL AND expires <= ? LIMIT ?",
                    (now, limit),
                )
            ]
            conn.executemany("DELETE FROM entries WHERE id = ?", [(i,) for i in ids])
        return ids

    @_storage_errors
    def evict(
        self,
        max_entries: int | None,
        max_bytes: int | None,
        policy: str = "least-recently-used",
        batch: int = 64,
    ) -> list[int]:
        order = EVICTION_POLICIES[policy]
        removed: list[int] = []
        while True:
            with self.transaction() as conn:
                count, size = conn.execute("SELECT entries, bytes FROM totals").fetchone()
                over_count = max_entries is not None and count > max_entries
                over_bytes = max_bytes is not None and size > max_bytes
                if not (over_count or over_bytes) or count == 0:
                    return removed
                excess_count = count - max_entries if over_count else 0
                excess_bytes = size - max_bytes if over_bytes and max_bytes is not None else 0
                ids: list[int] = []
                freed = 0
                for entry_id, entry_size in conn.execute(
                    f"SELECT id, CAST(size AS INTEGER) FROM entries ORDER BY {order} LIMIT ?",
                    (batch,)
                ):
                    if len(ids) >= excess_count and freed >= excess_bytes:
                        break
                    ids.append(entry_id)
                    freed += entry_size
                conn.executemany("DELETE FROM entries WHERE id = ?", [(i,) for i in ids])
            removed.extend(ids)

    @_storage_errors
    def add_feedback(self, feedback: Feedback) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO feedback (entry_id, namespace, scope_key, query, query_hash, "
                "matched_query, similarity, probability, tier, correct, created, note) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    feedback.entry_id, feedback.namespace, feedback.scope_key, feedback.query,
                    feedback.query_hash, feedback.matched_query, feedback.similarity,
                    feedback.probability, feedback.tier, int(feedback.correct),
                    feedback.created, feedback.note,
                ),
            )

    @_storage_errors
    def blocked_pairs(self) -> set[tuple[str, int]]:
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT DISTINCT query_hash, entry_id FROM feedback WHERE correct = 0"
            ).fetchall()
        return {(r[0], int(r[1])) for r in rows}

    @_storage_errors
    def feedback_rows(self) -> list[dict[str, Any]]:
        """Every judgement, for recalibration and export."""
        with self._reading() as conn:
            cursor = conn.execute("SELECT * FROM feedback ORDER BY id")
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

    @_storage_errors
    def counts(self) -> dict[str, Any]:
        with self._reading() as conn:
            entries, size = conn.execute("SELECT entries, bytes FROM totals").fetchone()
            feedback = conn.execute("SELECT count(*) FROM feedback").fetchone()[0]
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        return {
            "entries": int(entries),
            "payload_bytes": int(size),
            "file_bytes": int(pages * page_size),
            "feedback": int(feedback),
        }

    @_storage_errors
    def iter_entries(self, namespace: str | None = None) -> Iterator[dict[str, Any]]:
        """Every row as a dict (embedding excluded), oldest first: for export and ``stats``.
        ``damaged`` is true for a row that fails its checksum or holds values of the wrong
        type: its other fields are not to be trusted (nor printed)."""
        sql = (
            "SELECT id, namespace, scope_key, query, response, payload, created, last_hit, "
            "hit_count, expires, metadata, checksum FROM entries"
        )
        params: tuple[Any, ...] = ()
        if namespace is not None:
            sql, params = sql + " WHERE namespace = ?", (namespace,)
        with self._reading() as conn:
            cursor = conn.execute(sql + " ORDER BY id", params)
            names = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        for row in rows:
            item = dict(zip(names, row))
            item["damaged"] = _damaged(item)
            yield item

    @_storage_errors
    def integrity_check(self) -> list[str]:
        """SQLite's own ``PRAGMA integrity_check`` messages; ``["ok"]`` when sound."""
        with self._reading() as conn:
            return [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]

    @_storage_errors
    def checkpoint(self) -> None:
        """Fold the WAL back into the main file."""
        if not self.in_memory:
            with self._reading() as conn:
                self._retry_locked(lambda: conn.execute("PRAGMA wal_checkpoint(TRUNCATE)"))

    def close(self) -> None:
        with self._all_lock:
            self._closed = True
            connections, self._connections = self._connections, []
            self._shared = None
        mine = [conn for pid, conn in connections if pid == os.getpid()]
        if mine and self.file_replaced():
            self._empty_stale_wal(mine[0])
        for conn in mine:
            try:
                conn.close()
            except sqlite3.Error:
                pass

    @staticmethod
    def _empty_stale_wal(conn: sqlite3.Connection) -> None:
        """The file was deleted or replaced while open: SQLite would leave the old file's WAL
        beside the new one, and the next open would replay it over the new file. Fold it into
        the old file and truncate it first (best effort: another process may still use it)."""
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            pass
