"""Two ``cacheback-proxy`` processes on one PostgreSQL database: what one stores, the other
serves (exact and semantic), and another API key (another tenant) misses on both."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
import pytest

from cacheback.testing import FakeUpstream

pytest.importorskip("psycopg")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _proxy(db: str, upstream: FakeUpstream) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "cacheback.proxy", "--port", str(port), "--db", db,
         "--log-level", "warning", "--upstream-openai", upstream.openai_base_url],
        env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the proxy did not start:\n{process.communicate()[0]}")
        time.sleep(0.1)
    try:
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _ask(proxy: str, question: str, key: str = "sk-team") -> httpx.Response:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": question}]}
    answer = httpx.post(proxy + "/v1/chat/completions", json=body, timeout=30,
                        headers={"authorization": f"Bearer {key}"})
    assert answer.status_code == 200, answer.text
    return answer


def test_two_proxies_share_one_database(pg_server: Any, upstream: FakeUpstream) -> None:
    url = pg_server.url()
    with ExitStack() as stack:
        first = stack.enter_context(_proxy(url, upstream))
        second = stack.enter_context(_proxy(url, upstream))
        stored = _ask(first, "How do I reset my password?")
        assert stored.headers["x-cacheback"] == "miss"
        exact = _ask(second, "How do I reset my password?")
        assert exact.headers["x-cacheback"] == "hit"
        assert exact.json()["choices"] == stored.json()["choices"]
        semantic = _ask(second, "How can I reset my password?")
        assert semantic.headers["x-cacheback"] == "semantic", semantic.headers
        assert semantic.json()["choices"] == stored.json()["choices"]
        assert _ask(first, "How do I reset my password?", key="sk-other").headers["x-cacheback"] == "miss"
        assert _ask(second, "How can I reset my password?", key="sk-third").headers["x-cacheback"] == "miss"
        assert upstream.request_count() == 3
