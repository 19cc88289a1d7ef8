"""Approximate nearest-neighbour search for the semantic tier, in pure numpy.

:class:`HNSWIndex` (graph search), :class:`ProjectedIndex` (a scan of the items' principal axes,
then an exact re-rank) and :class:`BruteForceIndex` (exact scan, the reference twin) share one
API, :class:`ANNIndex`, and one versioned, checksummed file format::

    index = choose_index(n_expected, dim=384)          # projected scan when small, HNSW when large
    index.add_items(vectors, ids, groups)               # a known id is replaced; groups optional
    labels, distances = index.knn_query(query, k=5, filter=allowed_ids)
    labels, distances = index.knn_query(query, k=5, group=3)   # only items added in group 3
    index.mark_deleted(entry_id)
    index = promote(index)                              # a scan -> HNSW once it has grown
    index.meta = {"data_version": 7}; index.save(path)  # atomic; meta tells a stale file apart
    index = load_index(path, dim=384)                   # IndexFileError -> rebuild from SQLite

Distances follow hnswlib: cosine ``1 - cos``, ip ``1 - dot``, l2 squared Euclidean; labels are
``-1`` and distances ``inf`` where fewer than k items qualify. HNSWIndex keeps cosine vectors as
int16 codes (half the memory; a distance moves by about 1e-5), everything else as float32, so
the scans' distances are exact.
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
from ._projected import ProjectedIndex

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
    "ProjectedIndex",
    "choose_index",
    "load_index",
    "promote",
]
