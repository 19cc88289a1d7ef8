"""Request coalescing (single-flight, like nginx's ``proxy_cache_lock``): identical concurrent
misses go upstream once. The first request for a key leads; the others wait, bounded, for the
leader to finish, then look the cache up again and are served the stored answer. A leader that
fails, or an answer that may not be stored, lets the waiters go upstream themselves: a follower
is never failed by its leader.

Keys are exact (namespace, scope, normalised query): paraphrases are not coalesced.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from .._errors import InvalidInputError
from .._normalize import normalise_query, query_hash, scope_key
from ._policy import Plan

__all__ = ["AsyncFlights", "Flights", "Release", "flight_key"]

#: Ends a flight a caller leads (idempotent): its followers wake and look the cache up again.
Release = Callable[[], None]


def _nothing() -> None:
    """The release of a request that is not coalesced (no key)."""

#: The longest a follower waits for its leader before going upstream itself.
DEFAULT_WAIT = 30.0


def flight_key(namespace: str, plan: Plan) -> str | None:
    """The coalescing key of a plan that looks the cache up, else None (also for a scope that
    cannot be keyed, such as a NaN or an out-of-range number: the cache is not used)."""
    if plan.query is None or not plan.lookup or not plan.keep:  # nothing will be stored to follow
        return None
    try:
        scope = scope_key(plan.scope)
    except InvalidInputError:
        return None
    return f"{namespace}\0{scope}\0{query_hash(normalise_query(plan.query))}"


class AsyncFlights:
    """Single-flight for one event loop (the proxy's worker)."""

    def __init__(self, wait: float = DEFAULT_WAIT) -> None:
        self.wait = wait
        self._running: dict[str, asyncio.Event] = {}
        self._owners: dict[str, asyncio.Task[Any] | None] = {}

    @asynccontextmanager
    async def lead_or_wait(self, key: str | None) -> AsyncIterator[bool]:
        """Yields True for the leader (who must then answer), False for a follower once its
        leader has finished or the wait ran out (who should look the cache up again)."""
        if key is None:
            yield True
            return
        running = self._running.get(key)
        if running is not None:
            try:
                await asyncio.wait_for(running.wait(), self.wait)
            except asyncio.TimeoutError:
                pass
            yield False
            return
        done = self._running[key] = asyncio.Event()
        try:
            yield True
        finally:
            self._running.pop(key, None)
            done.set()

    def begin(self, key: str | None) -> asyncio.Event | None:
        """Lead ``key``: returns the event to set (with :meth:`finish`) when the answer is
        stored or given up; None when another request leads (or there is no key)."""
        if key is None or key in self._running:
            return None
        done = self._running[key] = asyncio.Event()
        return done

    def finish(self, key: str, done: asyncio.Event) -> None:
        """The leader is done: wake its followers."""
        if self._running.get(key) is done:
            del self._running[key]
        done.set()

    async def follow(self, key: str | None) -> bool:
        """Wait (bounded) for the request leading ``key``; False when there is none."""
        running = self._running.get(key) if key is not None else None
        if running is None:
            return False
        try:
            await asyncio.wait_for(running.wait(), self.wait)
        except asyncio.TimeoutError:
            pass
        return True

    async def claim(self, key: str | None) -> Release | None:
        """Lead ``key`` until the returned release is called (for a stream, whose answer is
        stored only when its consumer reaches the end); None when another request leads it,
        once that one is done or the wait ran out (then look the cache up again)."""
        if key is None:
            return _nothing
        task = asyncio.current_task()
        done = self.begin(key)
        if done is None:
            if self._owners.get(key) is task:
                return _nothing  # its own unread stream leads: waiting would wait for itself
            await self.follow(key)
            return None
        self._owners[key] = task

        def release() -> None:
            if self._running.get(key) is done:
                self._owners.pop(key, None)
            self.finish(key, done)
        return release

    def __len__(self) -> int:
        return len(self._running)


class Flights:
    """Single-flight across threads (the blocking clients)."""

    def __init__(self, wait: float = DEFAULT_WAIT) -> None:
        self.wait = wait
        self._lock = threading.Lock()
        self._running: dict[str, threading.Event] = {}
        self._owners: dict[str, int] = {}

    @contextmanager
    def lead_or_wait(self, key: str | None) -> Iterator[bool]:
        """The blocking twin of :meth:`AsyncFlights.lead_or_wait`."""
        if key is None:
            yield True
            return
        with self._lock:
            running = self._running.get(key)
            if running is None:
                done = self._running[key] = threading.Event()
        if running is not None:
            running.wait(self.wait)
            yield False
            return
        try:
            yield True
        finally:
            with self._lock:
                self._running.pop(key, None)
            done.set()

    def claim(self, key: str | None) -> Release | None:
        """The blocking twin of :meth:`AsyncFlights.claim`."""
        if key is None:
            return _nothing
        me = threading.get_ident()
        with self._lock:
            running = self._running.get(key)
            if running is None:
                done = self._running[key] = threading.Event()
                self._owners[key] = me
            elif self._owners.get(key) == me:
                return _nothing  # its own unread stream leads: waiting would wait for itself
        if running is not None:
            running.wait(self.wait)
            return None

        def release() -> None:
            with self._lock:
                if self._running.get(key) is done:
                    del self._running[key]
                    self._owners.pop(key, None)
            done.set()
        return release
