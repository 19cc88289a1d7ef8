"""PartitionedVectors: partition filtering, HNSW promotion with replayed writes, index files."""

from __future__ import annotations

import functools
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import cacheback.cache as cache_module
from cacheback import IndexFileError, SemanticCache
from cacheback._vectors import PartitionCodes, PartitionedVectors, remove_stale_temp_files
from cacheback.ann import HNSWIndex
from cacheback.embed import Embedder


def unit_rows(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_search_never_leaves_the_partition() -> None:
    vectors = PartitionedVectors(32)
    data = unit_rows(300)
    parts = [("ns", "a") if i % 3 else ("ns", "b") for i in range(300)]
    vectors.add(np.arange(300), parts, data)
    for i in (0, 1, 2, 150):
        ids, sims = vectors.search(data[i], parts[i], 10)
        assert ids[0] == i and sims[0] == pytest.approx(1.0, abs=1e-5)
        assert all(parts[j] == parts[i] for j in ids.tolist())
        assert list(sims) == sorted(sims, reverse=True)


def test_remove_and_clear_namespace() -> None:
    vectors = PartitionedVectors(32)
    data = unit_rows(10)
    vectors.add(np.arange(10), [("one", "")] * 5 + [("two", "")] * 5, data)
    vectors.remove(0)
    assert 0 not in vectors.search(data[0], ("one", ""), 5)[0]
    vectors.clear("two")
    assert len(vectors) == 4
    assert len(vectors.search(data[7], ("two", ""), 5)[0]) == 0


def test_non_finite_rows_are_skipped_and_counted() -> None:
    vectors = PartitionedVectors(32)
    data = unit_rows(3)
    data[1, 0] = np.nan
    assert vectors.add(np.arange(3), [("n", "")] * 3, data) == 1
    assert len(vectors) == 2


def test_promotion_to_hnsw_replays_writes_made_during_the_build() -> None:
    vectors = PartitionedVectors(32, hnsw_min_items=400)
    data = unit_rows(700)
    part = ("n", "")
    vectors.add(np.arange(400), [part] * 400, data[:400])
    vectors.add(np.arange(400, 700), [part] * 300, data[400:])
    for entry_id in range(0, 50):
        vectors.remove(entry_id)
    assert vectors.wait_for_build(timeout=120)
    assert vectors.kind == "hnsw"
    found = sum(vectors.search(data[i], part, 1)[0][0] == i for i in range(50, 700))
    assert found / 650 >= 0.99
    for entry_id in range(0, 50):
        assert entry_id not in vectors.search(data[entry_id], part, 10)[0]


def test_partition_codes_count_entries_and_reuse_emptied_codes() -> None:
    codes = PartitionCodes()
    first = codes.claim([("a", ""), ("b", ""), ("a", "")])
    assert first.tolist() == [0, 1, 0] and codes.size(0) == 2
    codes.release(np.array([1, -1]))
    assert codes.code(("b", "")) is None and codes.table() == [["a", ""], None]
    assert codes.claim([("c", "x")]).tolist() == [1]
    assert codes.of_namespace("c") == [1]
    assert codes.lookup([("a", ""), ("zz", "")]).tolist() == [0, -1]


@pytest.mark.parametrize("table", [None, "x", [["a"]], [["a", 1]], [["a", ""], ["a", ""]]])
def test_malformed_partition_tables_are_refused(table: object) -> None:
    with pytest.raises(IndexFileError):
        PartitionCodes.from_table(table)


def test_replacing_and_removing_keep_partition_sizes_right() -> None:
    vectors = PartitionedVectors(32)
    data = unit_rows(6)
    vectors.add(np.array([1, 2, 3, 1]), [("n", "a"), ("n", "a"), ("n", "b"), ("n", "b")], data[:4])
    assert len(vectors) == 3
    assert vectors.search(data[0], ("n", "a"), 5)[0].tolist() == [2]
    assert sorted(vectors.search(data[0], ("n", "b"), 5)[0].tolist()) == [1, 3]
    vectors.remove(2)
    vectors.remove(2)
    assert len(vectors.search(data[0], ("n", "a"), 5)[0]) == 0
    assert vectors.memory()["partitions"] < 2000


def test_large_partitions_are_searched_through_the_graph() -> None:
    vectors = PartitionedVectors(32, hnsw_min_items=1000)
    data = unit_rows(3000, seed=3)
    parts = [("n", "big") if i % 5 else ("n", "small") for i in range(3000)]
    vectors.add(np.arange(3000), parts, data)
    assert vectors.wait_for_build(timeout=120) and vectors.kind == "hnsw"
    for i in range(0, 3000, 97):
        ids, sims = vectors.search(data[i], parts[i], 5)
        assert ids[0] == i and all(parts[j] == parts[i] for j in ids.tolist())


def hnsw_vectors(n: int, parts: list[tuple[str, str]]) -> tuple[PartitionedVectors, np.ndarray]:
    vectors = PartitionedVectors(32, hnsw_min_items=n)
    data = unit_rows(n, seed=4)
    vectors.add(np.arange(n), parts, data)
    assert vectors.wait_for_build(timeout=120)
    return vectors, data


def test_a_saved_index_is_adopted_with_its_partitions(tmp_path: Path) -> None:
    parts = [("n", "a") if i % 3 else ("m", "b") for i in range(500)]
    vectors, data = hnsw_vectors(500, parts)
    vectors.remove(7)
    vectors.save(tmp_path / "v.index", {"db": "x", "synced_id": 499})
    rows = {i: p for i, p in enumerate(parts) if i not in (7, 8)}
    adopted = PartitionedVectors(32)
    assert adopted.adopt(tmp_path / "v.index", {"db": "x"}, lambda upto: rows) == 499
    assert len(adopted) == 498 and 8 not in adopted and adopted.kind == "hnsw"
    ids, _ = adopted.search(data[9], ("m", "b"), 3)
    assert ids[0] == 9 and all(parts[j] == ("m", "b") for j in ids.tolist())
    adopted.clear("m")
    assert len(adopted) == sum(p == ("n", "a") for p in rows.values())


def test_an_index_that_files_a_row_elsewhere_than_sqlite_is_refused(tmp_path: Path) -> None:
    parts = [("n", "a")] * 300
    vectors, _ = hnsw_vectors(300, parts)
    vectors.save(tmp_path / "v.index", {"synced_id": 299})
    rows = dict(enumerate(parts))
    rows[5] = ("n", "other")
    with pytest.raises(IndexFileError, match="other partitions"):
        PartitionedVectors(32).adopt(tmp_path / "v.index", {}, lambda upto: rows)


def test_a_long_journal_is_caught_up_before_the_swap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Writes that pile up while the graph is built (more than one swap's worth) all reach it,
    and searches go on meanwhile."""
    import cacheback._vectors as vectors_module
    from cacheback.ann import HNSWIndex

    snapshot_taken, release = threading.Event(), threading.Event()

    class SlowHNSW(HNSWIndex):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            snapshot_taken.set()

        def add_items(self, *args: Any, **kwargs: Any) -> None:
            release.wait(60)
            super().add_items(*args, **kwargs)

    monkeypatch.setattr(vectors_module, "HNSWIndex", SlowHNSW)
    vectors = PartitionedVectors(32, hnsw_min_items=200)
    data = unit_rows(1500, seed=6)
    part = ("n", "")
    vectors.add(np.arange(200), [part] * 200, data[:200])
    assert snapshot_taken.wait(60)
    for lo in range(200, 1500, 100):
        vectors.add(np.arange(lo, lo + 100), [part] * 100, data[lo:lo + 100])
    for entry_id in range(0, 40):
        vectors.remove(entry_id)
    assert vectors.kind == "projected" and vectors.search(data[700], part, 1)[0][0] == 700
    release.set()
    assert vectors.wait_for_build(timeout=120) and vectors.kind == "hnsw"
    assert len(vectors) == 1460
    found = sum(vectors.search(data[i], part, 1)[0][0] == i for i in range(40, 1500))
    assert found / 1460 >= 0.99
    assert not set(range(40)) & set(vectors.search(data[5], part, 50)[0].tolist())


def test_stale_temp_files_are_removed(tmp_path: Path) -> None:
    import os

    target = tmp_path / "cache.db.index"
    old, fresh = tmp_path / ".cache.db.index.abc.tmp", tmp_path / ".cache.db.index.def.tmp"
    old.write_bytes(b"x")
    fresh.write_bytes(b"y")
    os.utime(old, (0, 0))
    assert remove_stale_temp_files(target) == 1
    assert not old.exists() and fresh.exists()


QUESTIONS = [f"How do I {verb} my {thing}?" for verb in (
    "reset", "change", "cancel", "renew", "update", "close", "open", "verify",
) for thing in ("password", "card", "account", "address", "subscription", "order", "email", "phone")]


@pytest.fixture
def small_hnsw(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        cache_module, "PartitionedVectors", functools.partial(PartitionedVectors, hnsw_min_items=40)
    )


def fill_until_hnsw(tmp_path: Path, embedder: Embedder) -> Path:
    """A cache file holding QUESTIONS whose index was promoted to HNSW, then closed."""
    path = tmp_path / "cache.db"
    with SemanticCache(path, embedder=embedder) as cache:
        for q in QUESTIONS:
            cache.put(q, f"answer to {q}")
        assert cache._vectors.wait_for_build(timeout=120)
        assert cache.stats()["index_kind"] == "hnsw"
    return path


def test_cache_saves_and_reloads_its_hnsw_index(
    tmp_path: Path, embedder: Embedder, small_hnsw: None
) -> None:
    path = fill_until_hnsw(tmp_path, embedder)
    assert (tmp_path / "cache.db.index").is_file()
    with SemanticCache(path, embedder=embedder) as cache:
        assert cache.stats()["counters"].get("index.loaded") == 1
        hit = cache.get("How can I reset my password?")
        assert hit is not None and hit.matched_query == "How do I reset my password?"
        cache.put("What time do you open on Sundays?", "At ten.")
    with SemanticCache(path, embedder=embedder) as cache:
        assert cache.get("what time do you open on sundays") is not None


def test_corrupt_or_foreign_index_file_is_rebuilt_from_sqlite(
    tmp_path: Path, embedder: Embedder, small_hnsw: None
) -> None:
    path = fill_until_hnsw(tmp_path, embedder)
    index_file = tmp_path / "cache.db.index"
    data = bytearray(index_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    index_file.write_bytes(bytes(data))
    with SemanticCache(path, embedder=embedder) as cache:
        assert cache.stats()["counters"].get("index.rebuilt") == 1
        assert cache.get("How can I reset my password?") is not None
        cache._vectors.wait_for_build(timeout=120)
    saved = index_file.read_bytes()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with SemanticCache(path, embedder=embedder) as cache:
        cache.put("What time do you open on Sundays?", "At ten.")
    index_file.write_bytes(saved)
    with SemanticCache(path, embedder=embedder) as cache:
        assert cache.stats()["counters"].get("index.rebuilt") == 1
        assert cache.get("How can I reset my password?") is None
        assert cache.get("what time do you open on sundays") is not None


def test_graph_candidates_carry_exact_similarities(
    tmp_path: Path, embedder: Embedder, small_hnsw: None
) -> None:
    path = fill_until_hnsw(tmp_path, embedder)
    with SemanticCache(path, embedder=embedder) as cache:
        assert not cache._vectors.exact
        asked = "How can I change my email address?"
        found = cache.candidates(asked, k=5)
        vector = embedder.embed(asked)
        exact = {q: float(embedder.embed(q) @ vector) for q in QUESTIONS}
        assert [c.similarity for c in found] == sorted((c.similarity for c in found), reverse=True)
        for c in found:
            assert c.similarity == pytest.approx(exact[c.query], abs=1e-6)
        assert found[0].query == max(exact, key=exact.__getitem__)


def test_rows_added_to_the_graph_are_found_at_once_and_linked_in_the_background() -> None:
    vectors, data = hnsw_vectors(600, [("n", "a")] * 600)
    graph = vectors._index
    assert isinstance(graph, HNSWIndex) and graph.buffered == 0
    extra = unit_rows(200, seed=9)
    for i in range(200):  # as misses are stored: one row at a time, each searched right after
        vectors.add(np.array([1000 + i]), [("n", "a")], extra[i:i + 1])
        ids, sims = vectors.search(extra[i], ("n", "a"), 3)
        assert ids[0] == 1000 + i and sims[0] == pytest.approx(1.0, abs=1e-2)
    assert vectors.wait_for_links(timeout=120)
    assert graph.buffered == 0 and vectors._index is graph
    for i in range(0, 200, 7):
        assert vectors.search(extra[i], ("n", "a"), 3)[0][0] == 1000 + i
    for i in range(0, 600, 31):
        assert vectors.search(data[i], ("n", "a"), 3)[0][0] == i


def test_searches_and_adds_go_on_while_the_linker_searches_for_neighbours() -> None:
    """The linker holds no lock while it plans a row's links: a search, a count and an add all
    finish while its plan is held up (with the lock held throughout they would wait for it)."""
    vectors, data = hnsw_vectors(600, [("n", "a")] * 600)
    graph = vectors._index
    assert isinstance(graph, HNSWIndex)
    planning, release = threading.Event(), threading.Event()
    waits: list[bool] = []
    plan = graph._plan

    def held_up(slot: int, entry: int) -> tuple[np.ndarray, ...]:
        if not waits:
            planning.set()
            waits.append(release.wait(timeout=20))
        return plan(slot, entry)

    graph._plan = held_up  # type: ignore[method-assign]
    extra = unit_rows(5, seed=10)
    vectors.add(np.arange(1000, 1005), [("n", "a")] * 5, extra)
    assert planning.wait(timeout=20)
    assert vectors.search(extra[3], ("n", "a"), 3)[0][0] == 1003
    assert vectors.search(data[9], ("n", "a"), 3)[0][0] == 9
    vectors.add(np.array([1005]), [("n", "a")], unit_rows(1, seed=11))
    assert vectors.count(("n", "a")) == 606
    release.set()
    assert vectors.wait_for_links(timeout=120)
    assert waits == [True] and graph.buffered == 0
    for i in range(5):
        assert vectors.search(extra[i], ("n", "a"), 3)[0][0] == 1000 + i


def test_links_made_in_the_background_are_saved(tmp_path: Path) -> None:
    """An index saved with rows still buffered, then linked by the background thread, is worth
    saving again (a cache saves on close only when dirty): its next open links nothing."""
    from cacheback.ann import load_index

    vectors, _ = hnsw_vectors(600, [("n", "a")] * 600)
    graph = vectors._index
    assert isinstance(graph, HNSWIndex)
    release = threading.Event()
    plan = graph._plan

    def held_up(slot: int, entry: int) -> tuple[np.ndarray, ...]:
        release.wait(timeout=20)
        return plan(slot, entry)

    graph._plan = held_up  # type: ignore[method-assign]
    vectors.add(np.arange(1000, 1040), [("n", "a")] * 40, unit_rows(40, seed=12))
    vectors.save(tmp_path / "v.index", {"synced_id": 1039})
    assert not vectors.dirty and load_index(tmp_path / "v.index").buffered == 40
    release.set()
    assert vectors.wait_for_links(timeout=120)
    assert vectors.dirty
    vectors.save(tmp_path / "v.index", {"synced_id": 1039})
    assert load_index(tmp_path / "v.index").buffered == 0


def test_past_the_buffer_a_writer_links_rows_itself_outside_the_lock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rows past LINK_BUFFER are linked by the thread that adds them, after it has released the
    lock: searches go on while it links, and the buffer stays at LINK_BUFFER."""
    import cacheback._vectors as vectors_module

    monkeypatch.setattr(vectors_module, "LINK_BUFFER", 10)
    vectors, data = hnsw_vectors(600, [("n", "a")] * 600)
    graph = vectors._index
    assert isinstance(graph, HNSWIndex) and graph.buffered == 0
    vectors._maybe_link = lambda: None  # type: ignore[method-assign]  # no background linker
    extra = unit_rows(31, seed=13)
    for i in range(30):
        vectors.add(np.array([1000 + i]), [("n", "a")], extra[i:i + 1])
        assert graph.buffered == min(i + 1, 10)
    planning, release = threading.Event(), threading.Event()
    plan = graph._plan

    def held_up(slot: int, entry: int) -> tuple[np.ndarray, ...]:
        planning.set()
        release.wait(timeout=20)
        return plan(slot, entry)

    graph._plan = held_up  # type: ignore[method-assign]
    writer = threading.Thread(
        target=vectors.add, args=(np.array([1030]), [("n", "a")], extra[30:31]))
    writer.start()
    assert planning.wait(timeout=20)
    assert vectors.search(extra[30], ("n", "a"), 3)[0][0] == 1030  # found while it links
    assert vectors.search(data[5], ("n", "a"), 3)[0][0] == 5
    release.set()
    writer.join(timeout=20)
    assert not writer.is_alive() and graph.buffered == 10
    for i in range(31):
        assert vectors.search(extra[i], ("n", "a"), 3)[0][0] == 1000 + i


def test_rows_another_connection_stores_are_found_by_a_cache_on_a_graph(
    tmp_path: Path, embedder: Embedder, small_hnsw: None
) -> None:
    path = fill_until_hnsw(tmp_path, embedder)
    with SemanticCache(path, embedder=embedder) as reader, \
            SemanticCache(path, embedder=embedder) as writer:
        assert reader.get("How can I reset my password?") is not None  # index loaded
        assert reader._vectors.kind == "hnsw"
        writer.put("What time do you open on Sundays?", "At ten.")
        hit = reader.get("what time do you open on sundays")
        assert hit is not None and hit.response == "At ten."
        reader.put("Can I pay with PayPal?", "Yes.")
        found = reader.candidates("Can I pay using PayPal?", k=1)  # read-your-writes
        assert [c.query for c in found] == ["Can I pay with PayPal?"]
        reader._vectors.stop()  # leave the rows in the buffer for the save on close
        assert isinstance(reader._vectors._index, HNSWIndex)
    with SemanticCache(path, embedder=embedder) as cache:
        assert cache.stats()["counters"].get("index.loaded") == 1
        assert cache.get("what time do you open on sundays") is not None
        found = cache.candidates("Can I pay using PayPal?", k=1)
        assert [c.query for c in found] == ["Can I pay with PayPal?"]


def test_link_duty_rises_with_the_buffer_only_while_rows_are_added() -> None:
    from cacheback._vectors import _LINK_DUTY, LINK_BUFFER, link_duty

    assert link_duty(LINK_BUFFER, since_add=60.0, since_use=5.0) == 1.0
    assert link_duty(LINK_BUFFER, since_add=60.0, since_use=0.01) == _LINK_DUTY
    assert link_duty(LINK_BUFFER, since_add=0.1, since_use=0.01) == 1.0
    assert link_duty(LINK_BUFFER // 2, since_add=0.1, since_use=0.01) == 0.25
    assert link_duty(0, since_add=0.1, since_use=0.01) == _LINK_DUTY


def test_a_sync_does_not_index_again_the_rows_this_cache_indexed_as_it_stored_them(
    tmp_path: Path, embedder: Embedder
) -> None:
    """A row this cache stored past a gap (another connection's row, or a concurrent put) is
    indexed once: the sync that reads the gap's row back skips it."""
    path = tmp_path / "cache.db"
    with SemanticCache(path, embedder=embedder) as cache, \
            SemanticCache(path, embedder=embedder) as other:
        added: list[int] = []
        add = cache._vectors.add

        def counting(ids: np.ndarray, *args: Any) -> int:
            added.extend(ids.tolist())
            return add(ids, *args)

        cache._vectors.add = counting  # type: ignore[method-assign]
        first = cache.put("How do I reset my password?", "Use the reset link.")
        gap = other.put("What time do you open on Sundays?", "At ten.")
        mine = cache.put("Can I pay with PayPal?", "Yes.")
        assert first is not None and gap is not None and mine is not None
        assert first < gap < mine
        hit = cache.get("At what time do you open on Sundays?")
        assert hit is not None and hit.response == "At ten."
        assert sorted(added) == [first, gap, mine]  # each once
        hit = cache.get("Can I pay using PayPal?")
        assert hit is not None and hit.response == "Yes."
        assert not cache._indexed_ahead


@pytest.mark.parametrize("index_fails", [False, True])
def test_a_lookup_leaves_a_row_being_indexed_by_its_put_to_that_put(
    tmp_path: Path, embedder: Embedder, index_fails: bool
) -> None:
    """A lookup whose sync reads back a row that a concurrent put has stored but not yet
    indexed does not index it too (it used to: every proxied miss was indexed twice); if the
    put then fails to index it, the next sync does."""
    with SemanticCache(tmp_path / "cache.db", embedder=embedder) as cache:
        cache.put("How do I reset my password?", "Use the reset link.")
        added: list[int] = []
        entered, release = threading.Event(), threading.Event()
        add = cache._vectors.add

        def held(ids: np.ndarray, *args: Any) -> int:
            if threading.current_thread().name == "putter" and not release.is_set():
                entered.set()
                assert release.wait(10)
                if index_fails:
                    raise MemoryError("no room in the index")
            added.extend(ids.tolist())
            return add(ids, *args)

        cache._vectors.add = held  # type: ignore[method-assign]
        stored: list[int | None] = []
        putter = threading.Thread(target=lambda: stored.append(cache.put("Can I pay with PayPal?", "Yes.")),
                                  name="putter")
        putter.start()
        assert entered.wait(10)
        assert cache.get("Can I pay using PayPal?") is None  # stored, not yet indexed
        assert added == []  # the sync left the row to its put
        release.set()
        putter.join(10)
        (mine,) = stored
        assert mine is not None
        if index_fails:  # the index's breaker is open now; the next lookup it allows syncs
            assert mine not in cache._vectors
            cache._sync_vectors()
        else:
            hit = cache.get("Can I pay using PayPal?")
            assert hit is not None and hit.response == "Yes."
        assert added == [mine]  # once: by the put, or by the sync after the put failed
        assert mine in cache._vectors
        assert cache._synced_id == mine and not cache._indexed_ahead and not cache._storing


def test_a_promoted_graph_links_the_writes_replayed_into_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows written while the graph was being built are linked by the builder before the swap:
    only the last few (at most _SWAP_ROWS, replayed under the lock) are left to the linker."""
    from cacheback._vectors import _SWAP_ROWS

    add_items = HNSWIndex.add_items

    def slow_bulk(self: HNSWIndex, vectors: np.ndarray, *args: Any, **kwargs: Any) -> None:
        if threading.current_thread().name == "cacheback-hnsw-build" and len(vectors) >= 400:
            time.sleep(0.5)
        add_items(self, vectors, *args, **kwargs)

    monkeypatch.setattr(HNSWIndex, "add_items", slow_bulk)
    vectors = PartitionedVectors(32, hnsw_min_items=400)
    data = unit_rows(1400)
    part = ("n", "")
    vectors.add(np.arange(400), [part] * 400, data[:400])
    deadline = time.monotonic() + 10
    while vectors._journal is None and time.monotonic() < deadline:
        time.sleep(0.001)
    assert vectors._journal is not None  # the builder has its snapshot
    for start in range(400, 1400, 50):  # adds below BULK_MIN_ITEMS: buffered when replayed
        vectors.add(np.arange(start, start + 50), [part] * 50, data[start:start + 50])
    assert vectors.wait_for_build(timeout=120) and vectors.kind == "hnsw"
    index = vectors._index
    assert isinstance(index, HNSWIndex) and index.buffered <= _SWAP_ROWS
    assert sum(vectors.search(data[i], part, 1)[0][0] == i for i in range(1400)) >= 1380
