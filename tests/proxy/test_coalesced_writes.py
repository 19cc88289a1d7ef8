"""Writes made in one turn of the event loop reach the socket as one (``CoalescedWrites``)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from cacheback.proxy import _guard
from cacheback.proxy._guard import COALESCE_BYTES, CoalescedWrites, guarded_http


class Recorder:
    """A transport that records what reaches it."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


def test_writes_of_one_turn_go_out_as_one_and_in_order() -> None:
    async def scenario() -> list[bytes]:
        recorder = Recorder()
        writes = CoalescedWrites(recorder, asyncio.get_running_loop())  # type: ignore[arg-type]
        writes.write(b"HTTP/1.1 200 OK\r\n\r\n")
        writes.write(bytearray(b"body"))
        assert recorder.writes == []  # held until the loop has run what is ready
        await asyncio.sleep(0)
        writes.write(b"next")
        await asyncio.sleep(0)
        assert writes.get_extra_info("peername") == "info:peername"  # the rest is the transport's
        return recorder.writes

    assert asyncio.run(scenario()) == [b"HTTP/1.1 200 OK\r\n\r\nbody", b"next"]


def test_a_large_write_goes_out_at_once_and_close_writes_what_is_held_first() -> None:
    async def scenario() -> Recorder:
        recorder = Recorder()
        writes = CoalescedWrites(recorder, asyncio.get_running_loop())  # type: ignore[arg-type]
        writes.write(b"a")
        writes.write(b"b" * COALESCE_BYTES)
        assert recorder.writes == [b"a" + b"b" * COALESCE_BYTES]  # the socket's flow control applies
        writes.write(b"tail")
        writes.close()
        assert recorder.closed and writes.is_closing()
        writes.write(b"after close")
        await asyncio.sleep(0)
        return recorder

    recorder = asyncio.run(scenario())
    assert recorder.writes == [b"a" + b"b" * COALESCE_BYTES, b"tail"]  # nothing after the close


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A response of headers and body, or a stream of three events sent in one turn."""
    if scope["type"] != "http":
        return
    stream = scope["path"] == "/stream"
    headers = [(b"content-type", b"text/event-stream" if stream else b"text/plain")]
    if not stream:
        headers.append((b"content-length", b"5"))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if not stream:
        await send({"type": "http.response.body", "body": b"hello"})
        return
    for n in range(3):
        await send({"type": "http.response.body", "body": b"data: %d\n\n" % n, "more_body": True})
    await asyncio.sleep(0.05)  # a pause, as between two reads from the upstream
    await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, list[bytes]]]:
    """The test app under uvicorn with the proxy's protocol; yields its port and every write
    that reached a socket."""
    written: list[bytes] = []
    wrap = CoalescedWrites.__init__

    class Counting:
        def __init__(self, transport: asyncio.Transport) -> None:
            self._transport = transport

        def write(self, data: bytes) -> None:
            written.append(bytes(data))
            self._transport.write(data)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._transport, name)

    def counting_init(self: CoalescedWrites, transport: asyncio.Transport,
                      loop: asyncio.AbstractEventLoop) -> None:
        wrap(self, Counting(transport), loop)  # type: ignore[arg-type]

    monkeypatch.setattr(_guard.CoalescedWrites, "__init__", counting_init)
    config = uvicorn.Config(_app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    guarded_http(config, 5.0, 5.0)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive()
        time.sleep(0.01)
    yield server.servers[0].sockets[0].getsockname()[1], written
    server.should_exit = True
    thread.join(timeout=10)


def _exchange(sock: socket.socket, path: str, end: bytes) -> bytes:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    got = b""
    while not got.endswith(end):
        chunk = sock.recv(65536)
        assert chunk, got
        got += chunk
    return got


def test_a_response_leaves_in_one_write_and_a_stream_in_one_per_turn(
    served: tuple[int, list[bytes]]
) -> None:
    port, written = served
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        answer = _exchange(sock, "/plain", b"hello")
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"\r\n\r\nhello")
        assert len(written) == 1  # status line, headers and body together
        stream = _exchange(sock, "/stream", b"0\r\n\r\n")  # the same keep-alive connection
        assert b"data: 0\n\n" in stream and b"data: 2\n\n" in stream
        assert stream.count(b"data: [DONE]") == 1
        assert len(written) == 3  # headers + the three events; then the last event + the end
        assert b"".join(written) == answer + stream
