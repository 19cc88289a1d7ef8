"""The storage interface the cache talks to, so another backend can stand in for SQLite."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Entry", "Feedback", "NewEntry", "Storage", "VectorBatch"]


@dataclass(frozen=True)
class NewEntry:
    """What the cache hands the store to write; ``expires`` is an absolute time or ``None``."""

    namespace: str
    scope_key: str
    query_hash: str
    norm_query: str
    query: str
    response: str
    payload: str | None
    embedding: np.ndarray | None
    embed_model: str | None
    created: float
    expires: float | None
    metadata: dict[str, Any] | None


@dataclass(frozen=True)
class Entry:
    """A stored entry as read back; the embedding is not loaded on the read path."""

    id: int
    namespace: str
    scope_key: str
    query_hash: str
    query: str
    response: str
    payload: str | None
    created: float
    last_hit: float
    hit_count: int
    expires: float | None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VectorBatch:
    """Rows for (re)building the ANN index: ids, their partitions and float32 vectors."""

    ids: np.ndarray
    partitions: list[tuple[str, str]]
    vectors: np.ndarray


@dataclass(frozen=True)
class Feedback:
    """A judgement that serving ``entry_id`` for a query was right or wrong."""

    entry_id: int
    namespace: str
    scope_key: str
    query: str
    query_hash: str
    matched_query: str
    similarity: float
    probability: float | None
    tier: str
    correct: bool
    created: float
    note: str | None = None


class Storage(ABC):
    """The source of truth. Every method may raise :class:`cacheback.StorageError`."""

    #: True for a backend that searches its vectors itself (:meth:`search`, e.g. pgvector on a
    #: database server): the cache then keeps no in-process index and asks the store instead.
    searches_vectors: bool = False

    def search(
        self, namespace: str, scope_key: str, model: str, vector: np.ndarray, k: int, now: float,
        query_hash: str | None = None,
    ) -> list[tuple[Entry, float]]:
        """The ``k`` live entries of (namespace, scope_key) embedded by ``model`` nearest to
        ``vector`` by cosine similarity, best first, as (entry, similarity); pairs reported wrong
        for ``query_hash`` left out. Only backends with ``searches_vectors`` implement it."""
        raise NotImplementedError(f"{type(self).__name__} does not search vectors itself")

    @abstractmethod
    def put(self, entry: NewEntry) -> int:
        """Insert or replace the entry with the same (namespace, scope_key, query_hash)."""

    @abstractmethod
    def get_exact(self, namespace: str, scope_key: str, query_hash: str, now: float) -> Entry | None:
        """The live entry stored for exactly this key, if any."""

    @abstractmethod
    def get_many(self, ids: Sequence[int], now: float) -> dict[int, Entry]:
        """Live entries among ``ids``; expired and deleted ones are absent from the result."""

    @abstractmethod
    def vectors_after(self, after_id: int, model: str, now: float) -> Iterator[VectorBatch]:
        """Live embedded rows with ``id > after_id`` made by ``model``, in batches."""

    @abstractmethod
    def vectors_of(self, ids: Sequence[int]) -> dict[int, np.ndarray]:
        """The stored float32 embeddings of ``ids`` (rows without one are absent): the exact
        vectors an approximate index's candidates are re-ranked by."""

    @abstractmethod
    def vector_partitions(self, upto_id: int, model: str, now: float) -> dict[int, tuple[str, str]]:
        """Partition of every live row embedded by ``model`` with ``id <= upto_id`` (no vectors):
        what a saved index is checked against before it is trusted."""

    @abstractmethod
    def db_uuid(self) -> str:
        """A random id fixed when the database was created; a copy keeps it, a new file does not."""

    @abstractmethod
    def record_hits(self, hits: dict[int, tuple[int, float]]) -> None:
        """Add hit counts and set last-hit times: ``{id: (count, last_hit)}``."""

    @abstractmethod
    def delete(self, ids: Iterable[int]) -> int:
        """Delete entries by id; returns how many existed."""

    @abstractmethod
    def clear(self, namespace: str | None = None) -> int:
        """Delete every entry, or those of one namespace; returns how many."""

    @abstractmethod
    def purge_expired(self, now: float, limit: int) -> list[int]:
        """Delete up to ``limit`` expired entries; returns their ids."""

    @abstractmethod
    def evict(self, max_entries: int | None, max_bytes: int | None, policy: str) -> list[int]:
        """Delete entries, in small batches, until both limits hold; returns the ids removed."""

    @abstractmethod
    def add_feedback(self, feedback: Feedback) -> None:
        """Keep a judgement for future calibration; a wrong one blocks the pair."""

    @abstractmethod
    def blocked_pairs(self) -> set[tuple[str, int]]:
        """(query_hash, entry_id) pairs reported wrong, never to be served again."""

    @abstractmethod
    def counts(self) -> dict[str, Any]:
        """Entry count, payload bytes, file size and other store facts for ``stats()``."""

    @abstractmethod
    def close(self) -> None:
        """Release connections; the object must not be used afterwards."""

    # -- for tools (the CLI): whole-store reads and upkeep; backends override what they have --

    #: Where the store is, for messages: a file path, or a URL without its password.
    path: str = ""

    def iter_entries(self, namespace: str | None = None) -> Iterator[dict[str, Any]]:
        """Every row as a dict (embedding excluded), oldest first: for export and stats."""
        raise NotImplementedError(f"{type(self).__name__} cannot list its entries")

    def integrity_check(self) -> list[str]:
        """The store's own consistency check: ``["ok"]`` when sound, else the problems."""
        return ["ok"]

    def checkpoint(self) -> None:
        """Fold any write-ahead log back into the store (after bulk changes); optional."""
        return None

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """Group writes made inside into one transaction where the backend supports it."""
        yield None
