"""Which index a cache of a given size should use, and loading either kind from disk."""

from __future__ import annotations

import os
from typing import Any

from .._errors import IndexFileError
from ._base import ANNIndex
from ._brute import BruteForceIndex
from ._hnsw import HNSWIndex
from ._persist import read_index_file

__all__ = ["HNSW_MIN_ITEMS", "choose_index", "load_index", "promote"]

HNSW_MIN_ITEMS = 10_000
"""From this many items HNSW (at the smallest ef giving recall@1 >= 0.99) answers faster than an
exact scan. Measured with ``OPENBLAS_NUM_THREADS=1 python benchmarks/ann_bench.py --sizes
--synthetic 0 --crossover`` on 384-d MiniLM vectors (2 vCPUs, load ~2), best p50 of 3 rounds:
5k items 0.41 ms exact vs 0.39 ms HNSW (a tie), 10k 0.73 vs 0.41, 20k 1.41 vs 0.74, 40k 3.48 vs
0.74. With threaded BLAS on a busy machine the exact scan is slower still (8 ms stalls from 5k).
"""

_KINDS: dict[str, type[ANNIndex]] = {"hnsw": HNSWIndex, "brute": BruteForceIndex}


def choose_index(n_expected: int, dim: int, space: str = "cosine",
                 **hnsw_options: Any) -> ANNIndex:
    """An empty index suited to about ``n_expected`` items: HNSW from ``HNSW_MIN_ITEMS`` up."""
    capacity = max(1024, int(n_expected))
    if n_expected >= HNSW_MIN_ITEMS:
        return HNSWIndex(dim, space, max_elements=capacity, **hnsw_options)
    return BruteForceIndex(dim, space, max_elements=capacity)


def promote(index: ANNIndex, **hnsw_options: Any) -> ANNIndex:
    """``index`` itself, or an HNSW copy of it (same items, groups and meta) once a
    brute-force index has reached ``HNSW_MIN_ITEMS`` items."""
    if isinstance(index, HNSWIndex) or len(index) < HNSW_MIN_ITEMS:
        return index
    vectors, ids = index.items()
    graph = HNSWIndex(index.dim, index.space, max_elements=len(ids), **hnsw_options)
    graph.add_items(vectors, ids, index.groups_of(ids))
    graph.meta = dict(index.meta)
    return graph


def load_index(path: str | os.PathLike[str], dim: int | None = None,
               space: str | None = None) -> ANNIndex:
    """Load a saved index of either kind; :class:`IndexFileError` when it is unusable."""
    header, arrays = read_index_file(path)
    cls = _KINDS.get(str(header.get("kind")))
    if cls is None:
        raise IndexFileError(f"{path} holds an unknown index kind {header.get('kind')!r}")
    return cls._from_file(header, arrays, dim, space, str(path))
