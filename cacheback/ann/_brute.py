"""Exact search by a full scan: the reference twin of HNSWIndex, and the faster choice for
small caches."""

from __future__ import annotations

import numpy as np

from ._base import ANNIndex, _ordered_prefix
from ._filter import Admission

__all__ = ["BruteForceIndex"]

_QUERY_BLOCK = 256
_SLOT_BLOCK = 8192


class BruteForceIndex(ANNIndex):
    """Exact k-NN with the same API, file format and semantics as :class:`HNSWIndex`.

    Replacing an id overwrites its slot; deleted slots are reused by later inserts.
    """

    kind = "brute"

    def _insert(self, vectors: np.ndarray, ids: np.ndarray, groups: np.ndarray) -> None:
        self._store(self._claim_slots(ids), vectors, ids, groups)

    def _search(self, query: np.ndarray, k: int,
                admission: Admission) -> tuple[np.ndarray, np.ndarray]:
        return self._exact(query, k, admission)

    def _search_many(self, queries: np.ndarray, k: int,
                     admission: Admission) -> list[tuple[np.ndarray, np.ndarray]]:
        """Unfiltered batches go through one matrix product per block of queries."""
        if admission.restricted or len(queries) == 1:
            return super()._search_many(queries, k, admission)
        out = []
        for lo in range(0, len(queries), _QUERY_BLOCK):
            block = queries[lo:lo + _QUERY_BLOCK]
            scores = np.empty((len(block), self._n), dtype=np.float32)
            for first in range(0, self._n, _SLOT_BLOCK):
                last = min(self._n, first + _SLOT_BLOCK)
                scores[:, first:last] = block @ self._vectors.range_rows(first, last).T
            if self._space.uses_norms:
                scores = self._sqn[None, : self._n] - 2.0 * scores
            else:
                np.negative(scores, out=scores)
            if self._n_deleted:
                scores[:, self._deleted[: self._n]] = np.inf
            for row in scores:
                order = _ordered_prefix(row, k)[:k]
                order = order[np.isfinite(row[order])]
                out.append((order.astype(np.int64), row[order]))
        return out
