"""The SDKs' retry policy as pure functions over a status code and response headers.

Retry 408, 409, 429 and 5xx (and connection errors) up to ``max_retries`` times; ``x-should-retry``
overrides the status rule; ``retry-after-ms`` / ``retry-after`` (seconds or an HTTP date) set the
wait when it is positive and at most ``max_retry_after``, otherwise exponential backoff with jitter.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["RetryPolicy", "retry_after_seconds", "should_retry"]

_RETRY_STATUSES = frozenset({408, 409, 429})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait; the defaults are the official SDKs'."""

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0

    def next_delay(self, retries_done: int, status: int | None = None,
                   headers: Mapping[str, str] | None = None) -> float | None:
        """Seconds to wait before the next attempt, or None to give up (``status`` None: no response)."""
        if retries_done >= self.max_retries:
            return None
        if status is not None and not should_retry(status, headers or {}):
            return None
        return self.delay(retries_done, headers)

    def delay(self, retries_done: int, headers: Mapping[str, str] | None = None,
              rand: Callable[[], float] = random.random, now: float | None = None) -> float:
        """Seconds to sleep before retry number ``retries_done + 1``."""
        server = retry_after_seconds(headers, now) if headers is not None else None
        if server is not None and 0 < server <= self.max_retry_after:
            return server
        backoff = min(self.initial_delay * 2.0 ** min(retries_done, 64), self.max_delay)
        return backoff * (1 - 0.25 * rand())


def should_retry(status: int, headers: Mapping[str, str]) -> bool:
    """Whether a response with ``status`` is worth another attempt."""
    hint = headers.get("x-should-retry")
    if hint == "true":
        return True
    if hint == "false":
        return False
    return status in _RETRY_STATUSES or status >= 500


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The server's requested wait in seconds, or None when absent or unparsable."""
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / scale
        except ValueError:
            continue
        if math.isfinite(seconds):
            return seconds
    value = headers.get("retry-after")
    if value is None:
        return None
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return float(email.utils.mktime_tz(parsed)) - (time.time() if now is None else now)
