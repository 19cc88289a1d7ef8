"""A circuit breaker so a broken disk is retried with backoff instead of on every call."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["CircuitBreaker"]


class CircuitBreaker:
    """Closed until a failure; then open for ``delay`` seconds (doubling up to ``max_delay``),
    after which one trial call is let through (half-open). A success closes it again."""

    def __init__(
        self,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.clock = clock
        self._lock = threading.Lock()
        self._delay = 0.0
        self._open_until = 0.0
        self.trips = 0
        self.last_error: str | None = None

    def fresh(self) -> CircuitBreaker:
        """A closed breaker with the same delays and clock, for another resource."""
        return CircuitBreaker(self.base_delay, self.max_delay, self.clock)

    @property
    def state(self) -> str:
        if self._delay == 0.0:
            return "closed"
        return "open" if self.clock() < self._open_until else "half-open"

    def allow(self) -> bool:
        """May a call go to the protected resource now?"""
        with self._lock:
            if self._delay == 0.0:
                return True
            now = self.clock()
            if now < self._open_until:
                return False
            self._open_until = now + self._delay
            return True

    def success(self) -> None:
        with self._lock:
            self._delay = 0.0
            self._open_until = 0.0

    def failure(self, error: BaseException) -> None:
        with self._lock:
            self._delay = min(max(self._delay * 2, self.base_delay), self.max_delay)
            self._open_until = self.clock() + self._delay
            self.trips += 1
            self.last_error = f"{type(error).__name__}: {error}"
