"""Bodies that used to break the proxy: an answer holding a lone surrogate replays (JSON and
SSE, both APIs) instead of failing every later repeat; a 100,000-deep JSON body is a 400."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from proxy_support import RunningProxy

from cacheback.testing import FakeUpstream

ODD = "caf\ud800 \udfff end"


@pytest.fixture
def odd_upstream(upstream: FakeUpstream) -> FakeUpstream:
    upstream.responder = lambda request: ODD
    return upstream


def _request(api: str, stream: bool) -> tuple[str, dict[str, object]]:
    body: dict[str, object] = {"messages": [{"role": "user", "content": "Say it oddly"}],
                               "stream": stream}
    if api == "openai":
        return "/v1/chat/completions", {**body, "model": "gpt-4o-mini"}
    return "/v1/messages", {**body, "model": "claude-3-5-haiku-latest", "max_tokens": 50}


@pytest.mark.parametrize("api", ["openai", "anthropic"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_a_stored_lone_surrogate_replays(start_proxy: Callable[..., RunningProxy],
                                         odd_upstream: FakeUpstream, api: str,
                                         stream: bool) -> None:
    proxy = start_proxy()
    path, body = _request(api, stream)
    first = proxy.post(path, {**body, "stream": False})
    assert first.status_code == 200
    proxy.wait_stored(1)
    for _ in range(3):
        again = proxy.post(path, body)
        assert again.status_code == 200 and again.headers["x-cacheback"] == "hit"
        assert "\\ud800" in again.text or "\\udfff" in again.text
    assert odd_upstream.request_count() == 1


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
def test_a_deeply_nested_body_is_a_400(proxy: RunningProxy, upstream: FakeUpstream,
                                       path: str) -> None:
    import httpx
    deep = '{"messages": ' + "[" * 100_000 + "]" * 100_000 + "}"
    reply = httpx.post(proxy.url + path, content=deep.encode(), timeout=30,
                       headers={"authorization": "Bearer sk-1", "x-api-key": "sk-1",
                                "content-type": "application/json"})
    assert reply.status_code == 400 and "nested" in reply.text
    assert upstream.request_count() == 0
    assert json.loads(reply.text)
