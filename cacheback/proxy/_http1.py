"""A lean HTTP/1.1 client for the cached routes' calls to the upstream.

Keep-alive connections per origin on asyncio, read by httptools (the parser uvicorn uses). It
exists for speed: on a proxied miss httpx's client, transport and anyio layers cost more CPU
than everything else the proxy does (benchmarks/proxy_bench.py). It does only what those two
routes need: one request whose body is in memory, a response read whole or chunk by chunk,
gzip and deflate undone, connect and read timeouts. Pass-through requests keep using httpx.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import zlib
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

import httptools

__all__ = ["ConnectionPool", "Origin", "UpstreamError", "UpstreamResponse", "UpstreamTimeout"]

ACCEPT_ENCODING: Final = b"gzip, deflate"
_KEEPALIVE_SECONDS: Final = 5.0
_PAUSE_AT: Final = 256 * 1024
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


class UpstreamError(Exception):
    """The upstream gave no usable response: refused, reset, closed early or unreadable."""


class UpstreamTimeout(UpstreamError):
    """Connecting, or waiting for the upstream's next byte, took longer than allowed."""


@dataclass(frozen=True)
class Origin:
    """Where a connection goes: scheme, host and port."""

    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> tuple[Origin, str]:
        """The origin of an absolute http(s) ``url`` and its request target (path and query)."""
        parts = urlsplit(url)
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise UpstreamError(f"not an http(s) URL: {url!r}")
        origin = cls(parts.scheme, parts.hostname, parts.port or _DEFAULT_PORTS[parts.scheme])
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return origin, target

    @property
    def host_header(self) -> bytes:
        """The ``Host`` value: the port only when it is not the scheme's default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = f":{self.port}" if self.port != _DEFAULT_PORTS[self.scheme] else ""
        return (host if host.isascii() else host.encode("idna").decode()).encode() + port.encode()


def _decoder(encoding: str | None) -> zlib._Decompress | None:
    """A decompressor for the response's ``Content-Encoding``; None for an identity body."""
    name = (encoding or "identity").strip().lower()
    if name == "identity":
        return None
    if name in ("gzip", "x-gzip"):
        return zlib.decompressobj(zlib.MAX_WBITS | 16)
    if name == "deflate":
        return zlib.decompressobj()
    raise UpstreamError(f"the upstream answered in an encoding it was not offered: {name}")


class UpstreamResponse:
    """One response: status and headers once they arrive, then the body whole or in chunks.

    Close it (``aclose``) when done: a fully read response gives its connection back to the
    pool, an unfinished one closes it.
    """

    def __init__(self, connection: _Connection, read_timeout: float) -> None:
        self.status_code = 0
        self.headers: list[tuple[str, str]] = []
        self._connection = connection
        self._read_timeout = read_timeout
        self._loop = asyncio.get_running_loop()
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._has_head = False
        self._complete = False
        self._error: UpstreamError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._decompress: zlib._Decompress | None = None
        self._until_close = False
        self._closed = False

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def is_error(self) -> bool:
        return self.status_code >= 400

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (lower case), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None

    # -- fed by the connection as bytes arrive ---------------------------------------

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def deliver_head(self, status: int, headers: list[tuple[str, str]], chunked: bool) -> None:
        self.status_code = status
        self.headers = headers
        self._until_close = not chunked and self.header("content-length") is None
        try:
            self._decompress = _decoder(self.header("content-encoding"))
        except UpstreamError as exc:
            self._error = exc
        self._has_head = True
        self._wake()

    def deliver_body(self, data: bytes) -> None:
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered > _PAUSE_AT:
            self._connection.pause()
        self._wake()

    def deliver_end(self) -> None:
        self._complete = True
        self._wake()

    def deliver_loss(self, error: UpstreamError) -> None:
        if self._has_head and self._until_close and self._error is None:
            self._complete = True
        elif not self._complete and self._error is None:
            self._error = error
        self._wake()

    # -- read by the caller -----------------------------------------------------------

    async def _wait(self) -> None:
        """Until the connection brings something, at most the read timeout."""
        waiter = self._waiter = self._loop.create_future()
        timer = self._loop.call_later(self._read_timeout, self._time_out, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def _time_out(self, waiter: asyncio.Future[None]) -> None:
        if not waiter.done():
            waiter.set_exception(UpstreamTimeout(
                f"no data from the upstream for {self._read_timeout:g} s"))

    async def wait_head(self) -> None:
        """Until the status and headers are in; raises :class:`UpstreamError` if they never come."""
        while not self._has_head:
            if self._error is not None:
                raise self._error
            await self._wait()

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The body as it arrives, decoded; raises :class:`UpstreamError` if it breaks off."""
        while True:
            while self._chunks:
                chunk = self._chunks.popleft()
                self._buffered -= len(chunk)
                if self._buffered <= _PAUSE_AT:
                    self._connection.resume()
                if self._decompress is not None:
                    chunk = self._decompress.decompress(chunk)
                if chunk:
                    yield chunk
            if self._error is not None:
                raise self._error
            if self._complete:
                if self._decompress is not None:
                    tail = self._decompress.flush()
                    if tail:
                        yield tail
                return
            await self._wait()

    async def aread(self) -> bytes:
        """The whole body, decoded."""
        return b"".join([chunk async for chunk in self.aiter_bytes()])

    async def aclose(self) -> None:
        """Give the connection back (body fully read) or close it (anything else)."""
        if self._closed:
            return
        self._closed = True
        reusable = self._complete and self._error is None and not self._chunks
        self._connection.finish(reusable)


class _Connection(asyncio.Protocol):
    """One keep-alive connection to an origin, carrying one request at a time."""

    def __init__(self, pool: ConnectionPool, origin: Origin) -> None:
        self.origin = origin
        self.idle_since = 0.0
        self.lost = False
        self._pool = pool
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._response: UpstreamResponse | None = None
        self._headers: list[tuple[str, str]] = []
        self._keep_alive = False
        self._paused = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._response is None:  # nothing was asked: the connection cannot be trusted
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            self._lose(UpstreamError(f"unreadable response from the upstream: {exc}"))
            self.close()

    def eof_received(self) -> bool:
        self._lose(UpstreamError("the upstream closed the connection before the answer ended"))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        detail = f": {exc!r}" if exc is not None else ""
        self._lose(UpstreamError(f"the upstream connection was lost{detail}"))

    # httptools callbacks

    def on_message_begin(self) -> None:
        self._headers = []

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if self._response is not None and not 100 <= status < 200:
            chunked = any(k == "transfer-encoding" and "chunked" in v.lower()
                          for k, v in self._headers)
            self._response.deliver_head(status, self._headers, chunked)

    def on_body(self, body: bytes) -> None:
        if self._response is not None:
            self._response.deliver_body(body)

    def on_message_complete(self) -> None:
        status = self._parser.get_status_code()
        if self._response is not None and not 100 <= status < 200:
            self._keep_alive = self._parser.should_keep_alive()  # the parser forgets it after
            self._response.deliver_end()

    # used by the pool and the response

    def _lose(self, error: UpstreamError) -> None:
        self.lost = True
        if self._response is not None:
            self._response.deliver_loss(error)

    def send(self, request: bytes, read_timeout: float) -> UpstreamResponse:
        """Write one request; its response fills the returned object."""
        assert self._transport is not None
        self._keep_alive = False
        self._response = UpstreamResponse(self, read_timeout)
        self._transport.write(request)
        return self._response

    def pause(self) -> None:
        if not self._paused and self._transport is not None:
            self._paused = True
            self._transport.pause_reading()

    def resume(self) -> None:
        if self._paused and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()

    def finish(self, reusable: bool) -> None:
        """The response is done with: back to the pool if the exchange ended cleanly."""
        self._response = None
        self.resume()
        if reusable and self._keep_alive and not self.lost:
            self._pool.release(self)
        else:
            self.close()
            self._pool.release(None)

    def close(self) -> None:
        self.lost = True
        if self._transport is not None:
            self._transport.close()


class ConnectionPool:
    """Keep-alive connections per origin: at most ``max_connections`` in use at once, at most
    ``max_idle`` kept open between requests, each for at most 5 s (httpx's defaults)."""

    def __init__(self, *, connect_timeout: float, read_timeout: float,
                 max_connections: int = 512, max_idle: int = 128) -> None:
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._max_idle = max_idle
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: dict[Origin, list[_Connection]] = {}
        self._idle_count = 0
        self._tls: ssl.SSLContext | None = None
        self._closed = False

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            try:
                import certifi

                self._tls = ssl.create_default_context(cafile=certifi.where())
            except ImportError:
                self._tls = ssl.create_default_context()
        return self._tls

    def _reuse(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            self._idle_count -= 1
            if not connection.lost and now - connection.idle_since < _KEEPALIVE_SECONDS:
                return connection
            connection.close()
        return None

    async def _connect(self, origin: Origin) -> _Connection:
        loop = asyncio.get_running_loop()
        tls = self._tls_context() if origin.scheme == "https" else None
        try:
            _, connection = await asyncio.wait_for(loop.create_connection(
                lambda: _Connection(self, origin), origin.host, origin.port, ssl=tls,
                server_hostname=origin.host if tls else None), self._connect_timeout)
        except asyncio.TimeoutError as exc:
            raise UpstreamTimeout(f"connecting to {origin.host}:{origin.port} timed out") from exc
        except OSError as exc:
            raise UpstreamError(f"cannot connect to {origin.host}:{origin.port}: {exc}") from exc
        return connection

    async def request(self, method: str, url: str, headers: Iterable[tuple[bytes, bytes]],
                      body: bytes) -> UpstreamResponse:
        """Send one request; returns once the response's status and headers are in.

        ``headers`` must not hold ``Host``, ``Content-Length``, ``Transfer-Encoding`` or
        ``Accept-Encoding``: the pool writes those itself.
        """
        if self._closed:
            raise UpstreamError("the connection pool is closed")
        origin, target = Origin.of(url)
        head = [b"%s %s HTTP/1.1\r\nhost: %s\r\n" % (method.encode(), target.encode(),
                                                      origin.host_header)]
        head += [b"%s: %s\r\n" % pair for pair in headers]
        head.append(b"accept-encoding: %s\r\ncontent-length: %d\r\n\r\n"
                    % (ACCEPT_ENCODING, len(body)))
        await self._slots.acquire()
        connection: _Connection | None = None
        try:
            connection = self._reuse(origin) or await self._connect(origin)
            response = connection.send(b"".join(head) + body, self._read_timeout)
            await response.wait_head()
        except BaseException:
            if connection is not None:
                connection.close()
            self._slots.release()
            raise
        return response

    def release(self, connection: _Connection | None) -> None:
        """A request is over; keep its connection for the next one if there is room."""
        self._slots.release()
        if connection is None:
            return
        if self._closed or self._idle_count >= self._max_idle:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        self._idle.setdefault(connection.origin, []).append(connection)
        self._idle_count += 1

    async def aclose(self) -> None:
        """Close every idle connection; connections in use close when their response does."""
        self._closed = True
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()
        self._idle_count = 0
