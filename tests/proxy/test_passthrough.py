"""Everything else under /v1 goes to the right upstream and back unchanged."""

from __future__ import annotations

import gzip
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from proxy_support import RunningProxy
from starlette.testclient import TestClient

from cacheback.proxy import ProxyConfig, create_app
from cacheback.testing import FakeUpstream


class Recorder:
    """An httpx transport that records what the proxy sent and answers a fixed, streamed body."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.body = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.headers = {"content-type": "application/json", **(headers or {})}
        self.seen: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.seen.append(request)
        return httpx.Response(self.status, headers=self.headers, content=self._chunks())

    async def _chunks(self) -> AsyncIterator[bytes]:
        yield self.body


def _client(recorder: Recorder, tmp_path: Path) -> TestClient:
    config = ProxyConfig(db=str(tmp_path / "p.db"), semantic=False,
                         upstream_openai="https://openai.example/v1",
                         upstream_anthropic="https://anthropic.example")
    return TestClient(create_app(config, transport=httpx.MockTransport(recorder)))


def test_openai_routes_keep_method_path_query_headers_and_body(tmp_path: Path) -> None:
    recorder = Recorder(201, {"object": "list", "data": []},
                        headers={"x-request-id": "req_1", "openai-version": "x"})
    with _client(recorder, tmp_path) as client:
        answer = client.post("/v1/files?purpose=batch", content=b"\x00binary\xff",
                             headers={"authorization": "Bearer sk-up", "content-type": "a/b",
                                      "x-cacheback-ttl": "5", "openai-organization": "org-1"})
        listing = client.get("/v1/models", headers={"authorization": "Bearer sk-up"})
    sent, models = recorder.seen
    assert (sent.method, str(sent.url)) == ("POST", "https://openai.example/v1/files?purpose=batch")
    assert sent.content == b"\x00binary\xff"
    assert sent.headers["authorization"] == "Bearer sk-up"
    assert sent.headers["openai-organization"] == "org-1"
    assert sent.headers["host"] == "openai.example"
    assert "x-cacheback-ttl" not in sent.headers
    assert (answer.status_code, answer.json()) == (201, {"object": "list", "data": []})
    assert answer.headers["x-request-id"] == "req_1"
    assert (models.method, str(models.url)) == ("GET", "https://openai.example/v1/models")
    assert listing.status_code == 201


def test_anthropic_headers_pick_the_anthropic_upstream(tmp_path: Path) -> None:
    recorder = Recorder(200, {"input_tokens": 7})
    with _client(recorder, tmp_path) as client:
        answer = client.post("/v1/messages/count_tokens", json={"model": "m", "messages": []},
                             headers={"x-api-key": "sk-ant", "anthropic-version": "2023-06-01"})
    assert str(recorder.seen[0].url) == "https://anthropic.example/v1/messages/count_tokens"
    assert recorder.seen[0].headers["x-api-key"] == "sk-ant"
    assert answer.json() == {"input_tokens": 7}


def test_compressed_bodies_cross_untouched(tmp_path: Path) -> None:
    packed = gzip.compress(json.dumps({"data": [1, 2, 3]}).encode())
    recorder = Recorder(200, packed, headers={"content-encoding": "gzip"})
    with _client(recorder, tmp_path) as client:
        answer = client.get("/v1/models", headers={"authorization": "Bearer k",
                                                   "accept-encoding": "gzip"})
    assert recorder.seen[0].headers["accept-encoding"] == "gzip"
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.json() == {"data": [1, 2, 3]}


def test_unreachable_upstream_is_a_502_in_the_provider_shape(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    config = ProxyConfig(db=str(tmp_path / "p.db"), semantic=False,
                         upstream_openai=f"http://127.0.0.1:{port}/v1")
    with TestClient(create_app(config)) as client:
        listing = client.get("/v1/models", headers={"authorization": "Bearer k"})
        chat = client.post("/v1/chat/completions", headers={"authorization": "Bearer k"},
                           json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})
        stats = client.get("/stats").json()
    assert listing.status_code == chat.status_code == 502
    assert "could not reach the openai upstream" in chat.json()["error"]["message"]
    assert stats["errors"]["upstream_unreachable"] == 2


@pytest.mark.parametrize("path", ["/v1/moderations", "/v1/completions"])
def test_upstream_status_and_body_pass_through(proxy: RunningProxy, upstream: FakeUpstream,
                                               path: str) -> None:
    answer = proxy.post(path, {"model": "text-embedding-3-small", "input": "hi"})
    assert answer.status_code == 404
    assert answer.json()["error"]["message"] == f"no route {path}"
    assert "x-cacheback" not in answer.headers


def test_non_v1_paths_are_not_proxied(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    assert httpx.get(proxy.url + "/v2/models").status_code == 404
    assert httpx.get(proxy.url + "/").status_code == 404
