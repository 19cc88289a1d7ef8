"""Locks and concurrency: another process holding the lock past the retry budget, and many
writers (processes and threads) on one file."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cacheback import SemanticCache

from .harness import FaultHarness, upstream_answer
from .processes import ForkedScenario
from .workers import question

REPO = Path(__file__).resolve().parents[1]


@contextmanager
def _lock_held(path: Path, *pragmas: str) -> Iterator[None]:
    """A forked process takes the write lock on ``path`` and holds it for the ``with`` block."""

    def body(step: Callable[[], None]) -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        for pragma in pragmas:
            conn.execute(pragma)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE totals SET entries = entries")
        step()
        conn.execute("ROLLBACK")
        conn.close()

    holder = ForkedScenario(body)
    holder.wait_step()
    try:
        yield
    finally:
        holder.go()
        holder.finish()


def test_lock_held_by_another_process_past_the_retry_budget(harness: FaultHarness, tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    harness.open(path)
    warm = harness.warm()
    with _lock_held(path):
        mark = harness.mark()
        tally = harness.exercise(warm + harness.questions(5))
        assert tally.hits >= len(warm), "reads must go on while another process writes"
        stats = harness.assert_visible(mark, "errors.storage", log="locked")
        assert stats["counters"]["skipped.breaker_open"] > 0, "each call waited out the budget again"
    harness.assert_recovers(survivors=warm)


@pytest.mark.parametrize(
    ("pragmas", "readers_blocked", "counter"),
    [((), False, "errors.storage"), (("PRAGMA locking_mode = EXCLUSIVE",), True, "errors.storage_open")],
    ids=["write-lock-while-opening", "exclusive-lock-shuts-out-readers"],
)
def test_lock_held_while_the_cache_opens(
    harness: FaultHarness, tmp_path: Path, pragmas: tuple[str, ...], readers_blocked: bool, counter: str
) -> None:
    """An up-to-date file needs no write to open, so the cache opens and serves reads at once;
    under an exclusive lock nothing can be read, and the open is retried after the backoff."""
    path = tmp_path / "cache.db"
    harness.open(path)
    warm = harness.warm()
    harness.close()
    with _lock_held(path, *pragmas):
        mark = harness.mark()
        harness.open(path)
        tally = harness.exercise(warm + harness.questions(3))
        assert (tally.hits == 0) if readers_blocked else (tally.hits >= len(warm))
        harness.assert_visible(mark, counter, log="locked")
    harness.assert_recovers(survivors=warm)


def _stored_queries(path: Path) -> dict[str, str]:
    with sqlite3.connect(path) as conn:
        rows = dict(conn.execute("SELECT query, response FROM entries").fetchall())
    conn.close()
    return rows


@pytest.mark.slow
def test_four_processes_write_a_thousand_entries_each(tmp_path: Path) -> None:
    path, go = tmp_path / "cache.db", tmp_path / "go"
    SemanticCache(path, embedder=None).close()
    writers = [
        subprocess.Popen(
            [sys.executable, "-m", "fault_injection.workers", str(path), "--writer", str(w),
             "--count", "1000", "--answer-size", "300", "--go-file", str(go)],
            cwd=REPO, stdout=subprocess.PIPE, text=True,
        )
        for w in range(4)
    ]
    for proc in writers:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    go.touch()
    results = []
    for proc in writers:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        results.append(json.loads(out.strip().splitlines()[-1].removeprefix("result ")))
    for result in results:
        assert result["skipped"] == 0
        assert not any(name.startswith("errors.") for name in result["counters"]), result
    stored = _stored_queries(path)
    expected = {question(w, n): upstream_answer(question(w, n), 300) for w in range(4) for n in range(1000)}
    assert stored == expected


def test_threads_write_through_one_cache_and_through_several(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    errors: list[BaseException] = []
    skipped: list[str] = []
    with SemanticCache(path, embedder=None) as shared:

        def work(writer: int, cache: SemanticCache) -> None:
            try:
                for n in range(150):
                    q = question(writer, n)
                    if cache.put(q, upstream_answer(q)) is None:
                        skipped.append(q)
                    hit = cache.get(q)
                    assert hit is None or hit.response == upstream_answer(q)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        own = [SemanticCache(path, embedder=None) for _ in range(3)]
        caches = [shared] * 5 + own
        threads = [threading.Thread(target=work, args=(w, c)) for w, c in enumerate(caches)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for cache in own:
            cache.close()
        counters = shared.stats()["counters"]
    assert not errors and not skipped
    assert not any(name.startswith("errors.") for name in counters)
    assert _stored_queries(path) == {
        question(w, n): upstream_answer(question(w, n)) for w in range(len(caches)) for n in range(150)
    }
