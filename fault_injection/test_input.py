"""Hostile input: extremely long prompts and answers, and text that is not valid Unicode
(lone surrogates, as left by decoding bad bytes with ``surrogateescape``)."""

from __future__ import annotations

from pathlib import Path

from cacheback.embed import Embedder

from .harness import FaultHarness


def test_extremely_long_query_is_answered_upstream_and_not_cached(
    harness: FaultHarness, tmp_path: Path
) -> None:
    harness.open(tmp_path / "cache.db")
    warm = harness.warm()
    mark = harness.mark()
    huge = "Summarise this log: " + "disk sector 7 unreadable; " * 40_000
    tally = harness.exercise([huge, *warm])
    assert tally.hits == len(warm) * 2 and tally.stores_skipped == 2
    harness.assert_visible(mark, "skipped.oversize_query", log=None)
    harness.assert_recovers(survivors=warm)


def test_extremely_long_answer_is_stored_and_served_whole(harness: FaultHarness, tmp_path: Path) -> None:
    harness.answer_size = 20_000_000
    harness.open(tmp_path / "cache.db")
    questions = harness.questions(2)
    tally = harness.exercise(questions)
    assert (tally.misses, tally.hits) == (2, 2)
    harness.answer_size = 0
    harness.assert_recovers()


def test_long_prompts_sharing_a_prefix_are_not_confused(
    harness: FaultHarness, tmp_path: Path, embedder: Embedder
) -> None:
    """The model reads only the first 256 tokens: two long prompts that differ after them embed
    identically, so the semantic tier must not answer one with the other (the exact tier may)."""
    harness.open(tmp_path / "cache.db", embedder=embedder)
    preamble = "You are a careful assistant. Read the whole ticket before answering. " * 30
    first, second = preamble + "Ticket: refund order 1182.", preamble + "Ticket: cancel my account."
    harness.warm(2)
    mark = harness.mark()
    tally = harness.exercise([first, second])
    assert (tally.misses, tally.hits) == (2, 2)
    harness.assert_visible(mark, "skipped.semantic_truncated", log=None)
    harness.assert_recovers()


def test_invalid_unicode_never_collides(harness: FaultHarness, tmp_path: Path, embedder: Embedder) -> None:
    """``b"caf\\xe9"`` and ``b"caf\\xe8"`` decoded with surrogateescape differ only in a lone
    surrogate; replacing both by U+FFFD made them one key (and one embedding), so the answer to
    one was served for the other."""
    harness.open(tmp_path / "cache.db", embedder=embedder)
    harness.warm(2)
    first = b"What does caf\xe9 mean?".decode("utf-8", "surrogateescape")
    second = b"What does caf\xe8 mean?".decode("utf-8", "surrogateescape")
    mark = harness.mark()
    tally = harness.exercise([first, second])
    assert (tally.misses, tally.hits) == (2, 2)
    harness.assert_visible(mark, "skipped.semantic_undecodable", log=None)
    harness.assert_recovers()


def test_unencodable_payload_does_not_trip_the_breaker(harness: FaultHarness, tmp_path: Path) -> None:
    """One caller's bad payload is a bad input, not a broken disk: it must not stop caching for
    everyone else, and is kept losslessly (escaped in the JSON)."""
    harness.open(tmp_path / "cache.db")
    warm = harness.warm()
    assert harness.cache is not None
    payload = {"content": "broken \udce9 text", "n": 1}
    entry_id = harness.cache.put("a question with a broken payload", "an answer", payload=payload)
    assert entry_id is not None
    hit = harness.cache.get("a question with a broken payload")
    assert hit is not None and hit.payload is not None
    import json

    assert json.loads(hit.payload) == payload
    tally = harness.exercise(warm)
    assert tally.hits == len(warm) * 2
    assert harness.cache.stats()["breaker"] == "closed"
    harness.assert_recovers(survivors=warm)
