"""HNSWIndex's link buffer: rows are found from the moment they are added, before and after
they are linked, and the graph they end up in is as good as one linked at once."""

from __future__ import annotations

import itertools
import sys
import threading
import time
from pathlib import Path
from typing import Any

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


def test_link_next_links_as_link_buffered_does(buffered: HNSWIndex, clustered: Clustered,
                                               tmp_path: Path) -> None:
    extra = make_clustered(300, 64, n_queries=0, seed=17)
    for i in range(300):
        buffered.add_items(extra.vectors[i:i + 1], [-1 - i])
    buffered.save(tmp_path / "twin.idx")
    twin = HNSWIndex.load(tmp_path / "twin.idx")
    linked = 0
    while buffered.link_next():
        linked += 1
    assert linked == 300 and buffered.buffered == 0 and not buffered.link_next()
    twin.link_buffered()
    assert len(buffered._layers) == len(twin._layers)
    for mine, theirs in zip(buffered._layers, twin._layers):  # alone, the same graph
        for a, b in zip(mine.to_arrays(buffered._n), theirs.to_arrays(twin._n)):
            assert np.array_equal(a, b)
    assert buffered._entry == twin._entry
    assert_sound_graph(buffered)


def test_searches_while_link_next_runs_in_another_thread(buffered: HNSWIndex,
                                                         clustered: Clustered) -> None:
    """The linker searches without the lock while this thread searches, adds rows (the arrays
    grow under it), deletes buffered rows and gives them new vectors: every result matches the
    brute-force twin, and the graph ends sound, complete and as good."""
    extra = make_clustered(1200, 64, n_queries=12, seed=18)
    truth_rows = dict(zip(clustered.ids.tolist(), clustered.vectors))
    for i in range(600):
        buffered.add_items(extra.vectors[i:i + 1], [-1 - i])
        truth_rows[-1 - i] = extra.vectors[i]
    assert buffered.buffered == 600
    stop = threading.Event()
    errors: list[BaseException] = []
    moved_rows: list[tuple[int, np.ndarray]] = []

    def link() -> None:
        try:
            while not stop.is_set():
                if not buffered.link_next():
                    time.sleep(0.001)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)

    def check(queries: np.ndarray) -> None:
        ids = np.array(list(truth_rows))
        truth = _truth(np.array(list(truth_rows.values())), ids, queries, 10)
        assert recall(buffered.knn_query(queries, 10)[0], truth) >= 0.95

    linker = threading.Thread(target=link)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # interleave the threads finely: plans overlap the writes
    linker.start()
    try:
        for step in range(600, 1200, 50):
            for i in range(step, step + 50):  # one at a time, as a cache stores its misses
                buffered.add_items(extra.vectors[i:i + 1], [-1 - i])
                truth_rows[-1 - i] = extra.vectors[i]
            earlier = (int(buffered._labels[slot]) for slot in buffered._buffered)
            oldest = list(itertools.islice((i for i in earlier if i > -1 - step), 2))
            if len(oldest) == 2:  # the oldest rows of earlier steps: likely mid-plan
                gone, moved = oldest
                buffered.mark_deleted(gone)
                del truth_rows[gone]
                vector = extra.queries[step // 50 - 12]  # elsewhere in the same mixture
                buffered.add_items(vector, [moved])
                truth_rows[moved] = vector
                assert buffered.knn_query(vector, 1)[0][0, 0] == moved
                moved_rows.append((moved, vector))
            check(np.concatenate([clustered.queries[:50], extra.vectors[step:step + 50] + 0.01]))
            assert buffered.knn_query(extra.vectors[step + 7], 1)[0][0, 0] == -8 - step
    finally:
        sys.setswitchinterval(switch)
        deadline = time.monotonic() + 60
        while buffered.buffered and time.monotonic() < deadline and not errors:
            time.sleep(0.01)
        stop.set()
        linker.join()
    assert not errors, errors
    assert buffered.buffered == 0
    assert_sound_graph(buffered)
    check(np.concatenate([clustered.queries, extra.vectors[::6] + 0.01]))
    moved_rows = [(moved, vector) for moved, vector in moved_rows
                  if moved in truth_rows and np.array_equal(truth_rows[moved], vector)]
    assert len(moved_rows) >= 6
    found = buffered.knn_query(np.array([v for _, v in moved_rows]), 1)[0][:, 0]
    assert np.mean(found == [moved for moved, _ in moved_rows]) >= 0.9  # linked by the new vector


def test_a_plan_the_graph_moved_under_is_made_again(buffered: HNSWIndex) -> None:
    """A row deleted, replaced or renumbered (compaction) while its links were being planned
    gets no stale links."""
    extra = make_clustered(3, 64, n_queries=0, seed=19)
    buffered.add_items(extra.vectors, [-1, -2, -3])
    plan = buffered._plan
    moves = iter([
        lambda: buffered.mark_deleted(-1),  # the planned row goes: the next row is linked
        lambda: buffered.add_items(-extra.vectors[1], [-2]),  # it gets a new vector
        lambda: buffered.compact(),  # slots renumbered (everything is linked anew)
    ])
    plans = []

    def planning(slot: int, entry: int) -> tuple[np.ndarray, ...]:
        plans.append(slot)
        chosen = plan(slot, entry)
        next(moves, lambda: None)()
        return chosen

    buffered._plan = planning  # type: ignore[method-assign]
    assert not buffered.link_next()  # nothing left: the compaction linked every row
    assert buffered.buffered == 0
    assert len(plans) == 3 and len(set(plans)) == 3
    assert -1 not in buffered
    assert buffered.knn_query(-extra.vectors[1], 1)[0][0, 0] == -2
    assert buffered.knn_query(extra.vectors[2], 1)[0][0, 0] == -3
    assert_sound_graph(buffered)


def test_a_group_mostly_in_the_buffer_is_scanned_not_searched(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A young group, its rows still buffered, holds too few linked rows for the graph search
    to find them without wandering: it is answered by the exact scan (and exactly)."""
    data = make_clustered(6600, 32, n_queries=50, seed=20)
    groups = np.zeros(6600, dtype=np.int32)
    groups[4000:] = 1
    index = HNSWIndex(32, "cosine", M=8, ef_construction=60, seed=4)
    index.add_items(data.vectors[:4100], data.ids[:4100], groups[:4100])  # 100 of group 1 linked
    index.set_buffer(10_000)
    for i in range(4100, 6600):  # 2500 more of group 1, buffered
        index.add_items(data.vectors[i:i + 1], data.ids[i:i + 1], groups[i:i + 1])
    assert index.buffered == 2500
    searched: list[int] = []
    graph_search = index._graph_search

    def counting(query: np.ndarray, k: int, admission: Any) -> tuple[np.ndarray, np.ndarray]:
        searched.append(k)
        return graph_search(query, k, admission)

    index._graph_search = counting  # type: ignore[method-assign]
    found = index.knn_query(data.queries, 10, group=1)[0]
    truth = _truth(data.vectors, data.ids, data.queries, 10, groups, 1)
    assert not searched and recall(found, truth) == 1.0
    index.knn_query(data.queries[:5], 10, group=0)  # most of the graph: searched
    assert len(searched) == 5
    index.link_buffered()
    index.knn_query(data.queries[:5], 10, group=1)  # linked now: 2600 of 6600
    assert len(searched) == 10
