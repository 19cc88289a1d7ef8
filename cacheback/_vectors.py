"""The in-memory candidate finder: vectors grouped by (namespace, scope) partition.

SQLite holds the truth; this is rebuilt from it on open and kept in step by id. Small partitions
are searched exactly; large ones through an ANN index when one is configured.
"""

from __future__ import annotations

import threading

import numpy as np

__all__ = ["PartitionedVectors"]


class _Partition:
    __slots__ = ("ids", "vectors", "size", "slot_of")

    def __init__(self, dim: int) -> None:
        self.ids = np.empty(0, dtype=np.int64)
        self.vectors = np.empty((0, dim), dtype=np.float32)
        self.size = 0
        self.slot_of: dict[int, int] = {}

    def add(self, entry_id: int, vector: np.ndarray) -> None:
        slot = self.slot_of.get(entry_id)
        if slot is None:
            if self.size == len(self.ids):
                capacity = max(16, 2 * self.size)
                self.ids = np.resize(self.ids, capacity)
                grown = np.zeros((capacity, self.vectors.shape[1]), dtype=np.float32)
                grown[: self.size] = self.vectors[: self.size]
                self.vectors = grown
            slot, self.size = self.size, self.size + 1
            self.slot_of[entry_id] = slot
            self.ids[slot] = entry_id
        self.vectors[slot] = vector

    def remove(self, entry_id: int) -> None:
        slot = self.slot_of.pop(entry_id, None)
        if slot is None:
            return
        last = self.size - 1
        if slot != last:
            moved = int(self.ids[last])
            self.ids[slot] = moved
            self.vectors[slot] = self.vectors[last]
            self.slot_of[moved] = slot
        self.size = last

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        sims = self.vectors[: self.size] @ query
        if k < self.size:
            top = np.argpartition(-sims, k)[:k]
        else:
            top = np.arange(self.size)
        top = top[np.argsort(-sims[top], kind="stable")]
        return self.ids[top], sims[top]


class PartitionedVectors:
    """Exact nearest-neighbour search within one (namespace, scope) partition at a time."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._lock = threading.RLock()
        self._partitions: dict[tuple[str, str], _Partition] = {}
        self._where: dict[int, tuple[str, str]] = {}

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._where

    def add(self, ids: np.ndarray, partitions: list[tuple[str, str]], vectors: np.ndarray) -> int:
        """Add or replace rows; rows whose vector is not finite are skipped and counted."""
        finite = np.isfinite(vectors).all(axis=1)
        with self._lock:
            for entry_id, part, vector, ok in zip(ids.tolist(), partitions, vectors, finite):
                if not ok:
                    continue
                old = self._where.get(entry_id)
                if old is not None and old != part:
                    self._partitions[old].remove(entry_id)
                self._partitions.setdefault(part, _Partition(self.dim)).add(entry_id, vector)
                self._where[entry_id] = part
        return int((~finite).sum())

    def remove(self, entry_id: int) -> None:
        with self._lock:
            part = self._where.pop(entry_id, None)
            if part is not None:
                self._partitions[part].remove(entry_id)

    def clear(self, namespace: str | None = None) -> None:
        with self._lock:
            if namespace is None:
                self._partitions.clear()
                self._where.clear()
                return
            for part in [p for p in self._partitions if p[0] == namespace]:
                for entry_id in self._partitions.pop(part).slot_of:
                    self._where.pop(entry_id, None)

    def search(
        self, query: np.ndarray, partition: tuple[str, str], k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Ids and cosine similarities of the ``k`` nearest rows in ``partition``, best first."""
        with self._lock:
            part = self._partitions.get(partition)
            if part is None or part.size == 0:
                return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
            return part.search(query, k)

    def nbytes(self) -> int:
        return sum(p.vectors.nbytes + p.ids.nbytes for p in self._partitions.values())
