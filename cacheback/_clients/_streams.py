"""Streams returned by the cached clients, shaped like the SDKs' ``Stream`` / ``AsyncStream``.

Iterate for the provider's event objects; ``close()`` (or ``with`` / ``async with``) releases the
connection. ``.cacheback`` / ``.cacheback_hit`` tell whether the stream is a replay.
``.response`` is the upstream ``httpx.Response``, or None for a replay.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any

import httpx

from ._record import CacheRecord

__all__ = ["AsyncCachedStream", "CachedStream"]


class CachedStream:
    """A synchronous stream of chunk / event objects."""

    def __init__(self, events: Iterator[Any], record: CacheRecord,
                 response: httpx.Response | None = None,
                 on_close: Callable[[], None] | None = None) -> None:
        self._events = events
        self._on_close = on_close
        self.response = response
        self.cacheback = record
        self.cacheback_hit = record.hit

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        return next(self._events)

    def close(self) -> None:
        """Stop the stream; a stream closed before its end is never stored."""
        close = getattr(self._events, "close", None)
        if close is not None:
            close()
        if self._on_close is not None:
            self._on_close()

    def __enter__(self) -> CachedStream:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class AsyncCachedStream:
    """An asynchronous stream of chunk / event objects."""

    def __init__(self, events: AsyncIterator[Any], record: CacheRecord,
                 response: httpx.Response | None = None,
                 on_close: Callable[[], Awaitable[None]] | None = None) -> None:
        self._events = events
        self._on_close = on_close
        self.response = response
        self.cacheback = record
        self.cacheback_hit = record.hit

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        return await self._events.__anext__()

    async def close(self) -> None:
        """Stop the stream; a stream closed before its end is never stored."""
        aclose = getattr(self._events, "aclose", None)
        if aclose is not None:
            await aclose()
        if self._on_close is not None:
            await self._on_close()

    async def __aenter__(self) -> AsyncCachedStream:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()
