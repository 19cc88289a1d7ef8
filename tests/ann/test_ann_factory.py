"""Choosing and promoting indexes by size."""

from __future__ import annotations

import numpy as np

from cacheback.ann import (
    HNSW_MIN_ITEMS,
    BruteForceIndex,
    HNSWIndex,
    ProjectedIndex,
    _factory,
    choose_index,
    promote,
)


def test_choose_by_expected_size() -> None:
    assert isinstance(choose_index(HNSW_MIN_ITEMS - 1, 8), ProjectedIndex)
    big = choose_index(HNSW_MIN_ITEMS, 8, space="l2", M=8)
    assert isinstance(big, HNSWIndex) and big.M == 8 and big.space == "l2"
    assert big.capacity >= HNSW_MIN_ITEMS


def test_promote_copies_items_and_meta(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(_factory, "HNSW_MIN_ITEMS", 50)
    small = BruteForceIndex(8)
    vectors = np.random.default_rng(0).standard_normal((60, 8)).astype(np.float32)
    small.add_items(vectors[:40], np.arange(40))
    assert promote(small) is small
    small.add_items(vectors[40:], np.arange(40, 60))
    small.mark_deleted(3)
    small.meta = {"data_version": 2}
    graph = promote(small, M=6)
    assert isinstance(graph, HNSWIndex) and graph.M == 6
    assert graph.meta == {"data_version": 2} and len(graph) == 59 and 3 not in graph
    assert np.array_equal(graph.knn_query(vectors[5], 3)[0], small.knn_query(vectors[5], 3)[0])
    assert promote(graph) is graph
