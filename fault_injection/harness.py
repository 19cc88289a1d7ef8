"""The fault-injection harness: a tiny app that answers through the cache, and the four checks.

A scenario injects one fault into a running cache, exercises the app, then checks that

1. the caller gets the correct upstream answer and no cache exception leaks (:meth:`FaultHarness.ask`),
2. nothing wrong, partial or expired is ever served from the cache (also :meth:`FaultHarness.ask`),
3. the fault is visible: a few ``cacheback`` log lines and a counter in ``stats()``
   (:meth:`FaultHarness.assert_visible`),
4. once the fault clears, caching resumes by itself after the breaker's backoff
   (:meth:`FaultHarness.assert_recovers`).
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from cacheback import Hit, SemanticCache
from cacheback._breaker import CircuitBreaker
from cacheback._normalize import normalise_query

from .question_bank import QUESTION_BANK

__all__ = ["App", "FaultHarness", "Mark", "ManualClock", "Reply", "Tally", "upstream_answer"]

#: Breaker settings for every scenario: short, and driven by the harness's own clock.
BASE_DELAY = 1.0
MAX_DELAY = 8.0


class ManualClock:
    """A clock the test moves by hand: the cache's wall clock (TTLs) and the breaker's clock.
    ``true`` is the time that really passed; :meth:`jump` sets the clock wrong without moving it."""

    def __init__(self, start: float) -> None:
        self.now = start
        self.true = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.true += seconds

    def jump(self, seconds: float) -> None:
        self.now += seconds


def upstream_answer(question: str, size: int = 0) -> str:
    """The stand-in for the model: a distinct answer per (normalised) question, padded to ``size``
    characters with a digest-derived tail so a truncated or mixed-up answer never compares equal."""
    digest = hashlib.sha256(normalise_query(question).encode("utf-8", "surrogatepass")).hexdigest()
    head = f"answer[{digest[:16]}] to {ascii(question)[:60]}."
    if len(head) >= size:
        return head
    tail = (digest * (size // len(digest) + 1))[: size - len(head)]
    return head + tail


@dataclass(frozen=True)
class Reply:
    """What the app returned, and the cache hit it came from (``None``: answered upstream)."""

    question: str
    text: str
    hit: Hit | None


@dataclass
class Tally:
    """How a batch of questions was answered."""

    hits: int = 0
    misses: int = 0
    stores_skipped: int = 0

    def add(self, other: Tally) -> None:
        self.hits += other.hits
        self.misses += other.misses
        self.stores_skipped += other.stores_skipped


class App:
    """Cache-then-upstream, as an application would write it, with no try/except around the cache."""

    def __init__(
        self,
        cache: SemanticCache,
        upstream: Callable[[str], str],
        clock: ManualClock,
        ttl: float | None = None,
    ) -> None:
        self.cache = cache
        self.upstream = upstream
        self.clock = clock
        self.ttl = ttl
        self.upstream_calls = 0
        self.stores_skipped = 0
        self.expires: dict[int, float] = {}

    def ask(self, question: str) -> Reply:
        hit = self.cache.get(question)
        if hit is not None:
            return Reply(question, hit.response, hit)
        text = self.upstream(question)
        self.upstream_calls += 1
        entry_id = self.cache.put(question, text, ttl=self.ttl)
        if entry_id is None:
            self.stores_skipped += 1
        elif self.ttl is not None:
            self.expires[entry_id] = self.clock.true + self.ttl
        return Reply(question, text, None)


@dataclass(frozen=True)
class Mark:
    """A point in a scenario: the counters and log records seen so far."""

    counters: dict[str, int]
    records: int


@dataclass
class FaultHarness:
    """One scenario's cache, app, clocks and checks; closes the cache at teardown."""

    caplog: pytest.LogCaptureFixture
    answer_size: int = 0
    wall: ManualClock = field(default_factory=lambda: ManualClock(1_700_000_000.0))
    mono: ManualClock = field(default_factory=lambda: ManualClock(10_000.0))
    cache: SemanticCache | None = None
    app: App | None = None
    same_as: dict[str, str] = field(default_factory=dict)
    semantic: bool = False
    _serial: Iterator[int] = field(default_factory=itertools.count)
    _banked: Iterator[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.caplog.set_level(logging.INFO, logger="cacheback")

    # -- set-up ------------------------------------------------------------------------

    def open(
        self, path: str | os.PathLike[str], *, ttl: float | None = None, **options: Any
    ) -> SemanticCache:
        """Open a cache on ``path`` (closing any previous one) with the harness's clocks."""
        self.close()
        options.setdefault("embedder", None)
        self.semantic = options["embedder"] is not None
        breaker = CircuitBreaker(base_delay=BASE_DELAY, max_delay=MAX_DELAY, clock=self.mono)
        self.cache = SemanticCache(path, clock=self.wall, breaker=breaker, **options)
        self.app = App(self.cache, self.expected, self.wall, ttl=ttl)
        return self.cache

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()
            self.cache = None

    def expected(self, question: str) -> str:
        """The correct upstream answer for ``question`` (a paraphrase answers as its original)."""
        return upstream_answer(self.same_as.get(question, question), self.answer_size)

    def questions(self, n: int, topic: str = "fault") -> list[str]:
        """``n`` questions never asked before in this scenario; unrelated ones from the bank
        while the semantic tier is on, so that none is a paraphrase of another."""
        if self.semantic:
            return [QUESTION_BANK[next(self._banked)] for _ in range(n)]
        return [f"Question {next(self._serial)} about {topic}?" for _ in range(n)]

    # -- checks 1 and 2 ----------------------------------------------------------------

    def ask(self, question: str) -> Reply:
        """Ask through the app; check the answer is right and, if cached, neither wrong nor expired."""
        assert self.app is not None, "open() a cache first"
        reply = self.app.ask(question)
        assert reply.text == self.expected(question), f"wrong answer for {question!r}"
        if reply.hit is not None:
            assert reply.hit.response == self.expected(question), "a wrong or partial answer was served"
            expires = self.app.expires.get(reply.hit.entry_id)
            assert expires is None or self.wall.true < expires, "an expired answer was served"
        return reply

    def exercise(self, questions: Iterable[str], rounds: int = 2) -> Tally:
        """Ask every question ``rounds`` times through the app, checking each reply."""
        assert self.app is not None, "open() a cache first"
        tally = Tally()
        skipped_before = self.app.stores_skipped
        for _ in range(rounds):
            for question in questions:
                if self.ask(question).hit is None:
                    tally.misses += 1
                else:
                    tally.hits += 1
        tally.stores_skipped = self.app.stores_skipped - skipped_before
        return tally

    def warm(self, n: int = 3) -> list[str]:
        """Store ``n`` answers before the fault and check they are served from the cache."""
        questions = self.questions(n, "warm-up")
        tally = self.exercise(questions, rounds=2)
        assert (tally.misses, tally.hits) == (n, n), f"the healthy cache did not cache: {tally}"
        return questions

    # -- check 3 -----------------------------------------------------------------------

    def mark(self) -> Mark:
        """Remember the counters and log so far (all zero before a cache is open)."""
        counters = dict(self.cache.stats()["counters"]) if self.cache is not None else {}
        return Mark(counters, len(self.caplog.records))

    def log_lines(self, since: Mark) -> list[str]:
        """Warnings and errors the ``cacheback`` logger wrote since ``since``."""
        return [
            r.getMessage()
            for r in self.caplog.records[since.records :]
            if r.name.startswith("cacheback") and r.levelno >= logging.WARNING
        ]

    def assert_visible(
        self, since: Mark, counter: str, *, log: str | None = "", max_lines: int = 2
    ) -> dict[str, Any]:
        """The fault raised ``counter`` and was logged (containing ``log``) at most ``max_lines``
        times, not once per call. ``log=None`` for faults that are counted but not logged."""
        assert self.cache is not None, "open() a cache first"
        stats = self.cache.stats()
        before = since.counters.get(counter, 0)
        after = stats["counters"].get(counter, 0)
        assert after > before, f"counter {counter!r} did not move: {stats['counters']}"
        lines = self.log_lines(since)
        if log is not None:
            assert 1 <= len(lines) <= max_lines, f"expected 1..{max_lines} log lines, got {lines}"
            assert any(log in line for line in lines), f"no log line mentions {log!r}: {lines}"
        return stats

    # -- check 4 -----------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Let time pass: the wall clock and the monotonic clock (breaker, steady TTL time)."""
        self.wall.advance(seconds)
        self.mono.advance(seconds)

    def let_breaker_retry(self) -> None:
        """Let the breaker's longest backoff pass, so its next call is a trial."""
        self.advance(MAX_DELAY + 1)

    def assert_recovers(self, survivors: Iterable[str] = ()) -> None:
        """After the backoff, new answers are stored and served again, ``survivors`` are still
        served, and the breaker is closed."""
        assert self.cache is not None, "open() a cache first"
        self.let_breaker_retry()
        for question in survivors:
            assert self.ask(question).hit is not None, f"{question!r} did not survive the fault"
        fresh = self.questions(3, "recovery")
        tally = self.exercise(fresh, rounds=2)
        assert (tally.misses, tally.hits, tally.stores_skipped) == (3, 3, 0), (
            f"caching did not resume: {tally}, {self.cache.stats()}"
        )
        assert self.cache.stats()["breaker"] == "closed"
