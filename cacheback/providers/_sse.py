"""Server-sent events: an incremental decoder that does no I/O, sync/async wrappers, an encoder.

The decoder follows the WHATWG event-stream rules: lines end in CRLF, LF or CR; ``:`` starts a
comment; ``data`` lines accumulate; a blank line dispatches; an event cut before its blank line is
dropped at end of input (so a truncated stream never yields a half event).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["SSEDecoder", "ServerSentEvent", "aiter_events", "encode_event", "iter_events"]


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event; ``event`` is None when the stream gave no event name."""

    data: str
    event: str | None = None
    id: str | None = None
    retry: int | None = None

    def json(self) -> Any:
        """The data decoded as JSON (raises ``ValueError`` when it is not JSON)."""
        return json.loads(self.data)


class SSEDecoder:
    """Feed raw bytes in any chunking; get back the events completed so far."""

    def __init__(self) -> None:
        self._pending = b""
        self._event: str | None = None
        self._data: list[str] = []
        self._id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Decode ``chunk``; a trailing partial line (or a lone CR that may precede LF) is kept."""
        lines = (self._pending + chunk).splitlines(keepends=True)
        self._pending = b""
        if lines and (lines[-1].endswith(b"\r") or not lines[-1].endswith((b"\n", b"\r"))):
            self._pending = lines.pop()
        events = []
        for raw in lines:
            event = self._line(raw.rstrip(b"\r\n").decode("utf-8"))
            if event is not None:
                events.append(event)
        return events

    def flush(self) -> list[ServerSentEvent]:
        """End of input: finish a CR-terminated last line; an undispatched event is dropped."""
        pending, self._pending = self._pending, b""
        events = []
        if pending.endswith(b"\r"):
            event = self._line(pending.rstrip(b"\r").decode("utf-8"))
            if event is not None:
                events.append(event)
        self._reset()
        return events

    def _reset(self) -> None:
        self._event, self._data, self._retry = None, [], None

    def _line(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._data:
            self._reset()
            return None
        event = ServerSentEvent("\n".join(self._data), self._event or None, self._id, self._retry)
        self._reset()
        return event


def iter_events(chunks: Iterable[bytes]) -> Iterator[ServerSentEvent]:
    """Events from a synchronous byte stream, yielded as soon as each is complete."""
    decoder = SSEDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
    yield from decoder.flush()


async def aiter_events(chunks: AsyncIterable[bytes]) -> AsyncIterator[ServerSentEvent]:
    """Events from an asynchronous byte stream, yielded as soon as each is complete."""
    decoder = SSEDecoder()
    async for chunk in chunks:
        for event in decoder.feed(chunk):
            yield event
    for event in decoder.flush():
        yield event


def encode_event(data: str, event: str | None = None) -> bytes:
    """Wire bytes for one event; multi-line data becomes several ``data:`` lines."""
    head = f"event: {event}\n" if event is not None else ""
    body = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"{head}{body}\n".encode()
