"""HNSWIndex: recall against the exact twin, and the graph staying sound through every edit."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from cacheback import InvalidInputError
from cacheback.ann import BruteForceIndex, HNSWIndex

from .conftest import Clustered, code_tolerance, make_clustered, recall


def _copy(index: HNSWIndex, tmp_path: Path) -> HNSWIndex:
    index.save(tmp_path / "copy.idx")
    return HNSWIndex.load(tmp_path / "copy.idx")


def _truth(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int,
           space: str = "cosine") -> np.ndarray:
    exact = BruteForceIndex(vectors.shape[1], space)
    exact.add_items(vectors, ids)
    return exact.knn_query(queries, k)[0]


def assert_sound_graph(index: HNSWIndex) -> None:
    """Every list within its width, no self links, no repeats, no link to an unused slot, and
    every upper-level member high enough."""
    n = index._n
    for lev, layer in enumerate(index._layers):
        members = layer.present_slots(n)
        assert (index._level[members] >= lev).all()
        for slot in members.tolist():
            links = layer.neighbours(slot)
            assert len(links) <= layer.width
            assert slot not in links
            assert len(set(links.tolist())) == len(links)
            assert ((links >= 0) & (links < n)).all()


def test_recall_at_10_on_clustered_data(cosine_graph: HNSWIndex, cosine_truth: BruteForceIndex,
                                        clustered: Clustered) -> None:
    cosine_graph.set_ef(64)
    found, dist = cosine_graph.knn_query(clustered.queries, 10)
    truth, truth_dist = cosine_truth.knn_query(clustered.queries, 10)
    assert recall(found, truth) >= 0.95
    assert np.all(np.diff(dist, axis=1) >= 0)
    assert np.allclose(dist[:, 0], truth_dist[:, 0], atol=code_tolerance(64)) or recall(found, truth) < 1
    assert_sound_graph(cosine_graph)


def test_cosine_vectors_are_int16_codes_and_l2_vectors_exact(clustered: Clustered) -> None:
    vectors, ids = clustered.vectors[:300], clustered.ids[:300]
    cosine, l2 = HNSWIndex(64, "cosine"), HNSWIndex(64, "l2")
    for index in (cosine, l2):
        index.add_items(vectors, ids)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    stored, stored_ids = cosine.items()
    assert np.array_equal(stored_ids, ids) and stored.dtype == np.float32
    assert np.abs(stored - unit).max() <= 0.5 / 32767 + 1e-7
    assert np.array_equal(l2.items()[0], vectors)
    assert cosine.memory()["vectors"] < 0.55 * l2.memory()["vectors"]


def test_a_wider_search_is_never_worse(cosine_graph: HNSWIndex, cosine_truth: BruteForceIndex,
                                       clustered: Clustered) -> None:
    truth = cosine_truth.knn_query(clustered.queries, 10)[0]
    scores = []
    for ef in (10, 40, 160):
        cosine_graph.set_ef(ef)
        scores.append(recall(cosine_graph.knn_query(clustered.queries, 10)[0], truth))
    cosine_graph.set_ef(64)
    assert scores[0] <= scores[1] <= scores[2]
    assert scores[2] >= 0.99


@pytest.mark.parametrize(("space", "batch"), [("l2", 25), ("ip", 3000), ("cosine", 1)])
def test_recall_in_every_space_and_insert_path(space: str, batch: int) -> None:
    """Small batches take the one-at-a-time insert, large ones the chunked bulk path."""
    n = 600 if batch == 1 else 1000 if batch < 100 else 3000
    data = make_clustered(n, 32, n_queries=100, seed=3)
    index = HNSWIndex(32, space, M=12, ef_construction=80, seed=2)
    for lo in range(0, n, batch):
        index.add_items(data.vectors[lo:lo + batch], data.ids[lo:lo + batch])
    index.set_ef(64)
    truth = _truth(data.vectors, data.ids, data.queries, 10, space)
    assert recall(index.knn_query(data.queries, 10)[0], truth) >= 0.95
    assert_sound_graph(index)


def test_recall_after_deletions_and_reinsertions(cosine_graph: HNSWIndex,
                                                 clustered: Clustered, tmp_path: Path) -> None:
    index = _copy(cosine_graph, tmp_path)
    rng = np.random.default_rng(5)
    gone = rng.choice(clustered.ids, size=400, replace=False)
    for label in gone.tolist():
        index.mark_deleted(label)
    assert len(index) == 4600 and index.deleted_count == 400
    keep = ~np.isin(clustered.ids, gone)
    found = index.knn_query(clustered.queries, 10)[0]
    assert not np.isin(found, gone).any()
    truth = _truth(clustered.vectors[keep], clustered.ids[keep], clustered.queries, 10)
    assert recall(found, truth) >= 0.95

    moved = make_clustered(400, 64, seed=8).vectors  # the same ids come back elsewhere
    index.add_items(moved, gone)
    assert len(index) == 5000 and index.deleted_count == 0 and index._n == 5000
    position = {label: i for i, label in enumerate(clustered.ids.tolist())}
    vectors = clustered.vectors.copy()
    vectors[[position[label] for label in gone.tolist()]] = moved
    truth = _truth(vectors, clustered.ids, clustered.queries, 10)
    assert recall(index.knn_query(clustered.queries, 10)[0], truth) >= 0.95
    assert_sound_graph(index)


def test_many_tombstones_trigger_a_compaction(cosine_graph: HNSWIndex, clustered: Clustered,
                                              tmp_path: Path) -> None:
    index = _copy(cosine_graph, tmp_path)
    gone = clustered.ids[:1500]
    for label in gone.tolist():
        index.mark_deleted(label)
    extra = make_clustered(10, 64, seed=9).vectors
    index.add_items(extra, np.arange(-10, 0))
    assert index.deleted_count == 0
    assert index._n == len(index) == 3510
    vectors = np.concatenate([clustered.vectors[1500:], extra])
    ids = np.concatenate([clustered.ids[1500:], np.arange(-10, 0)])
    truth = _truth(vectors, ids, clustered.queries, 10)
    assert recall(index.knn_query(clustered.queries, 10)[0], truth) >= 0.95
    assert_sound_graph(index)


def test_replacing_an_id_moves_it(cosine_graph: HNSWIndex, clustered: Clustered,
                                  tmp_path: Path) -> None:
    index = _copy(cosine_graph, tmp_path)
    label, old = int(clustered.ids[17]), clustered.vectors[17]
    target = clustered.queries[3]
    index.add_items(target, [label])
    assert len(index) == 5000
    labels, dist = index.knn_query(target, 1)
    assert labels[0, 0] == label and dist[0, 0] < code_tolerance(64)
    labels, _ = index.knn_query(old, 1)
    assert labels[0, 0] != label
    assert_sound_graph(index)


def test_replacing_the_entry_point_keeps_search_working(cosine_graph: HNSWIndex,
                                                        clustered: Clustered,
                                                        tmp_path: Path) -> None:
    index = _copy(cosine_graph, tmp_path)
    entry = index._entry
    label = int(index._labels[entry])
    index.add_items(-clustered.vectors[entry], [label])
    vectors = clustered.vectors.copy()
    vectors[entry] = -vectors[entry]
    truth = _truth(vectors, clustered.ids, clustered.queries, 10)
    assert recall(index.knn_query(clustered.queries, 10)[0], truth) >= 0.95
    assert index.knn_query(-clustered.vectors[entry], 1)[0][0, 0] == label
    assert_sound_graph(index)


def test_repeated_id_in_one_call_keeps_the_last_vector() -> None:
    index = HNSWIndex(4, "l2")
    index.add_items(np.eye(4, dtype=np.float32)[[0, 1, 2]], [7, 8, 7])
    assert len(index) == 2
    labels, dist = index.knn_query(np.eye(4, dtype=np.float32)[2], 1)
    assert labels[0, 0] == 7 and dist[0, 0] == pytest.approx(0.0)


def test_fewer_items_than_k_are_padded() -> None:
    index = HNSWIndex(3, "cosine")
    labels, dist = index.knn_query(np.ones(3), 2)
    assert labels.tolist() == [[-1, -1]] and np.isinf(dist).all()
    index.add_items(np.eye(3, dtype=np.float32), [1, 2, 3])
    labels, dist = index.knn_query(np.array([1.0, 0.1, 0.0]), 5)
    assert labels[0, :3].tolist() == [1, 2, 3] and labels[0, 3:].tolist() == [-1, -1]
    assert np.isfinite(dist[0, :3]).all() and np.isinf(dist[0, 3:]).all()


def test_bookkeeping() -> None:
    index = HNSWIndex(2, "l2", max_elements=2)
    index.add_items(np.arange(10, dtype=np.float32).reshape(5, 2), np.arange(5) * 10)
    assert index.capacity >= 5 and len(index) == 5
    assert 30 in index and 31 not in index and "30" not in index
    index.mark_deleted(30)
    assert 30 not in index and sorted(index.ids().tolist()) == [0, 10, 20, 40]
    with pytest.raises(KeyError):
        index.mark_deleted(30)
    index.resize(100)
    assert index.capacity == 100
    with pytest.raises(InvalidInputError):
        index.resize(2)
    with pytest.raises(InvalidInputError):
        index.set_ef(0)
    with pytest.raises(InvalidInputError):
        index.add_items(np.zeros((2, 3)), [1, 2])
    with pytest.raises(InvalidInputError):
        index.add_items(np.zeros((2, 2)), [1])
    with pytest.raises(InvalidInputError):
        index.add_items(np.zeros((1, 2)), [1.5])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError):
        index.knn_query(np.array([np.nan, 0.0]), 1)
    with pytest.raises(InvalidInputError):
        index.knn_query(np.zeros(2), 0)


def test_same_seed_builds_the_same_graph(clustered: Clustered) -> None:
    graphs = []
    for _ in range(2):
        index = HNSWIndex(64, "cosine", M=8, ef_construction=40, seed=11)
        index.add_items(clustered.vectors[:800], clustered.ids[:800])
        graphs.append(index)
    a, b = graphs
    assert a._entry == b._entry and len(a._layers) == len(b._layers)
    for la, lb in zip(a._layers, b._layers):
        assert np.array_equal(la.counts, lb.counts) and np.array_equal(la.links, lb.links)


def test_concurrent_queries_and_inserts(clustered: Clustered) -> None:
    index = HNSWIndex(64, "cosine", M=8, ef_construction=40)
    index.add_items(clustered.vectors[:500], clustered.ids[:500])
    errors: list[BaseException] = []

    def query() -> None:
        try:
            for q in clustered.queries[:50]:
                assert (index.knn_query(q, 5)[0] >= 0).all()
        except BaseException as exc:  # noqa: BLE001 - surfaced by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=query) for _ in range(3)]
    for t in threads:
        t.start()
    for lo in range(500, 800, 20):
        index.add_items(clustered.vectors[lo:lo + 20], clustered.ids[lo:lo + 20])
    for t in threads:
        t.join()
    assert not errors and len(index) == 800
    assert_sound_graph(index)
