"""SemanticCache: the public core API. Exact tier, then semantic tier, behind a fail-open wall.

Any failure inside the cache (disk, database, model) becomes a miss or a skipped store, is
counted in :meth:`SemanticCache.stats` and logged once per incident; only bad caller input raises.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import numpy as np

from ._breaker import CircuitBreaker
from ._clock import SteadyClock
from ._errors import (
    CachebackError,
    ConfigurationError,
    CorruptDatabaseError,
    EmbedderError,
    IndexFileError,
    InvalidInputError,
    SchemaVersionError,
    StorageError,
)
from ._files import resolve_file_mode
from ._heap import release_free_memory
from ._normalize import clean_text, normalise_query, scope_key, validate_text
from ._types import Candidate, Hit
from ._validate import (
    check_bool,
    check_callable,
    check_depth,
    check_entry_id,
    check_namespace,
    check_optional_namespace,
    check_positive_int,
    check_texts,
    check_ttl,
    query_and_hash,
)
from ._vectors import PartitionedVectors, remove_stale_temp_files
from .embed import Embedder, default_embedder
from .match import Matcher, build_matcher
from .pii import PIIGuard, Scanner, Screening
from .storage import (
    DATABASE_URL_ENV,
    EVICTION_POLICIES,
    Feedback,
    NewEntry,
    SQLiteStorage,
    Storage,
    VectorBatch,
    is_url,
    json_text,
    open_storage,
    redact_url,
    resolve_location,
)

__all__ = ["DEFAULT_SIMILARITY_THRESHOLD", "SemanticCache", "default_path"]

logger = logging.getLogger("cacheback")

#: Plain-cosine baseline, and fallback when the match model is unavailable: the lowest cosine
#: within a 5% wrong-hit rate on the dev sets but fow-cache (benchmarks/match_quality.py, docs/matching.md).
DEFAULT_SIMILARITY_THRESHOLD = 0.90
_FLUSH_HITS_EVERY = 64
_FLUSH_HITS_SECONDS = 2.0
_PURGE_EVERY_PUTS = 256
_SEARCH_SLACK = 4
#: Vectors of the last texts embedded, so the put() that follows a missed get() of the same
#: question (the usual miss path) does not run the model a second time.
_RECENT_VECTORS = 64


def default_path() -> Path:
    """``$CACHEBACK_HOME/cache.db``, else the per-user cache directory."""
    home = os.environ.get("CACHEBACK_HOME")
    if home:
        return Path(home) / "cache.db"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cacheback" / "cache.db"


def _rerank(stored: dict[int, np.ndarray], ids: np.ndarray, query: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """Candidates ordered by their exact similarity to ``query`` (the index's is approximate);
    a candidate whose vector is gone or malformed is dropped."""
    keep = [i for i in ids.tolist() if i in stored and stored[i].shape == query.shape]
    if not keep:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    sims = np.stack([stored[i] for i in keep]) @ query
    order = np.argsort(-sims, kind="stable")
    return np.asarray(keep, dtype=np.int64)[order], sims[order].astype(np.float32)


def _unit_length(vectors: np.ndarray) -> np.ndarray:
    """Which rows are finite and L2-normalised, as every Embedder promises: similarity is a plain
    dot product, so one huge component (a flipped exponent bit) would match anything."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.abs(np.linalg.norm(vectors, axis=1) - 1.0) < 1e-3


def _not_indexed_yet(batch: VectorBatch, indexed_ahead: set[int], index: PartitionedVectors,
                     storing: Collection[int] = ()
                     ) -> tuple[np.ndarray, list[tuple[str, str]], np.ndarray]:
    """The rows of ``batch`` that this cache did not index itself when it stored them (ids are
    never reused, and a stored row never changes, so such a row is already indexed as read),
    less those a put is indexing right now (``storing``: left to it)."""
    if not indexed_ahead and not storing:
        return batch.ids, batch.partitions, batch.vectors
    keep = [i for i, entry_id in enumerate(batch.ids.tolist())
            if entry_id not in storing and (entry_id not in indexed_ahead or entry_id not in index)]
    if len(keep) == len(batch.ids):
        return batch.ids, batch.partitions, batch.vectors
    return batch.ids[keep], [batch.partitions[i] for i in keep], batch.vectors[keep]


def _move_aside(path: str) -> str:
    """Rename ``path`` and its -wal/-shm to ``<path>.corrupt-<time>[-n]``, never replacing an
    earlier copy; returns the new name."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    moved = f"{path}.corrupt-{stamp}"
    n = 1
    while any(os.path.lexists(moved + suffix) for suffix in ("", "-wal", "-shm")):
        n += 1
        moved = f"{path}.corrupt-{stamp}-{n}"
    os.rename(path, moved)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.rename(path + suffix, moved + suffix)
    return moved


class SemanticCache:
    """A local semantic cache of question -> answer, keyed by namespace and scope.

    ``embedder="default"`` loads the bundled MiniLM model; ``None`` keeps only the exact tier.
    ``matcher`` decides which neighbour may be served; by default the calibrated matcher, serving
    within ``max_wrong_hit_rate`` (wrong hits / hits); ``similarity_threshold`` gives plain cosine.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        embedder: Embedder | str | None = "default",
        matcher: Matcher | None = None,
        similarity_threshold: float | None = None,
        max_wrong_hit_rate: float | None = None,
        ttl: float | None = None,
        max_entries: int | None = None,
        max_bytes: int | None = None,
        eviction_policy: str = "least-recently-used",
        candidates_k: int = 5,
        max_query_chars: int = 16_384,
        storage: Storage | None = None,
        clock: Callable[[], float] = time.time,
        breaker: CircuitBreaker | None = None,
        file_mode: int | None = None,
        pii: str = "bypass",
        pii_scanner: Scanner | None = None,
    ) -> None:
        if eviction_policy not in EVICTION_POLICIES:
            raise ConfigurationError(
                f"eviction_policy must be one of {sorted(EVICTION_POLICIES)}, not {eviction_policy!r}"
            )
        for name, limit in (("max_entries", max_entries), ("max_bytes", max_bytes)):
            if limit is not None:
                check_positive_int(limit, name, configuration=True)
        check_positive_int(candidates_k, "candidates_k", configuration=True)
        check_positive_int(max_query_chars, "max_query_chars", configuration=True)
        if path is not None and not isinstance(path, (str, os.PathLike)):
            raise ConfigurationError(f"path must be a str, a PathLike or None, not {type(path).__name__}")
        if matcher is not None and (similarity_threshold is not None or max_wrong_hit_rate is not None):
            raise ConfigurationError("give either matcher or similarity_threshold/max_wrong_hit_rate")
        if path is None:
            path = os.environ.get(DATABASE_URL_ENV) or default_path()
        self.path = ":memory:" if str(path) == ":memory:" else str(path)
        if storage is None:
            self.path = resolve_location(self.path)
        try:
            self.file_mode = resolve_file_mode(file_mode)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from exc
        self.default_ttl = check_ttl(ttl, "ttl")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.eviction_policy = eviction_policy
        self.candidates_k = candidates_k
        self.max_query_chars = max_query_chars
        self.matcher = matcher or build_matcher(
            similarity_threshold=similarity_threshold, max_wrong_hit_rate=max_wrong_hit_rate,
            fallback_threshold=DEFAULT_SIMILARITY_THRESHOLD,
        )
        self._pii = PIIGuard(pii, pii_scanner)
        self._breaker = breaker or CircuitBreaker()
        self._clock = SteadyClock(clock, self._clock_went_back, monotonic=self._breaker.clock)
        self._lock = threading.RLock()
        self._counters: dict[str, int] = {}
        self._degraded: dict[str, str] = {}
        self._pending_hits: dict[int, list[float]] = {}
        self._last_flush = time.monotonic()
        self._puts = 0
        self._blocked: set[tuple[str, int]] = set()
        self._synced_id = 0
        self._indexed_ahead: set[int] = set()  # rows put here and indexed past _synced_id
        self._storing: set[int] = set()  # rows stored by a put that is indexing them now
        self._closed = False
        self._recent_vectors: OrderedDict[str, tuple[Embedder, np.ndarray]] = OrderedDict()
        self._semantic_breakers = {"embedder": self._breaker.fresh(), "index": self._breaker.fresh()}
        self._retry_default_embedder = embedder == "default"
        self._embedder = self._load_embedder(embedder)
        self._index_path = None if self.path == ":memory:" or is_url(self.path) else self.path + ".index"
        self._vectors = self._new_vectors(self._embedder.dim if self._embedder else 0)
        self._given_storage = storage
        self._storage: Storage | None = None
        self._open_storage()

    # -- set-up and fault handling -------------------------------------------------------

    def _load_embedder(self, embedder: Embedder | str | None) -> Embedder | None:
        if embedder is None:
            self._degraded["semantic"] = "disabled: no embedder configured"
            return None
        if isinstance(embedder, Embedder):
            return embedder
        if embedder != "default":
            raise ConfigurationError("embedder must be an Embedder, 'default' or None")
        try:
            return default_embedder()
        except EmbedderError as exc:
            self._semantic_failed("embedder", exc)
            return None

    def _semantic_failed(self, kind: str, exc: BaseException) -> None:
        """An ``embedder`` or ``index`` fault: count it, log once per incident and back off; the
        semantic tier steps aside meanwhile and the exact tier goes on."""
        breaker = self._semantic_breakers[kind]
        self._count(f"errors.{kind}")
        self._degraded["semantic"] = f"off: {exc!r}"
        if breaker.state == "closed":
            logger.warning("cacheback: semantic tier off, exact tier still works: %r", exc)
        breaker.failure(exc)

    def _semantic_ok(self, kind: str) -> None:
        breaker = self._semantic_breakers[kind]
        if breaker.state != "closed":
            breaker.success()
            if all(b.state == "closed" for b in self._semantic_breakers.values()):
                self._degraded.pop("semantic", None)

    def _semantic_allowed(self, kind: str) -> bool:
        if self._semantic_breakers[kind].allow():
            return True
        self._count(f"skipped.{kind}_breaker_open")
        return False

    def _ready_embedder(self) -> Embedder | None:
        """The embedder if the semantic tier may run now; retries loading the default model
        (restored file, fixed checksum) after the backoff."""
        if self._embedder is None and not self._retry_default_embedder:
            return None
        if not self._semantic_allowed("embedder"):
            return None
        if self._embedder is None:
            try:
                embedder = default_embedder()
            except EmbedderError as exc:
                self._semantic_failed("embedder", exc)
                return None
            with self._lock:
                self._vectors = self._new_vectors(embedder.dim)
                self._synced_id = 0
                self._embedder = embedder
        return self._embedder

    def _open_storage(self) -> None:
        if self._given_storage is not None:
            self._storage = self._given_storage
        else:
            try:
                self._storage = open_storage(self.path, file_mode=self.file_mode)
            except CorruptDatabaseError as exc:
                self._storage = self._replace_corrupt(exc)
                if self._storage is None:
                    return
            except SchemaVersionError as exc:
                self._fault("schema", exc)
                self._degraded["storage"] = f"off: {exc}"
                return
            except StorageError as exc:
                self._fault("storage_open", exc)
                return
        self._degraded.pop("storage", None)
        self._synced_id = 0
        self._vectors.clear()
        self._reload()

    def _replace_corrupt(self, exc: BaseException) -> Storage | None:
        """Keep the damaged file for the user (renamed), and start a fresh one in its place."""
        self._count("corrupt_database")
        try:
            moved = _move_aside(self.path)
        except OSError as err:
            self._fault("storage_open", StorageError(
                f"{self.path} is damaged ({exc}) and cannot be moved aside: {err}"
            ))
            return None
        logger.error("cacheback: %s is damaged (%s); moved to %s, starting fresh", self.path, exc, moved)
        self._degraded["recovered"] = f"damaged database moved to {moved}"
        try:
            return SQLiteStorage(self.path, file_mode=self.file_mode)
        except CachebackError as err:
            self._fault("storage_open", err)
            return None

    def _reload(self) -> None:
        try:
            assert self._storage is not None
            self._blocked = self._storage.blocked_pairs()
            self._load_saved_index(self._storage)
            self._sync_vectors()
            release_free_memory()  # every stored vector passed through Python objects once
            self._breaker.success()
        except StorageError as exc:
            self._storage_failed(exc)
        except Exception as exc:  # noqa: BLE001 - out of memory in the index, say
            self._semantic_failed("index", exc)

    def _new_vectors(self, dim: int) -> PartitionedVectors:
        return PartitionedVectors(dim, on_promoted=self._promoted)

    def _promoted(self) -> None:
        """The background HNSW build swapped in: keep the graph, drop the build's scratch."""
        self.save_index()
        release_free_memory()

    def _index_meta(self, storage: Storage) -> dict[str, Any]:
        assert self._embedder is not None
        return {"db_uuid": storage.db_uuid(), "model": self._embedder.name}

    def _load_saved_index(self, storage: Storage) -> None:
        """Start from the index file beside the database when it matches SQLite; rebuilding a
        large HNSW graph takes far longer than reading it back."""
        if self._index_path is None or self._embedder is None or self._synced_id:
            return
        remove_stale_temp_files(self._index_path)
        if not os.path.exists(self._index_path):
            return
        model, now = self._embedder.name, self._clock()
        try:
            self._synced_id = self._vectors.adopt(
                self._index_path, self._index_meta(storage),
                lambda upto: storage.vector_partitions(upto, model, now),
            )
            self._count("index.loaded")
        except IndexFileError as exc:
            self._count("index.rebuilt")
            logger.info("cacheback: index file not used, rebuilding from SQLite: %s", exc)

    def save_index(self) -> bool:
        """Write the HNSW index beside the database so the next open need not rebuild it;
        ``False`` when there is nothing worth saving or the save failed (never raises)."""
        storage, path = self._storage, self._index_path
        if storage is None or path is None or self._embedder is None:
            return False
        try:
            meta = {**self._index_meta(storage), "synced_id": self._synced_id}
            self._vectors.save(path, meta)
        except Exception as exc:  # noqa: BLE001 - a failed save only costs a rebuild
            self._count("errors.index_save")
            logger.warning("cacheback: could not save the index file %s: %s", path, exc)
            return False
        return not self._vectors.dirty

    def _clock_went_back(self, seconds: float) -> None:
        self._count("clock.backwards")
        logger.warning(
            "cacheback: the system clock went backwards by %.0f s; TTLs follow the monotonic clock "
            "until it catches up", seconds,
        )

    def _count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counters[name] = self._counters.get(name, 0) + n

    def _fault(self, kind: str, exc: BaseException) -> None:
        """Count a fault, log it when the breaker changes state, and open the breaker."""
        self._count(f"errors.{kind}")
        if self._breaker.state == "closed":
            logger.warning("cacheback: %s fault, serving from upstream until it clears: %s", kind, exc)
        self._breaker.failure(exc)

    def _storage_failed(self, exc: StorageError) -> None:
        if (isinstance(exc, CorruptDatabaseError) and self._given_storage is None
                and isinstance(self._storage, SQLiteStorage)):
            self._close_storage()
            self._storage = self._replace_corrupt(exc)
            if self._storage is not None:
                self._vectors.clear()
                self._synced_id = 0
                self._blocked = set()
            return
        self._fault("storage", exc)
        storage = self._storage
        if isinstance(storage, SQLiteStorage) and self._given_storage is None and storage.file_replaced():
            self._close_storage()  # reopened at the path, after the backoff, by _ready()

    def _ready(self) -> Storage | None:
        """The storage if calls may go to it now; reopens it after an open failure."""
        if self._closed:
            raise CachebackError("the cache is closed")
        if not self._breaker.allow():
            self._count("skipped.breaker_open")
            return None
        if self._storage is None:
            self._open_storage()
        return self._storage

    def _close_storage(self) -> None:
        if self._storage is not None and self._given_storage is None:
            try:
                self._storage.close()
            except Exception:  # noqa: BLE001 - closing a broken store must not raise
                pass
        self._storage = None

    # -- index upkeep --------------------------------------------------------------------

    def _server_search(self) -> bool:
        """The store searches its own vectors (PostgreSQL + pgvector): no in-process index."""
        return bool(getattr(self._storage, "searches_vectors", False))

    def _sync_vectors(self) -> None:
        """Load rows other connections (threads, processes) stored since the last sync."""
        if self._embedder is None or self._storage is None or self._server_search():
            return
        hold: int | None = None  # the first row a put is still indexing: no sync past it
        for batch in self._storage.vectors_after(self._synced_id, self._embedder.name, self._clock()):
            left: list[int] = []
            if batch.vectors.shape[1] != self._embedder.dim:
                self._count("skipped.wrong_dim_vectors", len(batch.ids))
            else:
                with self._lock:
                    storing = set(self._storing)
                if storing:
                    left = [i for i in batch.ids.tolist() if i in storing]
                ids, partitions, vectors = _not_indexed_yet(batch, self._indexed_ahead,
                                                            self._vectors, storing)
                damaged = ~_unit_length(vectors)
                if damaged.any():
                    vectors = vectors.copy()
                    vectors[damaged] = np.nan  # the index skips non-finite rows
                bad = self._vectors.add(ids, partitions, vectors) if len(ids) else 0
                if bad:
                    self._count("skipped.damaged_vectors", bad)
                    logger.warning(
                        "cacheback: %d stored vectors are not finite or not unit length; ignored", bad
                    )
            with self._lock:
                # A row left to its put stays unsynced until the put has indexed it (a put that
                # failed to leaves it to the next sync); rows after it are noted as indexed.
                waiting = [i for i in left if i in self._storing or i not in self._vectors]
                if waiting:
                    hold = min(waiting) if hold is None else min(hold, *waiting)
                if hold is None:
                    self._synced_id = max(self._synced_id, int(batch.ids[-1]))
                else:
                    self._synced_id = max(self._synced_id, hold - 1)
                    self._indexed_ahead.update(i for i in batch.ids.tolist() if i > hold)
        with self._lock:
            if self._indexed_ahead:
                self._indexed_ahead = {i for i in self._indexed_ahead if i > self._synced_id}

    def load_index(self) -> None:
        """Bring the in-memory index up to date now (rows stored since it was last read, its
        deferred upkeep), so that the first lookups do not wait for it: a server calls this
        before it reports ready. Faults are absorbed as in a lookup."""
        if self._ready() is None or self._embedder is None or self._server_search():
            return
        try:
            self._sync_vectors()
            self._vectors.prepare()
        except StorageError as exc:
            self._storage_failed(exc)
        except Exception as exc:  # noqa: BLE001 - out of memory in the index, say
            self._semantic_failed("index", exc)

    def _embed(self, text: str) -> np.ndarray | None:
        if "\ufffd" in text:  # undecodable characters: two such texts may mean anything
            self._count("skipped.semantic_undecodable")
            return None
        embedder = self._ready_embedder()
        if embedder is None:
            return None
        with self._lock:
            recent = self._recent_vectors.get(text)
            if recent is not None and recent[0] is embedder:
                self._recent_vectors.move_to_end(text)
                return recent[1]
        try:
            if not embedder.fits(text):
                self._count("skipped.semantic_truncated")
                return None
            vector = np.asarray(embedder.embed(text), dtype=np.float32)
            if vector.shape != (embedder.dim,) or not _unit_length(vector[None, :])[0]:
                raise EmbedderError(
                    f"the embedder returned a {vector.shape} vector that is not finite and unit length"
                )
        except Exception as exc:  # noqa: BLE001 - a custom embedder may raise anything
            self._semantic_failed("embedder", exc)
            return None
        self._semantic_ok("embedder")
        with self._lock:
            self._recent_vectors[text] = (embedder, vector)
            if len(self._recent_vectors) > _RECENT_VECTORS:
                self._recent_vectors.popitem(last=False)
        return vector

    # -- public API ----------------------------------------------------------------------

    def put(
        self,
        query: str,
        response: str,
        *,
        namespace: str = "default",
        scope: Any = None,
        ttl: float | None = None,
        metadata: dict[str, Any] | None = None,
        payload: Any = None,
        pii: str | Screening | None = None,
        semantic: bool = True,
    ) -> int | None:
        """Store ``response`` as the answer to ``query``; returns the entry id, or ``None`` when
        the store was skipped (storage fault, oversize query, personal data: see ``screen``).
        A same-key entry is replaced. ``semantic=False`` stores for exact lookups only: the
        query (a digest, say) is not embedded."""
        query, qhash = query_and_hash(query)
        response = validate_text(response, "response")
        check_bool(semantic, "semantic")
        screening = pii if isinstance(pii, Screening) else self.screen(query, pii=pii)
        if screening.bypass:
            self._count("skipped.pii")
            return None
        if screening.redacted:
            if not screening.answer_safe(response, payload if isinstance(payload, str)
                                         else json.dumps(payload, default=str, ensure_ascii=False)):
                self._count("pii.unsafe_answer")
                return None
            if not isinstance(pii, Screening):
                query, qhash = query_and_hash(screening.text)
        namespace = check_namespace(namespace)
        key = scope_key(scope)
        ttl = check_ttl(ttl, "ttl") or self.default_ttl
        if metadata is not None and not isinstance(metadata, dict):
            raise InvalidInputError("metadata must be a dict or None")
        check_depth(metadata, "metadata")
        check_depth(payload, "payload")
        try:
            payload_text = (
                payload if payload is None else clean_text(payload) if isinstance(payload, str)
                else json_text(payload)
            )
            json.dumps(metadata, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"payload and metadata must be JSON-serialisable: {exc}") from exc
        if len(query) > self.max_query_chars:
            self._count("skipped.oversize_query")
            return None
        storage = self._ready()
        if storage is None:
            return None
        norm = normalise_query(query)
        vector = self._embed(query) if semantic else None
        now = self._clock()
        entry = NewEntry(
            namespace=namespace, scope_key=key, query_hash=qhash, norm_query=norm,
            query=query, response=response, payload=payload_text, embedding=vector,
            embed_model=self._embedder.name if vector is not None and self._embedder else None,
            created=now, expires=None if ttl is None else now + ttl, metadata=metadata,
        )
        try:
            entry_id = storage.put(entry)
            if vector is not None:
                self._index_stored(entry_id, namespace, key, vector)
            self._after_put(storage, now)
        except StorageError as exc:
            self._count("put_failures")
            self._storage_failed(exc)
            return None
        except Exception as exc:  # noqa: BLE001 - the cache must never break the app
            self._count("errors.internal")
            logger.exception("cacheback: unexpected error in put(), store skipped: %s", exc)
            return None
        self._breaker.success()
        self._count("puts")
        return entry_id

    def _index_stored(self, entry_id: int, namespace: str, key: str, vector: np.ndarray) -> None:
        """Index a row this cache has just stored. Until it is in the index, a concurrent
        lookup's sync that reads it back leaves it to this put rather than indexing it too."""
        with self._lock:
            self._storing.add(entry_id)
        indexed = False
        try:
            indexed = self._index_new(entry_id, namespace, key, vector)
        finally:
            with self._lock:
                self._storing.discard(entry_id)
                # The next row after those synced: nothing else can be missing below it
                # (SQLite commits rows in id order), so the next sync need not read it back.
                # A row past a gap (a concurrent put, another process's row) is noted so
                # that the sync which reads it back does not index it a second time.
                if indexed and entry_id == self._synced_id + 1:
                    self._synced_id = entry_id
                    while self._synced_id + 1 in self._indexed_ahead:
                        self._synced_id += 1
                        self._indexed_ahead.discard(self._synced_id)
                elif indexed and entry_id > self._synced_id:
                    self._indexed_ahead.add(entry_id)

    def _index_new(self, entry_id: int, namespace: str, key: str, vector: np.ndarray) -> bool:
        """Add a stored row to the in-memory index; if that fails (out of memory), the row stays
        in SQLite and a later sync indexes it. True when the row is in the index now."""
        if self._server_search() or not self._semantic_allowed("index"):
            return False
        try:
            self._vectors.add(np.array([entry_id]), [(namespace, key)], vector[None, :])
        except Exception as exc:  # noqa: BLE001 - an index fault must not lose the stored row
            self._semantic_failed("index", exc)
            return False
        self._semantic_ok("index")
        return True

    def _after_put(self, storage: Storage, now: float) -> None:
        self._puts += 1
        if self.max_entries is not None or self.max_bytes is not None:
            for entry_id in storage.evict(self.max_entries, self.max_bytes, self.eviction_policy):
                self._vectors.remove(entry_id)
                self._count("evicted")
        if self._puts % _PURGE_EVERY_PUTS == 0:
            for entry_id in storage.purge_expired(now, 256):
                self._vectors.remove(entry_id)
                self._count("expired_purged")

    def get(
        self,
        query: str,
        *,
        namespace: str = "default",
        scope: Any = None,
        semantic: bool = True,
        accept: Callable[[Candidate], bool] | None = None,
        pii: str | None = None,
    ) -> Hit | None:
        """The cached answer for ``query`` in this namespace and scope, or ``None`` on a miss.
        ``accept`` is a per-call veto on entries, exact and semantic (conversation-aware keys
        use it to refuse answers given in another context). ``pii`` overrides the cache's PII
        mode for this call (see :meth:`screen`)."""
        query, qhash = query_and_hash(query)
        namespace = check_namespace(namespace)
        key = scope_key(scope)
        check_bool(semantic, "semantic")
        check_callable(accept, "accept")
        self._count("gets")
        screening = self.screen(query, pii=pii)
        if screening.bypass:
            self._count("skipped.pii")
            return self._miss()
        if screening.redacted:
            query, qhash = query_and_hash(screening.text)
        if len(query) > self.max_query_chars:
            self._count("skipped.oversize_query")
            return self._miss()
        storage = self._ready()
        if storage is None:
            return self._miss()
        try:
            hit = self._lookup(storage, query, qhash, namespace, key, semantic, accept)
            self._breaker.success()
        except StorageError as exc:
            self._storage_failed(exc)
            return self._miss()
        except Exception as exc:  # noqa: BLE001 - the cache must never break the app
            self._count("errors.internal")
            logger.exception("cacheback: unexpected error in get(), treated as a miss: %s", exc)
            return self._miss()
        if hit is None:
            return self._miss()
        self._count(f"hits.{hit.tier}")
        self._record_hit(hit.entry_id)
        return hit

    def screen(self, query: str, *, pii: str | None = None, context: Any = (),
               instructions: Any = ()) -> Screening:
        """How the PII policy treats ``query`` (and ``context``: earlier turns of the request;
        ``instructions``: its system prompts, scanned for all but names).

        ``pii`` is "bypass" (the default: a request with personal data is neither looked up nor
        stored), "redact" (keyed with typed placeholders such as ``<CARD>``; an answer repeating
        a personal value is not stored) or "off"; None uses the cache's mode. Counted in
        ``stats()`` by kind, never by value. A scanner fault counts as personal data (bypass).
        """
        if not isinstance(query, str):
            raise InvalidInputError(f"query must be a str, not {type(query).__name__}")
        context, instructions = check_texts(context, "context"), check_texts(instructions, "instructions")
        try:
            screening = self._pii.screen(query, pii, context, instructions)
        except CachebackError:
            raise
        except Exception as exc:  # noqa: BLE001 - fail closed: an unscanned text is not stored
            self._count("errors.pii")
            logger.warning("cacheback: PII scan failed (%s); the request bypasses the cache",
                           type(exc).__name__)
            return Screening(pii or self._pii.mode, "bypass", query, ("unscanned",))
        if screening.action != "clean":
            self._count(f"pii.{screening.action}")
            for kind in screening.kinds:
                self._count(f"pii.found.{kind}")
        return screening

    @property
    def pii(self) -> str:
        """The cache's PII mode: "bypass", "redact" or "off"."""
        return self._pii.mode

    def _miss(self) -> Hit | None:
        """Count a miss; returns ``None`` so that lookups can ``return self._miss()``."""
        self._count("misses")
        return None

    def _lookup(
        self, storage: Storage, query: str, qhash: str, namespace: str, key: str, semantic: bool,
        accept: Callable[[Candidate], bool] | None = None,
    ) -> Hit | None:
        now = self._clock()
        entry = storage.get_exact(namespace, key, qhash, now)
        if entry is not None and accept is not None and not accept(Candidate(
            entry_id=entry.id, query=entry.query, response=entry.response, similarity=1.0,
            payload=entry.payload, metadata=entry.metadata, created=entry.created,
            namespace=namespace, scope_key=key,
        )):
            entry = None
        if entry is not None and (qhash, entry.id) not in self._blocked:
            return Hit(
                response=entry.response, similarity=1.0, tier="exact", matched_query=entry.query,
                entry_id=entry.id, query=query, payload=entry.payload, metadata=entry.metadata,
                probability=1.0, namespace=namespace, scope_key=key, query_hash=qhash,
            )
        if not semantic:
            return None
        candidates = self._candidates(
            storage, query, qhash, namespace, key, self.candidates_k, self.matcher.min_similarity()
        )
        if accept is not None:
            candidates = [c for c in candidates if accept(c)]
        if not candidates:
            return None
        decision = self.matcher.decide(query, candidates)
        chosen = decision.accepted
        if chosen is None:
            return None
        return Hit(
            response=chosen.response, similarity=chosen.similarity, tier="semantic",
            matched_query=chosen.query, entry_id=chosen.entry_id, query=query,
            payload=chosen.payload, metadata=chosen.metadata, probability=decision.probability,
            namespace=namespace, scope_key=key, query_hash=qhash,
        )

    def _candidates(
        self, storage: Storage, query: str, qhash: str, namespace: str, key: str, k: int,
        floor: float = -1.0,
    ) -> list[Candidate]:
        """The ``k`` nearest live entries; those below ``floor`` (a similarity the matcher can
        never accept) are not even read from storage."""
        if getattr(storage, "searches_vectors", False):
            return self._server_candidates(storage, query, qhash, namespace, key, k, floor)
        if not self._semantic_allowed("index"):
            return []
        try:
            self._sync_vectors()
        except StorageError:
            raise
        except Exception as exc:  # noqa: BLE001 - out of memory in the index, say
            self._semantic_failed("index", exc)
            return []
        if not self._vectors.count((namespace, key)):
            return []  # nothing to compare with: the embedding would be wasted
        vector = self._embed(query)
        if vector is None:
            return []
        try:
            ids, sims = self._vectors.search(vector, (namespace, key), k + _SEARCH_SLACK)
        except StorageError:
            raise
        except Exception as exc:  # noqa: BLE001 - out of memory in the index, say
            self._semantic_failed("index", exc)
            return []
        self._semantic_ok("index")
        if len(ids) and not self._vectors.exact:
            ids, sims = _rerank(storage.vectors_of(ids.tolist()), ids, vector)
        if len(ids) and sims[-1] < floor:
            keep = sims >= floor
            ids, sims = ids[keep], sims[keep]
        if len(ids) == 0:
            return []
        found: list[Candidate] = []
        pending = list(zip(ids.tolist(), sims.tolist()))
        while pending and len(found) < k:
            # Read only as many rows as are still wanted; the slack is read only for rows
            # that turn out stale or blocked.
            batch, pending = pending[: k - len(found)], pending[k - len(found):]
            live = storage.get_many([entry_id for entry_id, _ in batch], self._clock())
            for entry_id, sim in batch:
                entry = live.get(entry_id)
                if entry is None or (entry.namespace, entry.scope_key) != (namespace, key):
                    self._vectors.remove(entry_id)  # deleted or expired behind the index's back
                    self._count("index.stale_dropped")
                    continue
                if (qhash, entry_id) in self._blocked:
                    continue
                found.append(Candidate(
                    entry_id=entry_id, query=entry.query, response=entry.response,
                    similarity=float(min(sim, 1.0)), payload=entry.payload,
                    metadata=entry.metadata, created=entry.created, namespace=namespace,
                    scope_key=key,
                ))
        return found

    def _server_candidates(
        self, storage: Storage, query: str, qhash: str, namespace: str, key: str, k: int,
        floor: float,
    ) -> list[Candidate]:
        """The store's own nearest-neighbour search (pgvector): one round trip returns the
        entries with their similarities, already filtered by partition, liveness and feedback."""
        vector = self._embed(query)
        if vector is None or self._embedder is None:
            return []
        found: list[Candidate] = []
        for entry, sim in storage.search(namespace, key, self._embedder.name, vector,
                                         k + _SEARCH_SLACK, self._clock(), qhash):
            if sim < floor or (qhash, entry.id) in self._blocked:
                continue
            found.append(Candidate(
                entry_id=entry.id, query=entry.query, response=entry.response,
                similarity=float(min(sim, 1.0)), payload=entry.payload, metadata=entry.metadata,
                created=entry.created, namespace=namespace, scope_key=key,
            ))
            if len(found) == k:
                break
        return found

    def candidates(
        self, query: str, *, namespace: str = "default", scope: Any = None, k: int = 5,
        pii: str | None = None,
    ) -> list[Candidate]:
        """The ``k`` nearest live entries in this namespace and scope, best first, with no match
        decision applied: the raw material of the synthesis tier. Empty on any fault, and for
        a query the PII policy bypasses."""
        query, qhash = query_and_hash(query)
        screening = self._pii.screen(query, pii) if pii != "off" else None
        if screening is not None and screening.bypass:
            return []
        if screening is not None and screening.redacted:
            query, qhash = query_and_hash(screening.text)
        namespace = check_namespace(namespace)
        key = scope_key(scope)
        check_positive_int(k, "k")
        storage = self._ready()
        if storage is None or len(query) > self.max_query_chars:
            return []
        try:
            return self._candidates(storage, query, qhash, namespace, key, k)
        except StorageError as exc:
            self._storage_failed(exc)
            return []

    def _record_hit(self, entry_id: int) -> None:
        with self._lock:
            pending = self._pending_hits.setdefault(entry_id, [0, 0.0])
            pending[0] += 1
            pending[1] = self._clock()
            due = (
                len(self._pending_hits) >= _FLUSH_HITS_EVERY
                or time.monotonic() - self._last_flush > _FLUSH_HITS_SECONDS
            )
        if due:
            self.flush()

    def flush(self) -> None:
        """Write buffered hit counts and last-hit times (kept in memory to keep hits fast)."""
        with self._lock:
            pending, self._pending_hits = self._pending_hits, {}
            self._last_flush = time.monotonic()
        if not pending or self._storage is None:
            return
        try:
            self._storage.record_hits({i: (int(c), t) for i, (c, t) in pending.items()})
        except StorageError as exc:
            self._storage_failed(exc)

    def report(self, hit: Hit, correct: bool = False, note: str | None = None) -> None:
        """Record whether a served hit was right. A wrong pair is never served again, and every
        judgement is kept in SQLite for recalibration."""
        if not isinstance(hit, Hit):
            raise InvalidInputError("report() takes the Hit that get() returned")
        check_bool(correct, "correct")
        if note is not None and not isinstance(note, str):
            raise InvalidInputError("note must be a str or None")
        with self._lock:
            if not correct:
                self._blocked.add((hit.query_hash, hit.entry_id))
        self._count("feedback.correct" if correct else "feedback.wrong")
        storage = self._ready()
        if storage is None:
            return
        try:
            storage.add_feedback(Feedback(
                entry_id=hit.entry_id, namespace=hit.namespace, scope_key=hit.scope_key,
                query=hit.query, query_hash=hit.query_hash, matched_query=hit.matched_query,
                similarity=hit.similarity, probability=hit.probability, tier=hit.tier,
                correct=bool(correct), created=self._clock(), note=note,
            ))
        except StorageError as exc:
            self._storage_failed(exc)

    def delete(self, entry_id: int) -> bool:
        """Remove one entry; ``True`` if it existed."""
        entry_id = check_entry_id(entry_id)
        storage = self._ready()
        if storage is None:
            return False
        try:
            removed = storage.delete([entry_id]) > 0
        except StorageError as exc:
            self._storage_failed(exc)
            return False
        self._vectors.remove(entry_id)
        return removed

    def clear(self, namespace: str | None = None) -> int:
        """Remove every entry, or those of one namespace; returns how many were removed."""
        namespace = check_optional_namespace(namespace)
        storage = self._ready()
        if storage is None:
            return 0
        try:
            removed = storage.clear(namespace)
        except StorageError as exc:
            self._storage_failed(exc)
            return 0
        self._vectors.clear(namespace)
        return removed

    def stats(self) -> dict[str, Any]:
        """Counters, store facts and any degraded mode with its reason."""
        with self._lock:
            counters = dict(self._counters)
        hits = sum(v for k, v in counters.items() if k.startswith("hits."))
        gets = counters.get("gets", 0)
        out: dict[str, Any] = {
            "path": redact_url(self.path),
            "counters": counters,
            "hits": hits,
            "misses": counters.get("misses", 0),
            "hit_rate": hits / gets if gets else 0.0,
            "indexed_vectors": len(self._vectors),
            "index_bytes": self._vectors.nbytes(),
            "index_kind": self._vectors.kind,
            "embedder": self._embedder.name if self._embedder else None,
            "matcher": type(self.matcher).__name__,
            "breaker": self._breaker.state,
            "last_error": self._breaker.last_error,
            "degraded": {**self._degraded, **(self.matcher.status() or {})},
        }
        if self._storage is not None:
            try:
                out.update(self._storage.counts())
            except StorageError as exc:
                out["storage_error"] = str(exc)
        return out

    @property
    def storage(self) -> Storage | None:
        """The underlying store (for tools such as the CLI); ``None`` while it is unavailable."""
        return self._storage

    @property
    def embedder(self) -> Embedder | None:
        return self._embedder

    def close(self) -> None:
        """Flush buffered hit counts and release the database."""
        if self._closed:
            return
        self.flush()
        if self._vectors.dirty:
            self.save_index()
        self._vectors.stop()
        self._close_storage()
        self._closed = True

    def __enter__(self) -> SemanticCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
