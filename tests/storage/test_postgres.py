"""PostgresStorage against a real PostgreSQL 18 + pgvector server: the URL rule, migrations
under the advisory lock, checksums, server search with filters, and every server failure
mapped to the StorageError family within bounded time."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cacheback import (
    ConfigurationError,
    DatabaseUnavailableError,
    SchemaVersionError,
    SemanticCache,
    StorageError,
)
from cacheback.embed import Embedder
from cacheback.storage import NewEntry, open_storage, resolve_location

pg = pytest.importorskip("cacheback.storage._postgres")
psycopg = pytest.importorskip("psycopg")


def _entry(query: str, *, namespace: str = "ns", scope: str = "", created: float = 1_000.0,
           expires: float | None = None, embedding: np.ndarray | None = None,
           **extra: Any) -> NewEntry:
    fields: dict[str, Any] = dict(
        namespace=namespace, scope_key=scope, query_hash=f"h-{query}", norm_query=query,
        query=query, response=f"answer to {query}", payload=None, embedding=embedding,
        embed_model=None if embedding is None else "m", created=created, expires=expires,
        metadata=None,
    )
    return NewEntry(**{**fields, **extra})


def _unit(seed: int, dim: int = 32) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=dim).astype(np.float32)
    return v / np.linalg.norm(v)


@pytest.fixture
def url(pg_server: Any) -> str:
    return str(pg_server.url())


@pytest.fixture
def store(url: str) -> Any:
    storage = pg.PostgresStorage(url)
    yield storage
    storage.close()


def _sql(url: str, statement: str, *params: Any) -> Any:
    libpq, settings = pg.PostgresSettings.from_url(url)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{settings.schema}", public')
        cur = conn.execute(statement, params or None)
        return cur.fetchall() if cur.description else None


@pytest.mark.parametrize("location", [
    "postgresql:", "mysql://db/x", "redis://localhost", "http://example.com/db",
    "postgresql://h/db?pool_max=lots", "postgresql://h/db?schema=bad-name",
    "postgresql://h/db?no_such_libpq_option=1", "sqlite://relative.db",
])
def test_a_bad_url_is_a_configuration_error_never_a_file(
    location: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError):
        SemanticCache(location, embedder=None)
    with pytest.raises(ConfigurationError):
        resolve_location(location)
    assert list(tmp_path.iterdir()) == []


def test_environment_variable_names_the_database(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CACHEBACK_DATABASE_URL", url)
    with SemanticCache(embedder=None) as cache:
        assert cache.stats()["backend"] == "postgresql"
        cache.put("What is Python?", "A language.")
    with SemanticCache(url, embedder=None) as cache:
        assert cache.get("What is Python?").response == "A language."


def test_password_never_shows_in_stats(pg_server: Any) -> None:
    url = pg_server.url().replace("postgres:@", "postgres:s3cret@")
    with SemanticCache(url, embedder=None) as cache:
        assert "s3cret" not in str(cache.stats())


def test_processes_opening_at_once_migrate_once(url: str) -> None:
    """Several processes create the same schema together: the advisory lock serialises them."""
    code = textwrap.dedent(f"""
        from cacheback.storage import open_storage
        s = open_storage({url!r}); s.put(__import__('cacheback.storage', fromlist=['x']).NewEntry(
            'ns', '', 'h', 'q', 'q', 'a', None, None, None, 1.0, None, None)); s.close()
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE) for _ in range(4)]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
    assert _sql(url, "SELECT value FROM meta WHERE key = 'schema_version'") == [("1",)]
    assert _sql(url, "SELECT count(*) FROM entries") == [(1,)]


def test_a_newer_schema_is_refused(url: str, store: Any) -> None:
    _sql(url, "UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(SchemaVersionError):
        pg.PostgresStorage(url)


def test_a_row_that_fails_its_checksum_is_skipped_not_served(url: str, store: Any) -> None:
    """On a shared server one damaged row is a miss (counted), not a reason to drop the cache."""
    entry_id = store.put(_entry("q", embedding=_unit(1)))
    _sql(url, "UPDATE entries SET response = 'tampered' WHERE id = %s", entry_id)
    assert store.get_exact("ns", "", "h-q", 1_000.0) is None
    assert store.search("ns", "", "m", _unit(1), 5, 1_000.0) == []
    assert store.counts()["corrupt_rows_skipped"] == 2
    assert store.integrity_check() == [f"entry {entry_id} does not match its checksum"]


def test_liveness_matches_sqlite(store: Any) -> None:
    store.put(_entry("expired", expires=1_010.0))
    store.put(_entry("future", created=2_000.0, expires=2_060.0))
    store.put(_entry("forever", created=2_000.0))
    assert store.get_exact("ns", "", "h-expired", 1_020.0) is None
    assert store.get_exact("ns", "", "h-future", 1_020.0) is None
    assert store.get_exact("ns", "", "h-forever", 1_020.0) is not None
    assert store.purge_expired(1_020.0, 10) == [1]


def test_search_keeps_namespace_scope_model_and_feedback_filters(store: Any) -> None:
    """The filter is applied by the index scan (iterative scan), so a small partition among many
    other rows still gets its k nearest rows."""
    target = _unit(0)
    for i in range(300):
        store.put(_entry(f"other {i}", namespace="big", embedding=_unit(1000 + i)))
    ids = [store.put(_entry(f"mine {i}", scope="s1", embedding=_unit(i))) for i in range(5)]
    store.put(_entry("other scope", scope="s2", embedding=target))
    store.put(_entry("other model", scope="s1", embedding=target, embed_model="m2",
                     query_hash="h-m2"))
    found = store.search("ns", "s1", "m", target, 3, 1_000.0)
    assert [e.id for e, _ in found][0] == ids[0]
    assert found[0][1] == pytest.approx(1.0, abs=1e-5)
    assert len(found) == 3 and all(e.namespace == "ns" and e.scope_key == "s1" for e, _ in found)
    sims = [s for _, s in found]
    assert sims == sorted(sims, reverse=True)
    store.add_feedback(pg_feedback(ids[0], "h-asked"))
    assert ids[0] not in [e.id for e, _ in store.search("ns", "s1", "m", target, 3, 1_000.0, "h-asked")]
    assert ids[0] in [e.id for e, _ in store.search("ns", "s1", "m", target, 3, 1_000.0, "h-other")]


@pytest.mark.parametrize("exact_rows", [2000, 10])
def test_small_partitions_are_searched_exactly_large_ones_through_the_graph(
    pg_server: Any, exact_rows: int
) -> None:
    """Both paths give the exact answer here (30 rows); a partition found larger than
    ``exact_search_rows`` is remembered, so it is not counted on every search."""
    store = pg.PostgresStorage(pg_server.url(exact_search_rows=exact_rows))
    try:
        vectors = {store.put(_entry(f"q{i}", embedding=_unit(i))): _unit(i) for i in range(30)}
        target = _unit(99)
        truth = sorted(vectors, key=lambda i: -float(vectors[i] @ target))[:4]
        for _ in range(2):
            found = store.search("ns", "", "m", target, 4, 1_000.0)
            assert [e.id for e, _ in found] == truth
            assert [s for _, s in found] == pytest.approx(
                [float(vectors[i] @ target) for i in truth], abs=1e-5)
        assert (("ns", "", 32) in store._large_partitions) == (exact_rows < 30)
        assert (("ns", "", 32) in store._small_partitions) == (exact_rows >= 30)
        assert store.search("empty", "", "m", target, 4, 1_000.0) == []
    finally:
        store.close()


def test_a_partition_remembered_small_is_still_searched_exactly_after_it_grows(pg_server: Any) -> None:
    """A partition counted small is searched exactly for a few seconds without a recount; rows
    added meanwhile are found, since an exact search is right at any size."""
    store = pg.PostgresStorage(pg_server.url(exact_search_rows=5))
    try:
        vectors = {store.put(_entry(f"q{i}", embedding=_unit(i))): _unit(i) for i in range(3)}
        target = _unit(99)
        store.search("ns", "", "m", target, 2, 1_000.0)
        assert ("ns", "", 32) in store._small_partitions
        vectors |= {store.put(_entry(f"r{i}", embedding=_unit(i))): _unit(i) for i in range(3, 30)}
        truth = sorted(vectors, key=lambda i: -float(vectors[i] @ target))[:2]
        assert [e.id for e, _ in store.search("ns", "", "m", target, 2, 1_000.0)] == truth
    finally:
        store.close()


def test_hit_counts_skip_rows_another_process_holds(url: str, store: Any) -> None:
    """Two proxies flushing hit counts of the same popular entries must not wait for each other
    (a lock timeout there opened the breaker: hits served from upstream). A locked row's count
    is carried into the next flush."""
    first, second = store.put(_entry("a")), store.put(_entry("b"))
    libpq, _ = pg.PostgresSettings.from_url(url)
    with psycopg.connect(libpq) as other:
        other.execute(f'SELECT 1 FROM "{store.settings.schema}".entries WHERE id = %s FOR UPDATE',
                      (first,))
        started = time.monotonic()
        store.record_hits({first: (3, 2_000.0), second: (1, 2_001.0)})
        assert time.monotonic() - started < store.settings.lock_timeout_ms / 1000
        other.rollback()
    counts = dict(_sql(url, "SELECT id, hit_count FROM entries"))
    assert counts == {first: 0, second: 1}
    store.record_hits({})
    assert _sql(url, "SELECT hit_count, last_hit FROM entries WHERE id = %s", first) == [(3, 2_000.0)]


def pg_feedback(entry_id: int, qhash: str) -> Any:
    from cacheback.storage import Feedback

    return Feedback(entry_id=entry_id, namespace="ns", scope_key="s1", query="asked",
                    query_hash=qhash, matched_query="mine", similarity=0.9, probability=None,
                    tier="semantic", correct=False, created=1_000.0)


def test_evict_and_totals(store: Any) -> None:
    for i in range(10):
        store.put(_entry(f"q{i}", created=1_000.0 + i))
    assert store.counts()["entries"] == 10
    removed = store.evict(7, None, "oldest-first")
    assert sorted(removed) == [1, 2, 3]
    assert store.counts()["entries"] == 7
    total = store.counts()["payload_bytes"]
    store.evict(None, total // 2, "least-recently-used")
    assert store.counts()["payload_bytes"] <= total // 2


def test_pool_exhausted_is_unavailable_within_the_pool_timeout(pg_server: Any) -> None:
    store = pg.PostgresStorage(pg_server.url(pool_max=1, pool_timeout=0.2))
    try:
        held = threading.Event()
        release = threading.Event()

        def hold() -> None:
            with store.transaction():
                held.set()
                release.wait(5)

        worker = threading.Thread(target=hold)
        worker.start()
        held.wait(5)
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailableError, match="pool"):
            store.get_exact("ns", "", "h", 1.0)
        assert time.monotonic() - started < 1.0
        release.set()
        worker.join()
        assert store.get_exact("ns", "", "h", 1.0) is None
    finally:
        store.close()


def test_lock_wait_and_slow_statements_are_cut_short(url: str, store: Any) -> None:
    store.put(_entry("q"))
    libpq, _ = pg.PostgresSettings.from_url(url)
    with psycopg.connect(libpq) as blocker:
        blocker.execute(f'LOCK TABLE "{store.settings.schema}".totals IN ACCESS EXCLUSIVE MODE')
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailableError, match="timeout"):
            store.counts()
        assert time.monotonic() - started < 1.0
    with store._connection() as conn, pytest.raises(psycopg.errors.QueryCanceled):
        conn.execute("SELECT pg_sleep(2)")
    assert store.counts()["entries"] == 1


def test_read_only_database_is_unavailable_for_writes_reads_go_on(url: str, store: Any) -> None:
    store.put(_entry("q"))
    read_only = pg.PostgresStorage(url + "&options=-c%20default_transaction_read_only%3Don")
    try:
        assert read_only.get_exact("ns", "", "h-q", 1_000.0) is not None
        with pytest.raises(DatabaseUnavailableError, match="read-only"):
            read_only.put(_entry("new"))
    finally:
        read_only.close()


def test_unreachable_server_is_a_storage_error(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(StorageError):
        open_storage(f"postgresql://postgres@/postgres?host={tmp_path}")
    assert time.monotonic() - started < 3.0


def test_two_processes_share_one_database(url: str, embedder: Embedder) -> None:
    """What one process stores, another serves (exact and semantic); another namespace misses."""
    code = textwrap.dedent(f"""
        from cacheback import SemanticCache
        with SemanticCache({url!r}) as cache:
            assert cache.put("How do I reset my password?", "Settings, then Security.") is not None
            assert cache.put("What is the capital of France?", "Paris.", namespace="team-b")
    """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    with SemanticCache(url, embedder=embedder) as cache:
        exact = cache.get("How do I reset my password?")
        assert exact is not None and exact.tier == "exact"
        semantic = cache.get("How can I reset my password?")
        assert semantic is not None and semantic.tier == "semantic"
        assert semantic.response == "Settings, then Security."
        assert cache.get("How do I reset my password?", namespace="team-b") is None
        assert cache.get("What is the capital of France?") is None
        assert cache.get("What is the capital of France?", namespace="team-b").tier == "exact"
        assert cache.stats()["indexed_vectors"] == 0, "searched on the server, no local index"
