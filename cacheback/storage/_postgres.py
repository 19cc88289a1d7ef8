"""PostgreSQL + pgvector storage: one cache shared by many processes and machines.

psycopg 3 over a connection pool with explicit, short timeouts (the cache is best-effort: a
slow database must cost a miss, not a stalled request), every server error converted at the
boundary into the :class:`cacheback.StorageError` family, and semantic search done by the server
(``search``) with an HNSW index, so the cache keeps no in-process index on this backend.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import numpy as np

from .._errors import (
    ConfigurationError,
    CorruptDatabaseError,
    DatabaseUnavailableError,
    SchemaVersionError,
    StorageError,
)
from ._base import Entry, Feedback, NewEntry, Storage, VectorBatch
from ._checksum import entry_checksum
from ._open import redact_url
from ._pg_schema import MIGRATION_LOCK, PG_MIGRATIONS, PG_SCHEMA_VERSION, hnsw_index_sql
from ._settings import EVICTION_POLICIES
from ._sqlite import json_text

try:
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg import sql
    from psycopg.adapt import Dumper
    from psycopg.pq import Format
    from psycopg_pool import ConnectionPool, PoolTimeout
except ImportError:  # pragma: no cover - the [postgres] extra is not installed
    psycopg = None  # type: ignore[assignment]

__all__ = ["POSTGRES_SCHEMES", "PostgresSettings", "PostgresStorage"]

logger = logging.getLogger("cacheback")

POSTGRES_SCHEMES = ("postgresql", "postgres")
_ENTRY_COLUMNS = (
    "id, namespace, scope_key, query_hash, query, response, payload, created, last_hit, "
    "hit_count, expires, metadata, checksum"
)
#: Seconds a partition counted below ``exact_search_rows`` is searched exactly without a recount.
_SMALL_PARTITION_MEMO = 5.0
_LIVE = "(expires IS NULL OR (expires > %(now)s AND created <= %(now)s))"
_NOT_BLOCKED = (
    "NOT EXISTS (SELECT 1 FROM feedback f WHERE f.correct = 0 AND f.query_hash = %(qhash)s "
    "AND f.entry_id = entries.id)"
)
_T = TypeVar("_T")


@dataclass(frozen=True)
class PostgresSettings:
    """Every knob of the backend, as data. Each can be given as a query parameter of the URL
    (``postgresql://host/db?schema=cache&statement_timeout_ms=300``); they are removed before the
    rest of the URL goes to libpq (so ``sslmode``, ``application_name``... pass through)."""

    #: Schema holding the tables (created if missing): one database can hold several caches.
    schema: str = "cacheback"
    #: Connections kept open per process, and the most it opens.
    pool_min: int = 1
    pool_max: int = 8
    #: Longest a call waits for a free pooled connection (pool exhausted or server down).
    pool_timeout: float = 0.25
    #: Server-side limit per statement; a slower one is cancelled and counts as a miss.
    statement_timeout_ms: int = 500
    #: Longest a statement waits for a row or table lock.
    lock_timeout_ms: int = 200
    #: libpq's connect timeout, seconds (libpq's minimum is 2). Connections are opened by the
    #: pool's workers, so a request never waits for it: it waits ``pool_timeout`` at most.
    connect_timeout: int = 2
    #: TCP: abort a connection whose sent data is unacknowledged this long (a vanished host);
    #: libpq's ``tcp_user_timeout`` (ignored on Unix sockets).
    tcp_user_timeout_ms: int = 1000
    #: A pooled connection is replaced after this many seconds (spreads load after a failover).
    max_lifetime: float = 600.0
    #: HNSW search breadth: candidates kept per query (pgvector's default is 40).
    ef_search: int = 64
    #: pgvector 0.8 iterative index scans: when the namespace/scope filter removes rows, the
    #: scan goes on until ``k`` rows pass (``strict_order`` keeps results in distance order).
    iterative_scan: str = "strict_order"
    #: Upper bound of index tuples an iterative scan visits per query.
    max_scan_tuples: int = 20000
    #: A partition (namespace, scope, dimension) of at most this many rows is searched exactly
    #: (its rows read through the B-tree and sorted by distance) instead of through the HNSW
    #: graph, where a filter keeping a small share of the table makes the iterative scan walk
    #: most of the graph: slow, and short of the true nearest neighbours.
    exact_search_rows: int = 2000
    #: HNSW build parameters (pgvector's defaults).
    hnsw_m: int = 16
    hnsw_ef_construction: int = 64

    @classmethod
    def from_url(cls, url: str) -> tuple[str, PostgresSettings]:
        """Split ``url`` into the libpq URL and the settings; :class:`ConfigurationError` for a
        URL that is not a PostgreSQL URL or a setting of the wrong type."""
        try:
            parts = urlsplit(url)
        except ValueError as exc:
            raise ConfigurationError(f"not a valid database URL: {exc}") from None
        if parts.scheme.lower() not in POSTGRES_SCHEMES or not url[len(parts.scheme):].startswith("://"):
            raise ConfigurationError(
                f"not a PostgreSQL URL (postgresql://user@host:port/db): {redact_url(url)}")
        ours = {f.name: f for f in fields(cls)}
        kept: list[tuple[str, str]] = []
        values: dict[str, Any] = {}
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            if name not in ours:
                kept.append((name, value))
                continue
            kind = type(getattr(cls, name))
            try:
                values[name] = kind(value)
            except ValueError:
                raise ConfigurationError(f"database URL: {name} must be a {kind.__name__}") from None
        settings = cls(**values)
        settings.check()
        given = {name for name, _ in kept}
        if "connect_timeout" not in given:
            kept.append(("connect_timeout", str(settings.connect_timeout)))
        if "tcp_user_timeout" not in given:
            kept.append(("tcp_user_timeout", str(settings.tcp_user_timeout_ms)))
        libpq_url = f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(kept, quote_via=quote)}"
        try:
            psycopg.conninfo.conninfo_to_dict(libpq_url)
        except psycopg.Error as exc:
            raise ConfigurationError(f"not a valid PostgreSQL URL: {exc}") from None
        return libpq_url, settings

    def check(self) -> None:
        if not self.schema.replace("_", "").isalnum() or not self.schema.isascii():
            raise ConfigurationError("schema must be letters, digits and underscores")
        if self.iterative_scan not in ("off", "strict_order", "relaxed_order"):
            raise ConfigurationError("iterative_scan must be off, strict_order or relaxed_order")
        if not 1 <= self.pool_min <= self.pool_max:
            raise ConfigurationError("need 1 <= pool_min <= pool_max")
        for name in ("pool_timeout", "statement_timeout_ms", "lock_timeout_ms", "ef_search",
                     "max_scan_tuples", "hnsw_m", "hnsw_ef_construction", "max_lifetime",
                     "exact_search_rows"):
            if getattr(self, name) <= 0:
                raise ConfigurationError(f"{name} must be positive")

    def server_options(self, search_path: str) -> str:
        """Session settings sent with the connection request (no extra round trip)."""
        return " ".join(f"-c {name}={value}" for name, value in (
            ("search_path", search_path),
            ("statement_timeout", self.statement_timeout_ms),
            ("lock_timeout", self.lock_timeout_ms),
            ("idle_in_transaction_session_timeout", max(5000, 4 * self.statement_timeout_ms)),
            ("hnsw.ef_search", self.ef_search),
            ("hnsw.iterative_scan", self.iterative_scan),
            ("hnsw.max_scan_tuples", self.max_scan_tuples),
        ))


_UNAVAILABLE_STATES = {
    "57014": "statement timeout",
    "55P03": "lock timeout",
    "25006": "the database is read-only (a standby, or after a failover)",
    "57P01": "the server is shutting down",
    "57P02": "the server is shutting down",
    "57P03": "the server is starting up",
    "53300": "too many connections",
    "53000": "the server is out of resources",
    "53100": "the server's disk is full",
    "53200": "the server is out of memory",
    "40P01": "deadlock",
    "40001": "serialization failure",
}
_CORRUPT_STATES = {"XX001", "XX002"}


def _convert(exc: BaseException) -> StorageError:
    """One foreign error -> the project's tree: the caller sees only StorageError's family."""
    if isinstance(exc, PoolTimeout):
        return DatabaseUnavailableError(f"no database connection within the pool timeout: {exc}")
    if isinstance(exc, psycopg.Error):
        state = getattr(exc, "sqlstate", None) or ""
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if state in _UNAVAILABLE_STATES:
            return DatabaseUnavailableError(f"{_UNAVAILABLE_STATES[state]}: {message}")
        if state in _CORRUPT_STATES:
            return CorruptDatabaseError(message)
        if isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError)) or state[:2] == "08":
            return DatabaseUnavailableError(f"database connection failed: {message}")
        return StorageError(f"{type(exc).__name__} [{state}]: {message}")
    return StorageError(f"{type(exc).__name__}: {exc}")


def _foreign_errors() -> tuple[type[BaseException], ...]:
    return (psycopg.Error, PoolTimeout, OSError, ValueError)


def _storage_errors(method: Callable[..., _T]) -> Callable[..., _T]:
    """Convert every foreign error at the boundary, for plain and generator methods."""
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def generator(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from method(*args, **kwargs)
            except StorageError:
                raise
            except _foreign_errors() as exc:
                raise _convert(exc) from exc

        return generator  # type: ignore[return-value]

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> _T:
        try:
            return method(*args, **kwargs)
        except StorageError:
            raise
        except _foreign_errors() as exc:
            raise _convert(exc) from exc

    return wrapper


def _row_ok(row: Sequence[Any]) -> bool:
    return row[12] is None or entry_checksum(row[1], row[2], row[4], row[5], row[6],
                                             row[11]) == row[12]


def _row_to_entry(row: Sequence[Any]) -> Entry:
    return Entry(
        id=row[0], namespace=row[1], scope_key=row[2], query_hash=row[3], query=row[4],
        response=row[5], payload=row[6], created=row[7], last_hit=row[8], hit_count=row[9],
        expires=row[10], metadata=json.loads(row[11]) if row[11] else {},
    )


def _text(value: str | None) -> str | None:
    """PostgreSQL text cannot hold NUL; lone surrogates cannot be UTF-8. Both are refused as a
    store failure (a skipped store), never silently altered."""
    if value is not None and "\x00" in value:
        raise ValueError("PostgreSQL text cannot hold a NUL character")
    return value


def _vector_dumper(oid: int) -> type[Any]:
    class VectorDumper(Dumper):
        """numpy float32 vector -> pgvector's binary format (dim, unused, big-endian floats)."""

        format = Format.BINARY

        def dump(self, obj: Any) -> bytes:
            array = np.asarray(obj, dtype=">f4").ravel()
            return struct.pack(">HH", array.size, 0) + array.tobytes()

    VectorDumper.oid = oid
    return VectorDumper


def _parse_vector_text(text: str) -> np.ndarray:
    return np.array(text.strip("[]").split(","), dtype=np.float32)


class PostgresStorage(Storage):
    """Entries, vectors and feedback in PostgreSQL, searched by pgvector on the server.

    ``url`` is a libpq URL (``postgresql://user@host:5432/db``) with optional
    :class:`PostgresSettings` as query parameters. Opening creates the schema (or migrates it)
    under an advisory lock; it raises :class:`StorageError` when the server cannot be reached,
    and the cache retries after its backoff.
    """

    searches_vectors = True

    def __init__(self, url: str, *, settings: PostgresSettings | None = None) -> None:
        if psycopg is None:
            raise ConfigurationError(
                "PostgreSQL storage needs the postgres extra: pip install 'cacheback-ai[postgres]'"
            )
        self.url = url
        self.path = redact_url(url)
        libpq_url, from_url = PostgresSettings.from_url(url)
        self.settings = replace(from_url, **{}) if settings is None else settings
        self.settings.check()
        self._libpq_url = libpq_url
        self._local = threading.local()
        self._indexed_dims: set[int] = set()
        self._lock = threading.Lock()
        #: partition -> monotonic time until which it is known to be larger than
        #: ``exact_search_rows`` (searched through the HNSW graph without counting it again)
        self._large_partitions: dict[tuple[str, str, int], float] = {}
        #: partitions last counted below ``exact_search_rows``: searched exactly without counting
        self._small_partitions: dict[tuple[str, str, int], float] = {}
        #: hit counts a row lock kept out of a flush: id -> [count, last hit, flushes missed]
        self._unrecorded: dict[int, list[float]] = {}
        self.corrupt_rows_skipped = 0
        self._closed = False
        self._pool: Any = None
        try:
            self._vector_oid, vector_schema = self._prepare_database()
            search_path = f"{self.settings.schema},{vector_schema.replace(' ', chr(92) + ' ')}"
            self._dumper = _vector_dumper(self._vector_oid)
            self._pool = ConnectionPool(
                self._libpq_url,
                kwargs={"autocommit": True, "options": " ".join(str(part) for part in (
                    psycopg.conninfo.conninfo_to_dict(libpq_url).get("options"),
                    self.settings.server_options(search_path)) if part)},
                min_size=self.settings.pool_min, max_size=self.settings.pool_max,
                timeout=self.settings.pool_timeout, max_lifetime=self.settings.max_lifetime,
                reconnect_timeout=30.0, configure=self._configure, open=False,
                name=f"cacheback-{self.settings.schema}",
            )
            self._pool.open(wait=False)
        except _foreign_errors() as exc:
            self.close()
            raise _convert(exc) from exc
        except BaseException:
            self.close()
            raise

    # -- connections ----------------------------------------------------------------------

    def _prepare_database(self) -> tuple[int, str]:
        """Create the extension and schema, migrate, and learn pgvector's type oid: on one
        short-lived connection, inside one transaction holding the migration lock."""
        options = f"-c statement_timeout={max(30000, self.settings.statement_timeout_ms)}"
        with psycopg.connect(self._libpq_url, autocommit=True, options=options) as conn:
            row = conn.execute(
                "SELECT t.oid, n.nspname FROM pg_extension e JOIN pg_type t ON t.typname = "
                "'vector' AND t.typnamespace = e.extnamespace JOIN pg_namespace n ON "
                "n.oid = e.extnamespace WHERE e.extname = 'vector'"
            ).fetchone()
            version = self._schema_version(conn)
            if row is not None and version == PG_SCHEMA_VERSION:
                return int(row[0]), str(row[1])
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
                try:
                    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
                except pg_errors.InsufficientPrivilege as exc:
                    raise ConfigurationError(
                        "the pgvector extension is not installed in this database and this role "
                        "may not create it: run CREATE EXTENSION vector as its owner"
                    ) from exc
                conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                    sql.Identifier(self.settings.schema)))
                row = conn.execute(
                    "SELECT t.oid, n.nspname FROM pg_extension e JOIN pg_type t ON t.typname = "
                    "'vector' AND t.typnamespace = e.extnamespace JOIN pg_namespace n ON "
                    "n.oid = e.extnamespace WHERE e.extname = 'vector'"
                ).fetchone()
                assert row is not None
                conn.execute(sql.SQL("SET LOCAL search_path TO {}, {}").format(
                    sql.Identifier(self.settings.schema), sql.Identifier(row[1])))
                version = self._schema_version(conn)
                if version > PG_SCHEMA_VERSION:
                    raise SchemaVersionError(
                        f"database schema version {version} is newer than this cacheback's "
                        f"{PG_SCHEMA_VERSION}"
                    )
                for number in range(version, PG_SCHEMA_VERSION):
                    for statement in PG_MIGRATIONS[number]:
                        conn.execute(statement)
                    conn.execute(
                        "INSERT INTO meta VALUES ('schema_version', %s) ON CONFLICT (key) "
                        "DO UPDATE SET value = excluded.value", (str(number + 1),),
                    )
            return int(row[0]), str(row[1])

    def _schema_version(self, conn: Any) -> int:
        row = conn.execute(
            "SELECT to_regclass(%s) IS NOT NULL", (f'"{self.settings.schema}".meta',)
        ).fetchone()
        if not row[0]:
            return 0
        found = conn.execute(sql.SQL("SELECT value FROM {}.meta WHERE key = 'schema_version'")
                             .format(sql.Identifier(self.settings.schema))).fetchone()
        return int(found[0]) if found else 0

    def _configure(self, conn: Any) -> None:
        conn.adapters.register_dumper(np.ndarray, self._dumper)

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        """The calling thread's transaction connection if one is open, else one from the pool."""
        if self._closed:
            raise StorageError("storage is closed")
        current = getattr(self._local, "conn", None)
        if current is not None:
            yield current
            return
        with self._pool.connection(timeout=self.settings.pool_timeout) as conn:
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A transaction on one pooled connection; nested uses (in this thread) join it."""
        if getattr(self._local, "conn", None) is not None:
            yield self._local.conn
            return
        with self._connection() as conn, conn.transaction():
            self._local.conn = conn
            try:
                yield conn
            finally:
                self._local.conn = None

    # -- the Storage interface ----------------------------------------------------------------

    def _ensure_hnsw(self, dim: int) -> None:
        """Create the HNSW index for ``dim`` the first time a vector of that size is stored."""
        if dim in self._indexed_dims:
            return
        with self._connection() as conn:
            exists = conn.execute(
                "SELECT to_regclass(%s) IS NOT NULL",
                (f'"{self.settings.schema}".entries_hnsw_{int(dim)}',),
            ).fetchone()[0]
            if not exists:
                with conn.transaction():
                    conn.execute("SET LOCAL statement_timeout = 0")
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK + int(dim),))
                    conn.execute(hnsw_index_sql(int(dim), self.settings.hnsw_m,
                                                self.settings.hnsw_ef_construction))
        with self._lock:
            self._indexed_dims.add(dim)

    @_storage_errors
    def put(self, entry: NewEntry) -> int:
        vector = None if entry.embedding is None else np.asarray(entry.embedding, dtype=np.float32)
        metadata = json_text(entry.metadata) if entry.metadata else None
        for text in (entry.query, entry.response, entry.payload, metadata, entry.norm_query):
            _text(text)
        size = sum(
            len(part.encode("utf-8")) for part in (entry.query, entry.response, entry.payload, metadata)
            if part is not None
        ) + (0 if vector is None else vector.nbytes)
        if vector is not None:
            self._ensure_hnsw(vector.size)
        with self._connection() as conn:
            row = conn.execute(
                """
                INSERT INTO entries (namespace, scope_key, query_hash, norm_query, query, response,
                    payload, embedding, embed_dim, embed_model, created, last_hit, hit_count,
                    expires, metadata, size, checksum)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, %s, %s, %s, %s)
                ON CONFLICT (namespace, scope_key, query_hash) DO UPDATE SET
                    norm_query = excluded.norm_query, query = excluded.query,
                    response = excluded.response, payload = excluded.payload,
                    embedding = excluded.embedding, embed_dim = excluded.embed_dim,
                    embed_model = excluded.embed_model, created = excluded.created,
                    last_hit = excluded.last_hit, hit_count = 0, expires = excluded.expires,
                    metadata = excluded.metadata, size = excluded.size, checksum = excluded.checksum
                RETURNING id
                """,
                (
                    entry.namespace, entry.scope_key, entry.query_hash, entry.norm_query,
                    entry.query, entry.response, entry.payload, vector,
                    None if vector is None else vector.size, entry.embed_model if vector is not None
                    else None, entry.created, entry.created, entry.expires, metadata, size,
                    entry_checksum(entry.namespace, entry.scope_key, entry.query, entry.response,
                                   entry.payload, metadata),
                ),
            ).fetchone()
        return int(row[0])

    def _live_entries(self, rows: Iterable[Sequence[Any]]) -> list[Entry]:
        """Rows that match their checksum; a damaged row is skipped (a miss), logged and counted,
        since one bad row must not take a shared cache down."""
        out = []
        for row in rows:
            if _row_ok(row):
                out.append(_row_to_entry(row))
            else:
                self.corrupt_rows_skipped += 1
                logger.error("cacheback: entry %s does not match its checksum; not served", row[0])
        return out

    @_storage_errors
    def get_exact(self, namespace: str, scope_key: str, query_hash: str, now: float) -> Entry | None:
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE namespace = %(ns)s AND "
                f"scope_key = %(scope)s AND query_hash = %(qhash)s AND {_LIVE} AND {_NOT_BLOCKED}",
                {"ns": namespace, "scope": scope_key, "qhash": query_hash, "now": now},
            ).fetchall()
        entries = self._live_entries(rows)
        return entries[0] if entries else None

    @_storage_errors
    def search(
        self, namespace: str, scope_key: str, model: str, vector: np.ndarray, k: int, now: float,
        query_hash: str | None = None,
    ) -> list[tuple[Entry, float]]:
        """The ``k`` live entries of this partition nearest to ``vector`` (cosine), best first,
        with their similarity; pairs reported wrong for ``query_hash`` are left out.

        A small partition (``exact_search_rows``) is searched exactly, a large one through the
        HNSW index; one round trip either way. The partition's size is counted (at most
        ``exact_search_rows + 1`` index entries) in the same statement; a partition found large
        is not counted again for a minute, one found small for a few seconds (an exact search
        is right at any size, so a partition that grew meanwhile only costs a slower scan)."""
        vector = np.asarray(vector, dtype=np.float32)
        dim = int(vector.size)
        params = {"v": vector, "ns": namespace, "scope": scope_key, "model": model, "now": now,
                  "qhash": query_hash or "", "k": int(k), "most": self.settings.exact_search_rows + 1}
        select = (f"SELECT {_ENTRY_COLUMNS}, 1 - (embedding::vector({dim}) <=> %(v)s) AS sim "
                  f"FROM entries WHERE embed_dim = {dim} AND namespace = %(ns)s AND "
                  f"scope_key = %(scope)s AND embed_model = %(model)s AND {_LIVE} AND "
                  f"{_NOT_BLOCKED} ORDER BY ")
        graph = f"{select}embedding::vector({dim}) <=> %(v)s LIMIT %(k)s"
        partition = (namespace, scope_key, dim)
        if self._large_partitions.get(partition, 0.0) > time.monotonic():
            with self._connection() as conn:
                rows = conn.execute(graph, params).fetchall()
        elif self._small_partitions.get(partition, 0.0) > time.monotonic():
            with self._connection() as conn:
                rows = conn.execute(f"{select}sim DESC LIMIT %(k)s", params).fetchall()
        else:
            with self._connection() as conn:
                rows = conn.execute(
                    # sorting by the similarity rather than the distance keeps the planner off
                    # the HNSW index; the one-time filters run one branch only
                    "WITH part AS MATERIALIZED (SELECT count(*) AS n FROM (SELECT 1 FROM entries "
                    f"WHERE namespace = %(ns)s AND scope_key = %(scope)s AND embed_dim = {dim} "
                    "LIMIT %(most)s) p) "
                    f"SELECT found.*, (SELECT n FROM part) FROM ({select}sim DESC LIMIT %(k)s) found "
                    "WHERE (SELECT n FROM part) < %(most)s UNION ALL "
                    f"SELECT found.*, (SELECT n FROM part) FROM ({graph}) found "
                    "WHERE (SELECT n FROM part) >= %(most)s",
                    params,
                ).fetchall()
            large = bool(rows) and rows[0][14] >= params["most"]
            with self._lock:
                if large:
                    self._large_partitions[partition] = time.monotonic() + 60.0
                else:
                    self._small_partitions[partition] = time.monotonic() + _SMALL_PARTITION_MEMO
        sims = {row[0]: float(row[13]) for row in rows}
        return [(entry, sims[entry.id]) for entry in self._live_entries(rows)]

    @_storage_errors
    def get_many(self, ids: Sequence[int], now: float) -> dict[int, Entry]:
        if not ids:
            return {}
        with self._connection() as conn:
            rows = conn.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE id = ANY(%(ids)s) AND {_LIVE}",
                {"ids": [int(i) for i in ids], "now": now},
            ).fetchall()
        return {entry.id: entry for entry in self._live_entries(rows)}

    @_storage_errors
    def vectors_after(
        self, after_id: int, model: str, now: float, batch: int = 4096
    ) -> Iterator[VectorBatch]:
        while True:
            with self._connection() as conn:
                rows = conn.execute(
                    "SELECT id, namespace, scope_key, embedding::text FROM entries WHERE "
                    f"id > %(after)s AND embed_model = %(model)s AND embedding IS NOT NULL AND "
                    f"{_LIVE} ORDER BY id LIMIT %(batch)s",
                    {"after": after_id, "model": model, "now": now, "batch": batch},
                ).fetchall()
            if not rows:
                return
            after_id = rows[-1][0]
            vectors = [_parse_vector_text(r[3]) for r in rows]
            if len({v.size for v in vectors}) != 1:
                raise CorruptDatabaseError("stored embeddings have inconsistent sizes")
            yield VectorBatch(
                ids=np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)),
                partitions=[(r[1], r[2]) for r in rows],
                vectors=np.stack(vectors),
            )

    @_storage_errors
    def vectors_of(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        if not ids:
            return {}
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT id, embedding::text FROM entries WHERE id = ANY(%s) AND embedding IS NOT NULL",
                ([int(i) for i in ids],),
            ).fetchall()
        return {r[0]: _parse_vector_text(r[1]) for r in rows}

    @_storage_errors
    def vector_partitions(self, upto_id: int, model: str, now: float) -> dict[int, tuple[str, str]]:
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT id, namespace, scope_key FROM entries WHERE id <= %(upto)s AND "
                f"embed_model = %(model)s AND embedding IS NOT NULL AND {_LIVE}",
                {"upto": upto_id, "model": model, "now": now},
            ).fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    @_storage_errors
    def db_uuid(self) -> str:
        with self._connection() as conn:
            return str(conn.execute("SELECT value FROM meta WHERE key = 'db_uuid'").fetchone()[0])

    @_storage_errors
    def tenant_salt(self, nbytes: int = 32) -> bytes:
        """A random salt kept in the database, created by the first caller: every proxy on this
        database derives the same tenant namespaces from the same API key."""
        import secrets

        with self._connection() as conn:
            conn.execute(
                "INSERT INTO meta VALUES ('tenant_salt', %s) ON CONFLICT (key) DO NOTHING",
                (secrets.token_hex(nbytes),),
            )
            value = conn.execute("SELECT value FROM meta WHERE key = 'tenant_salt'").fetchone()[0]
        return bytes.fromhex(value)

    @_storage_errors
    def max_id(self) -> int:
        with self._connection() as conn:
            return int(conn.execute("SELECT coalesce(max(id), 0) FROM entries").fetchone()[0])

    @_storage_errors
    def record_hits(self, hits: dict[int, tuple[int, float]]) -> None:
        """Add hit counts and last-hit times. Rows another process holds locked (its own flush
        of the same popular entries, a put) are skipped, never waited for: bookkeeping must not
        stall or fail a lookup. Their counts are carried into the next flush (up to three times,
        then dropped: the row may be gone)."""
        with self._lock:
            merged = self._unrecorded
            self._unrecorded = {}
        for entry_id, (count, last) in hits.items():
            pending = merged.setdefault(int(entry_id), [0, 0.0, 0])
            pending[0] += count
            pending[1] = max(pending[1], last)
            pending[2] = 0
        if not merged:
            return
        ids = sorted(merged)
        try:
            with self._connection() as conn:
                done = {r[0] for r in conn.execute(
                    "UPDATE entries SET hit_count = entries.hit_count + h.count, "
                    "last_hit = greatest(entries.last_hit, h.last) FROM unnest(%s::bigint[], "
                    "%s::bigint[], %s::float8[]) AS h(id, count, last) WHERE entries.id = h.id "
                    "AND entries.id IN (SELECT id FROM entries WHERE id = ANY(%s) "
                    "FOR UPDATE SKIP LOCKED) RETURNING entries.id",
                    (ids, [int(merged[i][0]) for i in ids], [merged[i][1] for i in ids], ids),
                ).fetchall()}
        except BaseException:
            done = set()
            raise
        finally:
            left = {i: [c, t, n + 1] for i, (c, t, n) in merged.items() if i not in done and n < 3}
            with self._lock:
                for entry_id, (kept, kept_last, missed) in left.items():
                    pending = self._unrecorded.setdefault(entry_id, [0, 0.0, missed])
                    pending[0] += kept
                    pending[1] = max(pending[1], kept_last)

    @_storage_errors
    def delete(self, ids: Iterable[int]) -> int:
        id_list = [int(i) for i in ids]
        if not id_list:
            return 0
        with self._connection() as conn:
            return int(conn.execute("DELETE FROM entries WHERE id = ANY(%s)", (id_list,)).rowcount)

    @_storage_errors
    def clear(self, namespace: str | None = None) -> int:
        with self._connection() as conn:
            if namespace is None:
                return int(conn.execute("DELETE FROM entries").rowcount)
            return int(conn.execute(
                "DELETE FROM entries WHERE namespace = %s", (namespace,)).rowcount)

    @_storage_errors
    def purge_expired(self, now: float, limit: int = 256) -> list[int]:
        with self._connection() as conn:
            rows = conn.execute(
                "DELETE FROM entries WHERE id IN (SELECT id FROM entries WHERE expires IS NOT NULL "
                "AND expires <= %s LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING id",
                (now, limit),
            ).fetchall()
        return [r[0] for r in rows]

    @_storage_errors
    def evict(
        self,
        max_entries: int | None,
        max_bytes: int | None,
        policy: str = "least-recently-used",
        batch: int = 64,
    ) -> list[int]:
        """As SQLite's, in batches; one process evicts at a time (the others skip: it will bring
        the totals under the limits), and rows other writers hold are skipped, not waited for."""
        order = EVICTION_POLICIES[policy]
        removed: list[int] = []
        while True:
            with self.transaction() as conn:
                count, size = conn.execute("SELECT entries, bytes FROM totals").fetchone()
                over_count = max_entries is not None and count > max_entries
                over_bytes = max_bytes is not None and size > max_bytes
                if not (over_count or over_bytes) or count == 0:
                    return removed
                if not conn.execute("SELECT pg_try_advisory_xact_lock(%s)",
                                    (MIGRATION_LOCK - 1,)).fetchone()[0]:
                    return removed
                excess_count = count - max_entries if over_count and max_entries is not None else 0
                excess_bytes = size - max_bytes if over_bytes and max_bytes is not None else 0
                ids: list[int] = []
                freed = 0
                for entry_id, entry_size in conn.execute(
                    f"SELECT id, size FROM entries ORDER BY {order} LIMIT %s FOR UPDATE SKIP LOCKED",
                    (batch,),
                ).fetchall():
                    if len(ids) >= excess_count and freed >= excess_bytes:
                        break
                    ids.append(entry_id)
                    freed += entry_size
                if not ids:
                    return removed
                conn.execute("DELETE FROM entries WHERE id = ANY(%s)", (ids,))
            removed.extend(ids)

    @_storage_errors
    def add_feedback(self, feedback: Feedback) -> None:
        with self._connection() as conn:
            conn.execute(
                "INSERT INTO feedback (entry_id, namespace, scope_key, query, query_hash, "
                "matched_query, similarity, probability, tier, correct, created, note) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    feedback.entry_id, feedback.namespace, feedback.scope_key,
                    _text(feedback.query), feedback.query_hash, _text(feedback.matched_query),
                    feedback.similarity, feedback.probability, feedback.tier,
                    int(feedback.correct), feedback.created, _text(feedback.note),
                ),
            )

    @_storage_errors
    def blocked_pairs(self) -> set[tuple[str, int]]:
        with self._connection() as conn:
            rows = conn.execute(
                "SELECT DISTINCT query_hash, entry_id FROM feedback WHERE correct = 0"
            ).fetchall()
        return {(r[0], int(r[1])) for r in rows}

    @_storage_errors
    def feedback_rows(self) -> list[dict[str, Any]]:
        """Every judgement, for recalibration and export."""
        with self._connection() as conn:
            cursor = conn.execute("SELECT * FROM feedback ORDER BY id")
            names = [d.name for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

    @_storage_errors
    def counts(self) -> dict[str, Any]:
        with self._connection() as conn:
            entries, size = conn.execute("SELECT entries, bytes FROM totals").fetchone()
            feedback = conn.execute("SELECT count(*) FROM feedback").fetchone()[0]
            on_disk = conn.execute(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s "
                "AND c.relkind = 'r'", (self.settings.schema,),
            ).fetchone()[0]
        return {
            "entries": int(entries),
            "payload_bytes": int(size),
            "file_bytes": int(on_disk),
            "feedback": int(feedback),
            "corrupt_rows_skipped": self.corrupt_rows_skipped,
            "backend": "postgresql",
        }

    @_storage_errors
    def iter_entries(self, namespace: str | None = None) -> Iterator[dict[str, Any]]:
        """Every row as a dict (embedding excluded), oldest first, read in keyset pages so a large
        cache is never held in memory whole: for export."""
        after = 0
        where = "" if namespace is None else " AND namespace = %(ns)s"
        while True:
            with self._connection() as conn:
                cursor = conn.execute(
                    "SELECT id, namespace, scope_key, query, response, payload, created, last_hit, "
                    f"hit_count, expires, metadata FROM entries WHERE id > %(after)s{where} "
                    "ORDER BY id LIMIT 1000", {"after": after, "ns": namespace},
                )
                names = [d.name for d in cursor.description]
                rows = cursor.fetchall()
            if not rows:
                return
            after = rows[-1][0]
            for row in rows:
                yield dict(zip(names, row))

    @_storage_errors
    def integrity_check(self) -> list[str]:
        """Each entry checked against its CRC, plus the HNSW indexes' validity; ``["ok"]``."""
        problems: list[str] = []
        after = 0
        while True:
            with self._connection() as conn:
                rows = conn.execute(
                    f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE id > %s ORDER BY id LIMIT 2000",
                    (after,),
                ).fetchall()
            if not rows:
                break
            after = rows[-1][0]
            problems += [f"entry {r[0]} does not match its checksum" for r in rows if not _row_ok(r)]
        with self._connection() as conn:
            invalid = conn.execute(
                "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s "
                "AND NOT i.indisvalid", (self.settings.schema,),
            ).fetchall()
        problems += [f"index {r[0]} is invalid (rebuild it with REINDEX)" for r in invalid]
        return problems or ["ok"]

    def checkpoint(self) -> None:
        """Nothing to fold back: the server manages its own write-ahead log."""

    def pool_stats(self) -> dict[str, int]:
        """The pool's own counters (connections, waits, timeouts), for monitoring."""
        return dict(self._pool.get_stats()) if self._pool is not None else {}

    def close(self) -> None:
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                pool.close(timeout=1.0)
            except Exception:  # noqa: BLE001 - closing a broken pool must not raise
                pass
