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

HNSW_MIN_ITEMS = 20_000
"""Below this many items an exact scan answers a query faster than HNSW at recall@1 >= 0.99.

Measured by ``python benchmarks/ann_bench.py --crossover`` (384-d MiniLM vectors, 2 cores).
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
    """``index`` itself, or an HNSW copy of it (same items and meta) once a brute-force index
    has reached ``HNSW_MIN_ITEMS`` items."""
    if isinstance(index, HNSWIndex) or len(index) < HNSW_MIN_ITEMS:
        return index
    vectors, ids = index.items()
    graph = HNSWIndex(index.dim, index.space, max_elements=len(ids), **hnsw_options)
    graph.add_items(vectors, ids)
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
