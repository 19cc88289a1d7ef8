"""The lean HTTP/1.1 pool the cached routes use: framing, keep-alive, decoding, faults."""

from __future__ import annotations

import asyncio
import gzip
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from cacheback.proxy._http1 import (
    ConnectionPool,
    Origin,
    UpstreamError,
    UpstreamResponse,
    UpstreamTimeout,
)

pytestmark = pytest.mark.anyio

Script = Callable[[asyncio.StreamWriter, int], "asyncio.Future[None] | None"]


class ScriptedServer:
    """A raw TCP server: records each request and answers with ``replies[i]`` (bytes, or a
    coroutine function taking the writer)."""

    def __init__(self, *replies: bytes | Callable[[asyncio.StreamWriter], object]) -> None:
        self.replies = list(replies)
        self.requests: list[tuple[bytes, bytes]] = []
        self.connections = 0
        self.url = ""

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                self.requests.append((head, await reader.readexactly(length)))
                reply = self.replies[len(self.requests) - 1]
                if isinstance(reply, bytes):
                    writer.write(reply)
                    await writer.drain()
                else:
                    await reply(writer)  # type: ignore[misc]
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[ScriptedServer]:
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        async with server:
            yield self


def _json(body: bytes, *extra: bytes) -> bytes:
    return (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n%s"
            % (len(body), b"".join(h + b"\r\n" for h in extra), body))


def _pool(**kwargs: float) -> ConnectionPool:
    return ConnectionPool(connect_timeout=kwargs.get("connect", 2.0),
                          read_timeout=kwargs.get("read", 2.0))


async def _read(pool: ConnectionPool, url: str, body: bytes = b"{}") -> tuple[UpstreamResponse, bytes]:
    response = await pool.request("POST", url, [(b"authorization", b"Bearer k")], body)
    try:
        return response, await response.aread()
    finally:
        await response.aclose()


async def test_request_is_framed_and_the_connection_kept_alive() -> None:
    async with ScriptedServer(_json(b'{"a":1}', b"x-request-id: r1"), _json(b"[]")).running() as server:
        pool = _pool()
        first, body = await _read(pool, server.url + "/v1/chat/completions?x=1", b'{"q":"hi"}')
        second, again = await _read(pool, server.url + "/v1/messages", b"")
        await pool.aclose()
    head, sent = server.requests[0]
    lines = head.decode().split("\r\n")
    port = server.url.rsplit(":", 1)[1]
    assert lines[0] == "POST /v1/chat/completions?x=1 HTTP/1.1"
    assert {f"host: 127.0.0.1:{port}", "authorization: Bearer k", "content-length: 10",
            "accept-encoding: gzip, deflate"} <= set(lines)
    assert sent == b'{"q":"hi"}'
    assert (first.status_code, first.header("x-request-id"), body) == (200, "r1", b'{"a":1}')
    assert first.is_success and not first.is_error
    assert again == b"[]" and server.requests[1][1] == b""
    assert server.connections == 1


async def test_chunked_body_arrives_in_pieces_and_decoded() -> None:
    payload = b"data: " + b"x" * 3000 + b"\n\n"
    packed = gzip.compress(payload)

    async def trickle(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                     b"content-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n")
        for i in range(0, len(packed), 50):
            piece = packed[i:i + 50]
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
            await asyncio.sleep(0)
        writer.write(b"0\r\n\r\n")

    async with ScriptedServer(trickle, _json(b"{}")).running() as server:
        pool = _pool()
        response = await pool.request("POST", server.url + "/s", [], b"")
        chunks = [chunk async for chunk in response.aiter_bytes()]
        await response.aclose()
        await _read(pool, server.url + "/next")
        await pool.aclose()
    assert b"".join(chunks) == payload
    assert server.connections == 1


async def test_a_large_body_is_read_whole_through_flow_control() -> None:
    big = bytes(range(256)) * 8192
    async with ScriptedServer(_json(big)).running() as server:
        pool = _pool()
        response = await pool.request("POST", server.url + "/big", [], b"")
        await asyncio.sleep(0.2)  # let far more than the pause threshold arrive unread
        assert await response.aread() == big
        await response.aclose()
        await pool.aclose()


async def test_a_body_ending_with_the_connection_is_complete() -> None:
    async def until_close(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil ")
        await writer.drain()
        writer.write(b"the end")
        writer.close()

    async with ScriptedServer(until_close, _json(b"{}")).running() as server:
        pool = _pool()
        _, body = await _read(pool, server.url + "/a")
        _, after = await _read(pool, server.url + "/b")
        await pool.aclose()
    assert (body, after) == (b"until the end", b"{}")
    assert server.connections == 2


async def test_interim_responses_are_skipped() -> None:
    async with ScriptedServer(b"HTTP/1.1 100 Continue\r\n\r\n" + _json(b"{}")).running() as server:
        pool = _pool()
        response, body = await _read(pool, server.url + "/a")
        await pool.aclose()
    assert (response.status_code, body) == (200, b"{}")


@pytest.mark.parametrize("cut", [
    b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly part",
    b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n",
])
async def test_a_body_cut_short_is_an_error(cut: bytes) -> None:
    async def hang_up(writer: asyncio.StreamWriter) -> None:
        writer.write(cut)
        await writer.drain()
        writer.close()

    async with ScriptedServer(hang_up).running() as server:
        pool = _pool()
        response = await pool.request("POST", server.url + "/a", [], b"")
        with pytest.raises(UpstreamError):
            await response.aread()
        await response.aclose()
        await pool.aclose()


async def test_an_unoffered_encoding_is_an_error() -> None:
    async with ScriptedServer(_json(b"????", b"content-encoding: br")).running() as server:
        pool = _pool()
        with pytest.raises(UpstreamError, match="not offered: br"):
            await _read(pool, server.url + "/a")
        await pool.aclose()


async def test_an_unread_response_does_not_leave_its_connection_in_the_pool() -> None:
    async with ScriptedServer(_json(b"x" * 1000), _json(b"{}")).running() as server:
        pool = _pool()
        response = await pool.request("POST", server.url + "/a", [], b"")
        await response.aclose()
        _, body = await _read(pool, server.url + "/b")
        await pool.aclose()
    assert body == b"{}"
    assert server.connections == 2


async def test_connection_close_and_server_hang_ups_mean_a_new_connection() -> None:
    async def answer_then_hang_up(writer: asyncio.StreamWriter) -> None:
        writer.write(_json(b"1"))
        await writer.drain()
        writer.close()

    async with ScriptedServer(_json(b"0", b"connection: close"), answer_then_hang_up,
                              _json(b"2")).running() as server:
        pool = _pool()
        bodies = [(await _read(pool, server.url + "/a"))[1]]
        bodies.append((await _read(pool, server.url + "/b"))[1])
        await asyncio.sleep(0.1)  # the server's FIN reaches the idle connection
        bodies.append((await _read(pool, server.url + "/c"))[1])
        await pool.aclose()
    assert bodies == [b"0", b"1", b"2"]
    assert server.connections == 3


async def test_silence_is_a_timeout() -> None:
    async def never(writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    async with ScriptedServer(never).running() as server:
        pool = _pool(read=0.2)
        with pytest.raises(UpstreamTimeout):
            await pool.request("POST", server.url + "/a", [], b"")
        await pool.aclose()


async def test_a_refused_connection_is_an_error() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    pool = _pool()
    with pytest.raises(UpstreamError, match="cannot connect"):
        await pool.request("POST", f"http://127.0.0.1:{port}/a", [], b"")
    await pool.aclose()


@pytest.mark.parametrize("url, origin, target, host", [
    ("https://api.openai.com/v1/chat/completions", ("https", "api.openai.com", 443),
     "/v1/chat/completions", b"api.openai.com"),
    ("http://[::1]:8080/v1/messages?beta=true", ("http", "::1", 8080), "/v1/messages?beta=true",
     b"[::1]:8080"),
    ("http://gateway.internal", ("http", "gateway.internal", 80), "/", b"gateway.internal"),
])
def test_origin_and_target(url: str, origin: tuple[str, str, int], target: str, host: bytes) -> None:
    parsed, path = Origin.of(url)
    assert ((parsed.scheme, parsed.host, parsed.port), path, parsed.host_header) == (origin, target, host)
