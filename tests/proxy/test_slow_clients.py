"""Slow-loris clients: connections too slow to send their request are dropped, honest ones served."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from cacheback.proxy import ProxyConfig, create_app
from cacheback.proxy._guard import guarded_http
from cacheback.testing import FakeUpstream

DEADLINE = 0.6


@pytest.fixture
def origin(upstream: FakeUpstream, tmp_path: Path) -> Iterator[tuple[str, int]]:
    config = ProxyConfig(upstream_openai=upstream.openai_base_url,
                         upstream_anthropic=upstream.anthropic_base_url,
                         db=str(tmp_path / "proxy.db"), semantic=False)
    server_config = uvicorn.Config(create_app(config), host="127.0.0.1", port=0,
                                   log_level="warning", limit_concurrency=40)
    guarded_http(server_config, DEADLINE, DEADLINE)
    server = uvicorn.Server(server_config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive()
        time.sleep(0.01)
    yield "127.0.0.1", server.servers[0].sockets[0].getsockname()[1]
    server.should_exit = True
    thread.join(timeout=10)


def _closed_within(sock: socket.socket, seconds: float, trickle: bytes = b"",
                   pause: float = 0.05) -> bool:
    """Whether the server closes ``sock`` within ``seconds`` while ``trickle`` is sent a byte
    at a time, one every ``pause`` seconds."""
    sock.settimeout(pause)
    end = time.monotonic() + seconds
    sent = 0
    while time.monotonic() < end:
        if sent < len(trickle):
            try:
                sock.sendall(trickle[sent:sent + 1])
            except OSError:
                return True
            sent += 1
        try:
            if sock.recv(4096) == b"":
                return True
        except TimeoutError:
            continue
        except OSError:
            return True
    return False


def test_a_silent_connection_is_dropped(origin: tuple[str, int]) -> None:
    with socket.create_connection(origin) as sock:
        assert _closed_within(sock, DEADLINE * 5)


def test_headers_trickled_byte_by_byte_do_not_extend_the_deadline(origin: tuple[str, int]) -> None:
    never_ending = b"GET /healthz HTTP/1.1\r\n" + b"x-pad: " + b"a" * 4000
    with socket.create_connection(origin) as sock:
        started = time.monotonic()
        assert _closed_within(sock, DEADLINE * 5, trickle=never_ending)
        assert time.monotonic() - started < DEADLINE * 4


def test_a_body_that_stops_half_way_is_dropped(origin: tuple[str, int]) -> None:
    head = (b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            b"authorization: Bearer sk-test\r\ncontent-length: 1000\r\n\r\n{\"model\":")
    with socket.create_connection(origin) as sock:
        sock.sendall(head)
        assert _closed_within(sock, DEADLINE * 5)


@pytest.mark.parametrize("framing", [b"content-length: 100000\r\n",
                                     b"transfer-encoding: chunked\r\n"],
                         ids=["content-length", "chunked"])
def test_a_body_trickled_byte_by_byte_is_dropped(origin: tuple[str, int], framing: bytes) -> None:
    """A slow POST: a byte every quarter deadline never trips the idle timer, but the body
    falls behind the minimum rate and the connection is closed."""
    head = (b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            b"authorization: Bearer sk-test\r\n" + framing + b"\r\n")
    trickle = b"1000\r\n" + b" " * 4000 if b"chunked" in framing else b" " * 4000
    with socket.create_connection(origin) as sock:
        sock.sendall(head)
        assert _closed_within(sock, DEADLINE * 8, trickle=trickle, pause=DEADLINE / 4)


def test_an_idle_keep_alive_connection_between_requests_is_dropped(origin: tuple[str, int]) -> None:
    with socket.create_connection(origin) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        sock.settimeout(5)
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        # uvicorn's own keep-alive timer (5 s by default) or ours: either closes an idle connection
        assert _closed_within(sock, 8)


def test_honest_requests_are_served_while_slow_connections_are_shed(origin: tuple[str, int]) -> None:
    held = [socket.create_connection(origin) for _ in range(60)]
    try:
        for sock in held:
            sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        time.sleep(DEADLINE * 3)
        url = f"http://{origin[0]}:{origin[1]}/healthz"
        assert httpx.get(url, timeout=5).status_code == 200
        # a slow but complete request inside the deadline is answered, not cut
        with socket.create_connection(origin) as sock:
            for byte in b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n":
                sock.sendall(bytes([byte]))
            sock.settimeout(5)
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    finally:
        for sock in held:
            sock.close()
