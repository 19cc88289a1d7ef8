"""HNSWIndex's link buffer: rows are found from the moment they are added, before and after
they are linked, and the graph they end up in is as good as one linked at once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cacheback import InvalidInputError
from cacheback.ann import BruteForceIndex, HNSWIndex

from .conftest import Clustered, make_clustered, recall
from .test_hnsw import assert_sound_graph


def _truth(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int,
           groups: np.ndarray | None = None, group: int | None = None) -> np.ndarray:
    exact = BruteForceIndex(vectors.shape[1], "cosine")
    exact.add_items(vectors, ids, groups)
    return exact.knn_query(queries, k, group=group)[0]


@pytest.fixture()
def buffered(cosine_graph: HNSWIndex, tmp_path: Path) -> HNSWIndex:
    cosine_graph.save(tmp_path / "base.idx")
    index = HNSWIndex.load(tmp_path / "base.idx")
    index.set_buffer(1000)
    return index


def test_rows_are_found_while_buffered_and_after_linking(buffered: HNSWIndex,
                                                         clustered: Clustered) -> None:
    extra = make_clustered(600, 64, n_queries=0, seed=11)
    new_ids = np.arange(-600, 0)
    for i in range(600):  # one at a time, as a cache stores its misses
        buffered.add_items(extra.vectors[i:i + 1], new_ids[i:i + 1])
        if i % 97 == 0:  # read-your-writes: the row just added is its own nearest neighbour
            assert buffered.knn_query(extra.vectors[i], 1)[0][0, 0] == new_ids[i]
    assert buffered.buffered == 600
    vectors = np.concatenate([clustered.vectors, extra.vectors])
    ids = np.concatenate([clustered.ids, new_ids])
    truth = _truth(vectors, ids, clustered.queries, 10)
    queries_near_new = extra.vectors[::5] + 0.01
    truth_new = _truth(vectors, ids, queries_near_new, 10)
    assert recall(buffered.knn_query(clustered.queries, 10)[0], truth) >= 0.95
    assert recall(buffered.knn_query(queries_near_new, 10)[0], truth_new) >= 0.95
    assert buffered.knn_query(extra.vectors[::50], 1)[0][:, 0].tolist() == new_ids[::50].tolist()

    assert buffered.link_buffered(100) == 100 and buffered.buffered == 500
    assert buffered.link_buffered() == 500 and buffered.buffered == 0
    assert recall(buffered.knn_query(clustered.queries, 10)[0], truth) >= 0.95
    assert recall(buffered.knn_query(queries_near_new, 10)[0], truth_new) >= 0.95
    assert buffered.knn_query(extra.vectors[::50], 1)[0][:, 0].tolist() == new_ids[::50].tolist()
    assert_sound_graph(buffered)


def test_group_search_covers_buffered_rows() -> None:
    data = make_clustered(2300, 32, n_queries=100, seed=12)
    groups = (np.arange(2300) % 2).astype(np.int32)
    index = HNSWIndex(32, "cosine", M=12, ef_construction=80, seed=3)
    index.add_items(data.vectors[:2000], data.ids[:2000], groups[:2000])
    index.set_buffer(1000)
    index.set_ef(64)
    for i in range(2000, 2300):
        index.add_items(data.vectors[i:i + 1], data.ids[i:i + 1], groups[i:i + 1])
    assert index.buffered == 300
    queries = np.concatenate([data.queries, data.vectors[2000::3] + 0.01])
    for linked in (False, True):
        if linked:
            index.link_buffered()
        for group in (0, 1):
            found = index.knn_query(queries, 10, group=group)[0]
            truth = _truth(data.vectors, data.ids, queries, 10, groups, group)
            assert recall(found, truth) >= 0.95
            assert set(found[found >= 0].tolist()) <= set(data.ids[groups == group].tolist())


def test_a_full_buffer_links_its_oldest_rows(buffered: HNSWIndex) -> None:
    buffered.set_buffer(10)
    extra = make_clustered(30, 64, n_queries=0, seed=13)
    for i in range(30):
        buffered.add_items(extra.vectors[i:i + 1], [-1 - i])
        assert buffered.buffered == min(i + 1, 10)
    assert set(buffered._buffered) == set(buffered._slot_of.get_many(np.arange(-30, -20)).tolist())
    buffered.set_buffer(0)
    assert buffered.buffered == 0
    assert_sound_graph(buffered)
    with pytest.raises(InvalidInputError):
        buffered.set_buffer(-1)


def test_deleted_and_replaced_buffered_rows(buffered: HNSWIndex) -> None:
    extra = make_clustered(20, 64, n_queries=0, seed=14)
    buffered.add_items(extra.vectors, np.arange(-20, 0))  # under BULK_MIN_ITEMS: buffered
    assert buffered.buffered == 20
    buffered.mark_deleted(-20)
    assert buffered.buffered == 19
    assert -20 not in buffered.knn_query(extra.vectors[0], 5)[0][0].tolist()
    buffered.add_items(extra.vectors[0], [-19])  # a buffered id moves: still one row
    assert buffered.buffered == 19
    assert buffered.knn_query(extra.vectors[0], 1)[0][0, 0] == -19
    buffered.link_buffered()
    assert buffered.knn_query(extra.vectors[0], 1)[0][0, 0] == -19
    assert_sound_graph(buffered)


def test_buffered_rows_survive_a_save(buffered: HNSWIndex, tmp_path: Path) -> None:
    extra = make_clustered(40, 64, n_queries=0, seed=15)
    for i in range(40):
        buffered.add_items(extra.vectors[i:i + 1], [-1 - i])
    buffered.save(tmp_path / "b.idx")
    loaded = HNSWIndex.load(tmp_path / "b.idx")
    assert loaded.buffered == 40
    assert loaded.knn_query(extra.vectors, 1)[0][:, 0].tolist() == list(range(-1, -41, -1))
    loaded.link_buffered()
    assert loaded.knn_query(extra.vectors, 1)[0][:, 0].tolist() == list(range(-1, -41, -1))


def test_an_index_of_only_buffered_rows() -> None:
    data = make_clustered(30, 16, n_queries=5, seed=16)
    index = HNSWIndex(16, "cosine")
    index.set_buffer(100)
    for i in range(30):
        index.add_items(data.vectors[i:i + 1], data.ids[i:i + 1])
    assert index.buffered == 30
    truth = _truth(data.vectors, data.ids, data.queries, 5)
    assert recall(index.knn_query(data.queries, 5)[0], truth) == 1.0
    index.link_buffered()
    assert index.buffered == 0 and index._entry >= 0
    assert recall(index.knn_query(data.queries, 5)[0], truth) >= 0.95
