"""The system clock jumping backwards or forwards under entries with a TTL: an entry is never
served past its TTL in real time, and caching goes on while the clock is wrong."""

from __future__ import annotations

from pathlib import Path

from cacheback import SemanticCache

from .harness import FaultHarness

TTL = 60.0


def test_clock_jumps_backwards(harness: FaultHarness, tmp_path: Path) -> None:
    harness.open(tmp_path / "cache.db", ttl=TTL)
    stale = harness.warm()
    harness.advance(TTL + 10)  # the entries expire in real time...
    harness.exercise(harness.questions(1), rounds=1)
    mark = harness.mark()
    harness.wall.jump(-40)  # ...and the clock is set back to before their expiry
    tally = harness.exercise(stale, rounds=1)
    assert tally.hits == 0
    harness.assert_visible(mark, "clock.backwards", log="backwards", max_lines=1)
    harness.assert_recovers()  # entries stored while the clock is behind work as usual
    survivors = harness.questions(2)
    harness.exercise(survivors, rounds=1)
    harness.wall.jump(40)  # the clock is corrected
    harness.assert_recovers(survivors=survivors)


def test_clock_jumps_forwards_then_back(harness: FaultHarness, tmp_path: Path) -> None:
    """A jump forwards just expires entries early (and is indistinguishable from a suspend, so it
    is not warned about); entries written meanwhile carry future times. When the clock comes back,
    this process keeps timing them by the monotonic clock, and any other process, which cannot
    know their age, does not serve them."""
    path = tmp_path / "cache.db"
    harness.open(path, ttl=TTL)
    early = harness.warm()
    harness.wall.jump(3600)
    assert harness.exercise(early, rounds=1).hits == 0  # expired early: safe
    future = harness.questions(3)
    harness.exercise(future, rounds=1)
    mark = harness.mark()
    harness.wall.jump(-3600)
    assert harness.exercise(future, rounds=1).hits == len(future)
    harness.assert_visible(mark, "clock.backwards", log="backwards", max_lines=1)
    with SemanticCache(path, embedder=None, clock=harness.wall) as other_process:
        assert all(other_process.get(q) is None for q in future)
    harness.advance(TTL)
    assert harness.exercise(future, rounds=1).hits == 0, "served past the TTL in real time"
    harness.assert_recovers()
