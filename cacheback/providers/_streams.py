"""Streaming responses as iterators of decoded event objects, sync and async.

Events are yielded as soon as their bytes arrive. ``finished`` becomes True only when the API's
own end marker was read (OpenAI ``[DONE]``, Anthropic ``message_stop``), which is what callers
check before treating the stream as complete. Transport failures mid-stream become
``APIConnectionError`` / ``APITimeoutError``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from types import TracebackType
from typing import Any

import httpx

from ._api import END_OF_STREAM, ApiSpec
from ._errors import connection_error
from ._sse import ServerSentEvent, aiter_events, iter_events

__all__ = ["AsyncEventStream", "EventStream"]


def _classify(spec: ApiSpec, sse: ServerSentEvent, response: httpx.Response) -> tuple[Any, bool]:
    """(event or None, whether the stream is over) for one SSE event."""
    event = spec.decode_event(sse, response)
    if event is END_OF_STREAM:
        return None, True
    return event, event is not None and spec.is_last_event(event)


class EventStream:
    """A synchronous stream of event dicts; close it (or use ``with``) to release the connection."""

    def __init__(self, spec: ApiSpec, response: httpx.Response) -> None:
        self.response = response
        self.finished = False
        self._spec = spec
        self._iterator = self._events()

    def _events(self) -> Generator[dict[str, Any], None, None]:
        try:
            for sse in iter_events(self.response.iter_bytes()):
                event, last = _classify(self._spec, sse, self.response)
                self.finished = last
                if event is not None:
                    yield event
                if last:
                    return
        except httpx.TransportError as exc:
            raise connection_error(exc, self.response.request) from exc
        finally:
            self.response.close()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self

    def __next__(self) -> dict[str, Any]:
        return next(self._iterator)

    def close(self) -> None:
        """Stop reading and release the connection."""
        self._iterator.close()
        self.response.close()

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class AsyncEventStream:
    """An asynchronous stream of event dicts; ``await close()`` (or ``async with``) releases it."""

    def __init__(self, spec: ApiSpec, response: httpx.Response) -> None:
        self.response = response
        self.finished = False
        self._spec = spec
        self._iterator = self._events()

    async def _events(self) -> AsyncGenerator[dict[str, Any], None]:
        try:
            async for sse in aiter_events(self.response.aiter_bytes()):
                event, last = _classify(self._spec, sse, self.response)
                self.finished = last
                if event is not None:
                    yield event
                if last:
                    return
        except httpx.TransportError as exc:
            raise connection_error(exc, self.response.request) from exc
        finally:
            await self.response.aclose()

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self

    async def __anext__(self) -> dict[str, Any]:
        return await self._iterator.__anext__()

    async def close(self) -> None:
        """Stop reading and release the connection."""
        await self._iterator.aclose()
        await self.response.aclose()

    async def __aenter__(self) -> AsyncEventStream:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()
