"""SemanticCache: tiers, isolation, TTL, eviction, input errors, persistence, concurrency."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

import cacheback.cache as cache_module
from cacheback import EmbedderError, Hit, InvalidInputError, SemanticCache
from cacheback.embed import Embedder


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def cache(embedder: Embedder, db: str) -> SemanticCache:
    """Run on both backends: SQLite in memory and a fresh PostgreSQL schema."""
    with SemanticCache(db, embedder=embedder) as c:
        yield c


def test_exact_hit_returns_stored_answer_and_payload(cache: SemanticCache) -> None:
    entry_id = cache.put("What is Python?", "A programming language.", payload={"id": "x"})
    hit = cache.get("What is Python?")
    assert isinstance(hit, Hit)
    assert (hit.tier, hit.entry_id, hit.response, hit.similarity) == (
        "exact", entry_id, "A programming language.", 1.0,
    )
    assert hit.payload == '{"id": "x"}'


def test_exact_tier_ignores_case_spacing_and_trailing_punctuation(cache: SemanticCache) -> None:
    cache.put("What is Python?", "A language.")
    hit = cache.get("  what   is PYTHON ")
    assert hit is not None and hit.tier == "exact"


def test_paraphrase_is_a_semantic_hit(cache: SemanticCache) -> None:
    cache.put("How do I reset my password?", "Settings > Security > Reset password.")
    hit = cache.get("How can I reset my password?")
    assert hit is not None and hit.tier == "semantic"
    assert hit.matched_query == "How do I reset my password?"
    assert 0.9 < hit.similarity < 1.0


def test_unrelated_question_misses(cache: SemanticCache) -> None:
    cache.put("How do I reset my password?", "Settings > Security > Reset password.")
    assert cache.get("What are your opening hours on Sunday?") is None


def test_candidates_the_matcher_could_never_serve_are_not_read(
    embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SemanticCache(":memory:", embedder=embedder, similarity_threshold=0.9) as strict:
        strict.put("How do I reset my password?", "Settings > Security > Reset password.")
        reads: list[list[int]] = []
        storage = strict._storage
        assert storage is not None
        real_get_many = storage.get_many

        def spy(ids: list[int], now: float) -> object:
            reads.append(ids)
            return real_get_many(ids, now)

        monkeypatch.setattr(storage, "get_many", spy)
        assert strict.get("What are your opening hours on Sunday?") is None
        assert reads == []
        assert strict.get("How can I reset my password?") is not None
        assert len(reads) == 1
        assert len(strict.candidates("What are your opening hours on Sunday?")) == 1


@pytest.mark.parametrize("semantic_query", ["How do I reset my password?", "How can I reset my password?"])
def test_namespace_and_scope_never_cross(cache: SemanticCache, semantic_query: str) -> None:
    cache.put("How do I reset my password?", "A", namespace="tenant-a", scope={"model": "m1"})
    assert cache.get(semantic_query, namespace="tenant-a", scope={"model": "m1"}) is not None
    assert cache.get(semantic_query, namespace="tenant-b", scope={"model": "m1"}) is None
    assert cache.get(semantic_query, namespace="tenant-a", scope={"model": "m2"}) is None
    assert cache.get(semantic_query, namespace="tenant-a") is None


def test_scope_is_order_insensitive_for_dict_keys(cache: SemanticCache) -> None:
    cache.put("q one", "A", scope={"model": "m", "temperature": 0})
    assert cache.get("q one", scope={"temperature": 0, "model": "m"}) is not None


def test_same_key_put_replaces_answer(cache: SemanticCache) -> None:
    first = cache.put("What is Python?", "old")
    second = cache.put("what is python", "new")
    assert first == second
    assert cache.get("What is Python?").response == "new"
    assert cache.stats()["entries"] == 1


def test_ttl_per_entry_and_per_cache(embedder: Embedder, db: str) -> None:
    clock = Clock()
    with SemanticCache(db, embedder=embedder, ttl=100, clock=clock) as cache:
        cache.put("How do I reset my password?", "short", ttl=10)
        cache.put("What is the capital of France?", "Paris")
        clock.now += 11
        assert cache.get("How do I reset my password?") is None
        assert cache.get("How can I reset my password?") is None
        assert cache.get("What is the capital of France?") is not None
        clock.now += 100
        assert cache.get("What is the capital of France?") is None


def test_expired_neighbours_give_way_to_the_next_live_ones(embedder: Embedder) -> None:
    """Rows are read for the k wanted candidates first; rows that turn out expired (still in
    the index) are dropped from it and the next neighbours are read in their place."""
    clock = Clock()
    with SemanticCache(":memory:", embedder=embedder, clock=clock) as cache:
        for i in range(3):
            cache.put(f"How do I reset my password? ({i})", f"short {i}", ttl=10)
        for i in range(3):
            cache.put(f"How can I reset my password, please? ({i})", f"long {i}")
        clock.now += 11
        found = cache.candidates("How do I reset my password?", k=3)
        assert sorted(c.response for c in found) == ["long 0", "long 1", "long 2"]
        assert cache.stats()["counters"]["index.stale_dropped"] == 3


def test_eviction_by_count_drops_least_recently_hit(embedder: Embedder, db: str) -> None:
    clock = Clock()
    with SemanticCache(db, embedder=embedder, max_entries=3, clock=clock) as cache:
        ids = []
        for text in ["alpha question", "bravo question", "charlie question"]:
            clock.now += 1
            ids.append(cache.put(text, text.upper()))
        clock.now += 1
        assert cache.get("alpha question") is not None
        cache.flush()
        clock.now += 1
        cache.put("delta question", "DELTA")
        assert cache.stats()["entries"] == 3
        assert cache.get("bravo question", semantic=False) is None
        assert cache.get("alpha question", semantic=False) is not None


def test_eviction_by_bytes(embedder: Embedder, db: str) -> None:
    with SemanticCache(db, embedder=None, max_bytes=5_000) as cache:
        for i in range(20):
            cache.put(f"question number {i}", "x" * 500)
        stats = cache.stats()
        assert stats["payload_bytes"] <= 5_000
        assert 0 < stats["entries"] < 20
        assert cache.get("question number 19") is not None


def test_delete_and_clear(cache: SemanticCache) -> None:
    a = cache.put("How do I reset my password?", "A", namespace="one")
    cache.put("What is the capital of France?", "B", namespace="two")
    assert cache.delete(a) is True
    assert cache.delete(a) is False
    assert cache.get("How can I reset my password?", namespace="one") is None
    assert cache.clear(namespace="two") == 1
    assert cache.get("What is the capital of France?", namespace="two") is None


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.put(None, "x"),
        lambda c: c.put("   ", "x"),
        lambda c: c.put("q", ""),
        lambda c: c.put("q", 42),
        lambda c: c.put("q", "x", ttl=-1),
        lambda c: c.put("q", "x", ttl=float("nan")),
        lambda c: c.put("q", "x", namespace=""),
        lambda c: c.put("q", "x", scope={"bad": object()}),
        lambda c: c.put("q", "x", metadata=["not", "a", "dict"]),
        lambda c: c.put("q", "x", payload={"nan": float("nan")}),
        lambda c: c.get(b"bytes"),
        lambda c: c.get(""),
    ],
)
def test_bad_input_is_a_typed_error_and_loses_nothing(cache: SemanticCache, call) -> None:
    cache.put("What is Python?", "A language.")
    with pytest.raises(InvalidInputError):
        call(cache)
    assert cache.get("What is Python?").response == "A language."


def test_lone_surrogates_are_stored_safely(cache: SemanticCache) -> None:
    assert cache.put("broken \ud800 text", "answer \udfff") is not None
    hit = cache.get("broken \ud800 text")
    assert hit is not None and "\ufffd" in hit.response


def test_oversize_query_is_skipped_not_raised(embedder: Embedder, db: str) -> None:
    with SemanticCache(db, embedder=embedder, max_query_chars=100) as cache:
        assert cache.put("x" * 101, "answer") is None
        assert cache.get("x" * 101) is None
        assert cache.stats()["counters"]["skipped.oversize_query"] == 2


def test_entries_survive_reopen_exact_and_semantic(db_file: str, embedder: Embedder) -> None:
    path = db_file
    with SemanticCache(path, embedder=embedder) as cache:
        cache.put("How do I reset my password?", "Settings.")
    with SemanticCache(path, embedder=embedder) as cache:
        assert cache.get("How do I reset my password?").tier == "exact"
        assert cache.get("How can I reset my password?").tier == "semantic"


def test_second_connection_sees_new_and_deleted_entries(db_file: str, embedder: Embedder) -> None:
    path = db_file
    with SemanticCache(path, embedder=embedder) as reader, SemanticCache(
        path, embedder=embedder
    ) as writer:
        assert reader.get("How can I reset my password?") is None
        entry_id = writer.put("How do I reset my password?", "Settings.")
        assert reader.get("How can I reset my password?").entry_id == entry_id
        writer.delete(entry_id)
        assert reader.get("How can I reset my password?") is None


def test_own_rows_are_not_read_back_but_interleaved_ones_are(tmp_path: Path, embedder: Embedder,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A row this cache stored right after the last synced one is indexed already and not read
    back from SQLite; a row another connection stored in between still is, with any later ones
    (SQLite: PostgreSQL searches its own vectors)."""
    db_file = str(tmp_path / "cache.db")
    with SemanticCache(db_file, embedder=embedder) as cache, SemanticCache(
        db_file, embedder=embedder
    ) as other:
        read: list[int] = []
        vectors_after = cache.storage.vectors_after

        def spy(after: int, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
            for batch in vectors_after(after, *args, **kwargs):
                read.extend(batch.ids.tolist())
                yield batch

        monkeypatch.setattr(cache.storage, "vectors_after", spy)
        first = cache.put("How do I reset my password?", "Settings.")
        assert cache.get("How can I reset my password?").entry_id == first
        assert read == []
        theirs = other.put("How do I change my email address?", "Profile page.")
        mine = cache.put("How do I cancel my subscription?", "Account page.")
        assert cache.get("How can I change my email address?").entry_id == theirs
        assert cache.get("How can I cancel my subscription?").entry_id == mine
        assert read == [theirs, mine]


def test_hit_counts_are_flushed_to_storage(db_file: str, embedder: Embedder) -> None:
    path = db_file
    with SemanticCache(path, embedder=embedder) as cache:
        cache.put("What is Python?", "A language.")
        for _ in range(3):
            cache.get("What is Python?")
    with SemanticCache(path, embedder=embedder) as cache:
        rows = list(cache.storage.iter_entries())
    assert rows[0]["hit_count"] == 3


def test_threads_share_one_cache(db_file: str, embedder: Embedder) -> None:
    errors: list[BaseException] = []
    with SemanticCache(db_file, embedder=None) as cache:

        def work(n: int) -> None:
            try:
                for i in range(50):
                    cache.put(f"thread {n} question {i}", f"answer {n}-{i}")
                    assert cache.get(f"thread {n} question {i}").response == f"answer {n}-{i}"
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert cache.stats()["entries"] == 200


def test_missing_model_turns_semantic_tier_off_exact_still_works(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> Embedder:
        raise EmbedderError("model file missing")

    monkeypatch.setattr(cache_module, "default_embedder", broken)
    with SemanticCache(":memory:") as cache:
        cache.put("What is Python?", "A language.")
        assert cache.get("What is Python?").tier == "exact"
        assert cache.get("Explain Python to me") is None
        assert "semantic" in cache.stats()["degraded"]
    assert "semantic tier off" in caplog.text


def test_stats_count_tiers(cache: SemanticCache) -> None:
    cache.put("How do I reset my password?", "A")
    cache.get("How do I reset my password?")
    cache.get("How can I reset my password?")
    cache.get("Where is the nearest branch?")
    stats = cache.stats()
    assert stats["counters"]["hits.exact"] == 1
    assert stats["counters"]["hits.semantic"] == 1
    assert stats["misses"] == 1
    assert stats["hit_rate"] == pytest.approx(2 / 3)


def test_cache_object_keeps_working_in_a_forked_child(tmp_path: Path) -> None:
    import os

    with SemanticCache(tmp_path / "cache.db", embedder=None) as cache:
        cache.put("parent question", "parent answer")
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                ok = cache.get("parent question").response == "parent answer"
                code = 0 if ok and cache.put("child question", "child answer") else 1
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert cache.get("child question").response == "child answer"


class Counting(Embedder):
    """Wraps the real embedder and counts the texts it embeds."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.calls = 0

    def fits(self, text: str) -> bool:
        return self.inner.fits(text)

    def embed_batch(self, texts):  # type: ignore[no-untyped-def]
        self.calls += len(texts)
        return self.inner.embed_batch(texts)


def test_put_after_a_missed_get_reuses_the_lookup_vector(embedder: Embedder) -> None:
    counting = Counting(embedder)
    with SemanticCache(":memory:", embedder=counting) as cache:
        cache.put("How do I reset my password?", "Settings.")
        assert counting.calls == 1
        assert cache.get("What are your opening hours on Sunday?") is None
        cache.put("What are your opening hours on Sunday?", "Ten to four.")
        assert counting.calls == 2
        nearest = cache.candidates("When do you open on Sundays?", k=1)
        assert nearest[0].query == "What are your opening hours on Sunday?"


def test_a_lookup_in_an_empty_partition_embeds_nothing(embedder: Embedder) -> None:
    counting = Counting(embedder)
    with SemanticCache(":memory:", embedder=counting) as cache:
        assert cache.get("How do I reset my password?") is None
        assert counting.calls == 0
        cache.put("How do I reset my password?", "Settings.", namespace="other")
        assert cache.get("How can I reset my password?") is None
        assert counting.calls == 1
        assert cache.get("How can I reset my password?", namespace="other") is not None
        assert counting.calls == 2


def test_rerank_orders_by_exact_similarity_and_drops_missing_vectors() -> None:
    query = np.array([1.0, 0.0], dtype=np.float32)
    stored = {1: np.array([0.6, 0.8], dtype=np.float32), 2: np.array([1.0, 0.0], dtype=np.float32),
              3: np.array([0.0, 1.0, 0.0], dtype=np.float32)}
    ids, sims = cache_module._rerank(stored, np.array([1, 3, 4, 2]), query)
    assert ids.tolist() == [2, 1]
    assert sims.tolist() == pytest.approx([1.0, 0.6])
    empty_ids, empty_sims = cache_module._rerank({}, np.array([5]), query)
    assert len(empty_ids) == len(empty_sims) == 0


def test_put_for_exact_lookups_only_embeds_nothing(embedder: Embedder) -> None:
    counting = Counting(embedder)
    with SemanticCache(":memory:", embedder=counting) as cache:
        cache.put("embedding-sha256:abc", "vector bytes", semantic=False)
        assert counting.calls == 0
        assert cache.get("embedding-sha256:abc", semantic=False).response == "vector bytes"
        assert cache.candidates("embedding-sha256:abd", k=1) == []
        with pytest.raises(InvalidInputError):
            cache.put("q", "a", semantic="no")  # type: ignore[arg-type]
