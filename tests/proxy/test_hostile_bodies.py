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


NON_FINITE = [b'"temperature": NaN', b'"temperature": -Infinity', b'"temperature": 1e400',
              b'"seed": 1e999', b'"top_p": Infinity']


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages", "/v1/responses"])
@pytest.mark.parametrize("field", NON_FINITE, ids=lambda f: f.decode())
def test_non_finite_numbers_are_relayed_not_a_500(start_proxy: Callable[..., RunningProxy],
                                                  upstream: FakeUpstream, path: str,
                                                  field: bytes) -> None:
    """NaN and Infinity are not JSON and 1e400 is no finite number: the request cannot be
    keyed, so it goes upstream as it came (the provider judges it) and is never a 500."""
    import httpx
    proxy = start_proxy()
    question = b'"input": "hi"' if path == "/v1/responses" else \
        b'"messages": [{"role": "user", "content": "hi"}]'
    raw = b'{"model": "m", "max_tokens": 9, ' + question + b", " + field + b"}"
    for _ in range(2):
        reply = httpx.post(proxy.url + path, content=raw, timeout=30,
                           headers={"authorization": "Bearer sk-1", "x-api-key": "sk-1",
                                    "content-type": "application/json"})
        assert reply.status_code == 200 and reply.headers["x-cacheback"] != "hit"
    assert upstream.request_count() == 2


@pytest.mark.parametrize("api", ["openai", "anthropic"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("arguments", [{"a": "x\udc00y"}, {"\ud801": 1}, {"nul": "a\x00b"}],
                         ids=["value", "key", "nul"])
def test_odd_tool_call_arguments_replay(start_proxy: Callable[..., RunningProxy],
                                        upstream: FakeUpstream, api: str, stream: bool,
                                        arguments: dict[str, object]) -> None:
    """Lone surrogates (in a value or a key) and NUL in a stored tool call replay too."""
    from cacheback.testing import Reply, ToolCall
    upstream.responder = lambda request: Reply(tool_calls=[ToolCall("f", arguments)],
                                               finish="tool_calls")
    proxy = start_proxy()
    path, body = _request(api, stream)
    assert proxy.post(path, {**body, "stream": False}).status_code == 200
    proxy.wait_stored(1)
    for _ in range(2):
        again = proxy.post(path, body)
        assert again.status_code == 200 and again.headers["x-cacheback"] == "hit"
    assert upstream.request_count() == 1
