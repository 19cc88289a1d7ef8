"""``cacheback-proxy`` as a real command, with two worker processes sharing one database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from proxy_support import OPENAI_BODY

from cacheback.testing import FakeUpstream


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(upstream: FakeUpstream, tmp_path: Path) -> Iterator[str]:
    """``python -m cacheback.proxy --workers 2`` in front of the fake upstream."""
    port = _free_port()
    env = {**os.environ, "CACHEBACK_PROXY_UPSTREAM_ANTHROPIC": upstream.anthropic_base_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "cacheback.proxy", "--port", str(port), "--workers", "2",
         "--db", str(tmp_path / "cli.db"), "--no-semantic", "--log-level", "warning",
         "--upstream-openai", upstream.openai_base_url],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
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
    yield url
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_two_workers_share_entries_and_sum_metrics(served: str, upstream: FakeUpstream) -> None:
    headers = {"authorization": "Bearer sk-cli"}
    outcomes = []
    with httpx.Client(headers=headers, timeout=30) as client:
        outcomes.append(client.post(served + "/v1/chat/completions", json=OPENAI_BODY
                                    ).headers["x-cacheback"])
        time.sleep(0.5)
        for _ in range(20):
            with httpx.Client(headers=headers, timeout=30) as fresh:
                outcomes.append(fresh.post(served + "/v1/chat/completions", json=OPENAI_BODY
                                           ).headers["x-cacheback"])
    assert outcomes == ["miss"] + ["hit"] * 20
    assert upstream.request_count() == 1
    time.sleep(1.5)
    stats = httpx.get(served + "/stats").json()
    assert stats["workers_reporting"] == 2
    assert stats["requests"]["openai"] == {"miss": 1, "hit": 20}
    assert 'cacheback_proxy_hits_total{api="openai",tier="exact"} 20' in httpx.get(
        served + "/metrics").text
