"""Feedback: a hit reported wrong is never served again, and every judgement is kept in SQLite."""

from __future__ import annotations

from pathlib import Path

from cacheback import SemanticCache
from cacheback.embed import Embedder
from cacheback.match import ThresholdMatcher
from cacheback.storage import SQLiteStorage

STORED = "How do I reset my password?"
ASKED = "How can I reset my password?"


def test_wrong_hit_is_blocked_and_survives_reopen(tmp_path: Path, embedder: Embedder) -> None:
    path = tmp_path / "cache.db"
    with SemanticCache(path, embedder=embedder) as cache:
        cache.put(STORED, "Go to Settings > Security.")
        hit = cache.get(ASKED)
        assert hit is not None and hit.tier == "semantic"
        cache.report(hit, correct=False, note="answer was for another product")
        assert cache.get(ASKED) is None
        assert cache.get(STORED) is not None
    with SemanticCache(path, embedder=embedder) as cache:
        assert cache.get(ASKED) is None
        assert cache.get(STORED) is not None
        assert cache.stats()["feedback"] == 1
    storage = SQLiteStorage(path)
    try:
        (row,) = storage.feedback_rows()
    finally:
        storage.close()
    assert (row["query"], row["matched_query"], row["correct"], row["tier"]) == (ASKED, STORED, 0, "semantic")
    assert row["note"] == "answer was for another product" and 0.0 < row["probability"] <= 1.0


def test_block_is_per_query_and_entry(embedder: Embedder) -> None:
    with SemanticCache(":memory:", embedder=embedder, matcher=ThresholdMatcher(0.8)) as cache:
        first = cache.put(STORED, "first answer")
        cache.put("How do I change my password?", "second answer")
        hit = cache.get(ASKED)
        assert hit is not None and hit.entry_id == first
        cache.report(hit, correct=False)
        other = cache.get(ASKED)
        assert other is None or other.entry_id != first
        assert cache.get("Can I reset my password?") is not None


def test_correct_judgement_is_recorded_and_keeps_serving(tmp_path: Path, embedder: Embedder) -> None:
    path = tmp_path / "cache.db"
    with SemanticCache(path, embedder=embedder) as cache:
        cache.put(STORED, "Go to Settings > Security.")
        hit = cache.get(ASKED)
        assert hit is not None
        cache.report(hit, correct=True)
        assert cache.get(ASKED) is not None
    storage = SQLiteStorage(path)
    try:
        assert [r["correct"] for r in storage.feedback_rows()] == [1]
    finally:
        storage.close()


def test_exact_hit_reported_wrong_is_blocked_too(embedder: Embedder) -> None:
    with SemanticCache(":memory:", embedder=embedder) as cache:
        cache.put(STORED, "stale answer")
        hit = cache.get(STORED)
        assert hit is not None and hit.tier == "exact"
        cache.report(hit, correct=False)
        assert cache.get(STORED) is None
