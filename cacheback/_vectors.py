"""The in-memory candidate finder: one ANN index over every vector, searched per partition.

SQLite holds the truth; this is rebuilt from it (or from a saved index file checked against it)
and kept in step by id. The index starts as an exact scan and is promoted to HNSW in a
background thread once it holds ``hnsw_min_items`` vectors, the size at which HNSW measured
faster; writes made during the build are replayed onto the graph before it is swapped in.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import IndexFileError
from .ann import HNSW_MIN_ITEMS, ANNIndex, BruteForceIndex, HNSWIndex, load_index

__all__ = ["PartitionedVectors", "remove_stale_temp_files"]

logger = logging.getLogger("cacheback")

Partition = tuple[str, str]
#: Partitions up to this size are searched through an explicit id list (an exact scan of
#: just those rows); larger ones share the index's graph search with a membership predicate.
_EXPLICIT_FILTER_MAX = 4096
_TEMP_FILE_MAX_AGE = 600.0


def remove_stale_temp_files(path: str | os.PathLike[str]) -> int:
    """Delete temporary files a save killed mid-write left beside ``path``; returns how many."""
    target = Path(path)
    removed = 0
    cutoff = time.time() - _TEMP_FILE_MAX_AGE
    for temp in target.parent.glob(f".{target.name}.*.tmp"):
        try:
            if temp.stat().st_mtime < cutoff:
                temp.unlink()
                removed += 1
        except OSError:
            continue
    return removed


class PartitionedVectors:
    """Nearest-neighbour search restricted to one (namespace, scope) partition at a time."""

    def __init__(
        self,
        dim: int,
        *,
        hnsw_min_items: int = HNSW_MIN_ITEMS,
        on_promoted: Callable[[], None] | None = None,
    ) -> None:
        self.dim = dim
        self.hnsw_min_items = hnsw_min_items
        self.on_promoted = on_promoted
        self.dirty = False
        self._lock = threading.RLock()
        self._index: ANNIndex = BruteForceIndex(max(dim, 1))
        self._where: dict[int, Partition] = {}
        self._members: dict[Partition, set[int]] = {}
        self._journal: list[tuple[np.ndarray, np.ndarray | None]] | None = None
        self._builder: threading.Thread | None = None
        self._generation = 0

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._where

    @property
    def kind(self) -> str:
        return self._index.kind

    def add(self, ids: np.ndarray, partitions: list[Partition], vectors: np.ndarray) -> int:
        """Add or replace rows; rows whose vector is not finite are skipped and counted."""
        ok = np.isfinite(vectors).all(axis=1)
        keep_ids = np.asarray(ids, dtype=np.int64)[ok]
        if keep_ids.size:
            keep_vectors = np.ascontiguousarray(vectors[ok], dtype=np.float32)
            with self._lock:
                self._index.add_items(keep_vectors, keep_ids)
                for entry_id, part in zip(keep_ids.tolist(), (p for p, g in zip(partitions, ok) if g)):
                    old = self._where.get(entry_id)
                    if old is not None and old != part:
                        self._members[old].discard(entry_id)
                    self._members.setdefault(part, set()).add(entry_id)
                    self._where[entry_id] = part
                if self._journal is not None:
                    self._journal.append((keep_ids, keep_vectors))
                self.dirty = True
                self._maybe_promote()
        return int((~ok).sum())

    def remove(self, entry_id: int) -> None:
        with self._lock:
            part = self._where.pop(entry_id, None)
            if part is None:
                return
            self._members[part].discard(entry_id)
            if not self._members[part]:
                del self._members[part]
            self._index.mark_deleted(entry_id)
            if self._journal is not None:
                self._journal.append((np.array([entry_id], dtype=np.int64), None))
            self.dirty = True

    def clear(self, namespace: str | None = None) -> None:
        with self._lock:
            if namespace is None:
                self._generation += 1
                self._journal = None
                self._builder = None
                self._index = BruteForceIndex(max(self.dim, 1))
                self._where.clear()
                self._members.clear()
                self.dirty = True
                return
            doomed = [i for p, ids in self._members.items() if p[0] == namespace for i in ids]
            for entry_id in doomed:
                self.remove(entry_id)

    def search(self, query: np.ndarray, partition: Partition, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Ids and cosine similarities of the ``k`` nearest rows in ``partition``, best first."""
        with self._lock:
            members = self._members.get(partition)
            if not members:
                return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
            flt: Any
            if len(members) == len(self._where):
                flt = None
            elif len(members) <= _EXPLICIT_FILTER_MAX:
                flt = np.fromiter(members, dtype=np.int64, count=len(members))
            else:
                where = self._where
                flt = lambda entry_id: where.get(entry_id) == partition  # noqa: E731
            labels, distances = self._index.knn_query(query, min(k, len(members)), filter=flt)
        found = labels[0] >= 0
        return labels[0][found], (1.0 - distances[0][found]).astype(np.float32)

    def nbytes(self) -> int:
        """Bytes of the indexed vectors (the graph's links come on top for HNSW)."""
        return len(self._where) * self.dim * 4

    # -- HNSW promotion ------------------------------------------------------------------

    def _maybe_promote(self) -> None:
        if (
            self._builder is None
            and not isinstance(self._index, HNSWIndex)
            and len(self._where) >= self.hnsw_min_items
        ):
            vectors, ids = self._index.items()
            self._journal = []
            self._builder = threading.Thread(
                target=self._build, args=(vectors, ids, self._generation),
                name="cacheback-hnsw-build", daemon=True,
            )
            self._builder.start()

    def _build(self, vectors: np.ndarray, ids: np.ndarray, generation: int) -> None:
        try:
            graph = HNSWIndex(self.dim, "cosine", max_elements=max(2 * len(ids), 1024))
            graph.add_items(vectors, ids)
            with self._lock:
                if generation != self._generation or self._journal is None:
                    return
                for op_ids, op_vectors in self._journal:
                    if op_vectors is None:
                        for entry_id in op_ids.tolist():
                            if entry_id in graph:
                                graph.mark_deleted(entry_id)
                    else:
                        graph.add_items(op_vectors, op_ids)
                self._index, self._journal, self._builder = graph, None, None
                self.dirty = True
        except Exception as exc:  # noqa: BLE001 - the exact scan keeps serving
            logger.warning("cacheback: HNSW build failed, exact search continues: %s", exc)
            with self._lock:
                if generation == self._generation:
                    self._journal = None
                    self.hnsw_min_items = max(self.hnsw_min_items, 2 * len(self._where))
                    self._builder = None
            return
        if self.on_promoted is not None:
            self.on_promoted()

    def wait_for_build(self, timeout: float | None = None) -> bool:
        """Block until a background HNSW build has finished; ``True`` if none is running."""
        builder = self._builder
        if builder is not None:
            builder.join(timeout)
        return self._builder is None

    # -- persistence ---------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str], meta: dict[str, Any]) -> None:
        """Write the index beside the database (atomic); only an HNSW graph is worth keeping."""
        with self._lock:
            if not isinstance(self._index, HNSWIndex) or self._journal is not None:
                return
            self._index.meta = dict(meta)
            self._index.save(path)
            self.dirty = False

    def adopt(
        self, path: str | os.PathLike[str], meta: dict[str, Any], rows: Callable[[int], dict[int, Partition]]
    ) -> int:
        """Load a saved index if its meta matches ``meta`` (database, model) and its ids agree
        with SQLite; returns the last row id it covers. Raises :class:`IndexFileError` otherwise,
        and the caller rebuilds from SQLite."""
        index = load_index(path, dim=self.dim)
        saved = index.meta
        for key, value in meta.items():
            if saved.get(key) != value:
                raise IndexFileError(f"{path} was built for {key}={saved.get(key)!r}, not {value!r}")
        synced = int(saved.get("synced_id", -1))
        if synced < 0:
            raise IndexFileError(f"{path} does not say which rows it covers")
        partitions = rows(synced)
        indexed = set(index.ids().tolist())
        if set(partitions) - indexed:
            raise IndexFileError(f"{path} lacks rows that SQLite holds")
        for entry_id in indexed - set(partitions):
            index.mark_deleted(entry_id)
        with self._lock:
            self._generation += 1
            self._journal, self._builder = None, None
            self._index = index
            self._where = dict(partitions)
            self._members = {}
            for entry_id, part in partitions.items():
                self._members.setdefault(part, set()).add(entry_id)
            self.dirty = False
        return synced
