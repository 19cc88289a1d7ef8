"""Approximate nearest-neighbour search for the semantic tier, in pure numpy.

:class:`HNSWIndex` (graph search) and :class:`BruteForceIndex` (exact scan) share one API,
:class:`ANNIndex`, and one versioned, checksummed file format::

    index = choose_index(n_expected, dim=384)          # brute force when small, HNSW when large
    index.add_items(vectors, ids, groups)               # a known id is replaced; groups optional
    labels, distances = index.knn_query(query, k=5, filter=allowed_ids)
    labels, distances = index.knn_query(query, k=5, group=3)   # only items added in group 3
    index.mark_deleted(entry_id)
    index = promote(index)                              # brute force -> HNSW once it has grown
    index.meta = {"data_version": 7}; index.save(path)  # atomic; meta tells a stale file apart
    index = load_index(path, dim=384)                   # IndexFileError -> rebuild from SQLite

Distances follow hnswlib: cosine ``1 - cos``, ip ``1 - dot``, l2 squared Euclidean; labels are
``-1`` and distances ``inf`` where fewer than k items qualify. HNSWIndex keeps cosine vectors as
int16 codes (half the memory; a distance moves by about 1e-5), everything else as float32.
Indexes lock internally, so one may be shared between threads. Measured numbers:
``benchmarks/ann_bench.py``.
"""

from .._errors import IndexFileError
from ._base import ANNIndex
from ._brute import BruteForceIndex
from ._factory import HNSW_MIN_ITEMS, choose_index, load_index, promote
from ._filter import IdFilter
from ._hnsw import COMPACT_FRACTION, DEFAULT_EF, HNSWIndex
from ._persist import FORMAT_VERSION

__all__ = [
    "ANNIndex",
    "BruteForceIndex",
    "COMPACT_FRACTION",
    "DEFAULT_EF",
    "FORMAT_VERSION",
    "HNSWIndex",
    "HNSW_MIN_ITEMS",
    "IdFilter",
    "IndexFileError",
    "choose_index",
    "load_index",
    "promote",
]
