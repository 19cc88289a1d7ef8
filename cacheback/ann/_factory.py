"""Which index a cache of a given size should use, and loading either kind from disk."""

from __future__ import annotations

import os
from typing import Any

from .._errors import IndexFileError
from ._base import ANNIndex
from ._brute import BruteForceIndex
from ._hnsw import HNSWIndex
from ._persist import read_index_file
from ._projected import ProjectedIndex

__all__ = ["HNSW_MIN_ITEMS", "choose_index", "load_index", "promote"]

HNSW_MIN_ITEMS = 20_000
"""From this many items an HNSW graph; below it a :class:`ProjectedIndex` (itself an exact scan
under ``PROJECT_MIN_ITEMS``). Measured with ``OPENBLAS_NUM_THREADS=1 python
benchmarks/ann_bench.py --sizes --synthetic 0 --crossover`` on 384-d MiniLM vectors (2 vCPUs),
best p50 of 3 rounds, exact / projected / HNSW at the smallest ef giving recall@1 >= 0.99:
5k 0.52 / 0.25 / 0.44 ms, 10k 0.86 / 0.37 / 0.48, 20k 1.87 / 0.81 / 1.41, 30k 2.69 / 1.05 /
0.96, 40k 3.93 / 1.45 / 0.80; the projected scan's recall@1 was 0.997-1.0 throughout. Inside
the cache the graph costs more than here (int8 codes, ef 64, a re-rank from SQLite), and the
projected index keeps float32 vectors (1.8 KB an item against the graph's 0.6 KB), so the
switch comes at 20k rather than at the 30k tie.
"""

_KINDS: dict[str, type[ANNIndex]] = {"hnsw": HNSWIndex, "projected": ProjectedIndex,
                                     "brute": BruteForceIndex}


def choose_index(n_expected: int, dim: int, space: str = "cosine",
                 **hnsw_options: Any) -> ANNIndex:
    """An empty index suited to about ``n_expected`` items: HNSW from ``HNSW_MIN_ITEMS`` up,
    a projected scan below."""
    capacity = max(1024, int(n_expected))
    if n_expected >= HNSW_MIN_ITEMS:
        return HNSWIndex(dim, space, max_elements=capacity, **hnsw_options)
    return ProjectedIndex(dim, space, max_elements=capacity)


def promote(index: ANNIndex, **hnsw_options: Any) -> ANNIndex:
    """``index`` itself, or an HNSW copy of it (same items, groups and meta) once a scanning
    index has reached ``HNSW_MIN_ITEMS`` items."""
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
