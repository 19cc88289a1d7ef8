"""The raw-httpx clients against the fake upstream over real HTTP, sync and async, both APIs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from cacheback import ConfigurationError, InvalidInputError
from cacheback.providers import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    OpenAIChat,
    RateLimitError,
)
from cacheback.testing import FakeUpstream, Fault
from conftest import collect, maybe

pytestmark = pytest.mark.anyio


def _text(api: str, response: dict[str, Any]) -> str:
    if api == "openai":
        return response["choices"][0]["message"]["content"]
    return response["content"][0]["text"]


async def test_create_returns_the_json_answer(make_client, body, variant, upstream) -> None:
    client = make_client()
    response = await maybe(client.create(body))
    assert _text(variant[0], response) == "This is the fake upstream's answer to: What is SSE?"
    assert upstream.request_count() == 1
    assert upstream.requests[0].headers.get("authorization", "<redacted>") == "<redacted>"
    await maybe(client.close())


async def test_stream_assembles_to_the_same_answer(make_client, body, variant) -> None:
    client = make_client()
    stream = await maybe(client.stream(body))
    events = await collect(stream)
    assert stream.finished
    accumulator = client.spec.accumulator()
    for event in events:
        accumulator.add(event)
    assert accumulator.complete
    assert _text(variant[0], accumulator.result()).endswith("What is SSE?")
    await maybe(client.close())


async def test_stream_events_arrive_before_the_stream_ends(make_client, body, upstream) -> None:
    upstream.event_delay = 0.2
    client = make_client()
    stream = await maybe(client.stream(body))
    first = await maybe(stream.__anext__() if hasattr(stream, "__anext__") else next(stream))
    assert first and not stream.finished
    await maybe(stream.close())
    await maybe(client.close())


async def test_rate_limit_is_retried_honouring_retry_after(make_client, body, upstream) -> None:
    upstream.inject(Fault.rate_limited(0.01), Fault.http_status(503, retry_after=0.01))
    client = make_client()
    assert await maybe(client.create(body))
    assert upstream.request_count() == 3
    await maybe(client.close())


async def test_retries_stop_after_two(make_client, body, upstream) -> None:
    upstream.inject(*[Fault.http_status(500, retry_after=0.01)] * 3)
    client = make_client()
    with pytest.raises(InternalServerError) as info:
        await maybe(client.create(body))
    assert upstream.request_count() == 3
    assert info.value.status_code == 500 and info.value.request_id == "req_fake000003"
    await maybe(client.close())


async def test_client_errors_are_not_retried(make_client, body, upstream) -> None:
    upstream.inject(Fault.http_status(400))
    client = make_client()
    with pytest.raises(BadRequestError) as info:
        await maybe(client.create(body))
    assert upstream.request_count() == 1
    assert "injected 400" in str(info.value.body)
    await maybe(client.close())


async def test_stream_status_error_raises_before_iteration(make_client, body, upstream) -> None:
    upstream.inject(Fault.rate_limited(0.01), Fault.http_status(401))
    client = make_client()
    with pytest.raises(AuthenticationError):
        await maybe(client.stream(body))
    assert upstream.request_count() == 2
    await maybe(client.close())


async def test_wrong_key_is_an_authentication_error(make_client, body, upstream) -> None:
    upstream._api_key = "right"
    client = make_client(api_key="wrong")
    with pytest.raises(AuthenticationError):
        await maybe(client.create(body))
    await maybe(client.close())


async def test_timeout_raises_timeout_error(make_client, body, upstream) -> None:
    upstream.inject(Fault.slow(1.0))
    client = make_client(timeout=0.2, max_retries=0)
    with pytest.raises(APITimeoutError):
        await maybe(client.create(body))
    await maybe(client.close())


async def test_per_request_timeout_overrides_client(make_client, body, upstream) -> None:
    upstream.inject(Fault.slow(0.3))
    client = make_client(timeout=0.05, max_retries=0)
    assert await maybe(client.create(body, timeout=5.0))
    await maybe(client.close())


async def test_unreachable_upstream_is_a_connection_error(make_client, body, upstream) -> None:
    client = make_client(max_retries=1)
    upstream.stop()
    with pytest.raises(APIConnectionError) as info:
        await maybe(client.create(body))
    assert not isinstance(info.value, APITimeoutError)
    await maybe(client.close())


async def test_malformed_json_is_a_validation_error(make_client, body, upstream) -> None:
    upstream.inject(Fault.malformed_json(), Fault.malformed_json())
    client = make_client()
    with pytest.raises(APIResponseValidationError):
        await maybe(client.create(body))
    stream = await maybe(client.stream(body))
    with pytest.raises(APIResponseValidationError):
        await collect(stream)
    await maybe(client.close())


async def test_cut_stream_raises_connection_error_and_is_unfinished(make_client, body,
                                                                    upstream) -> None:
    upstream.inject(Fault.cut_stream(after_events=3))
    client = make_client()
    stream = await maybe(client.stream(body))
    with pytest.raises(APIConnectionError):
        await collect(stream)
    assert not stream.finished
    await maybe(client.close())


async def test_in_stream_error_event_raises_api_error(make_client, body, upstream) -> None:
    upstream.inject(Fault.stream_error(after_events=2))
    client = make_client()
    stream = await maybe(client.stream(body))
    with pytest.raises(APIError, match="injected stream error"):
        await collect(stream)
    assert not stream.finished
    await maybe(client.close())


async def test_create_refuses_a_streaming_body(make_client, body) -> None:
    client = make_client()
    with pytest.raises(InvalidInputError):
        await maybe(client.create({**body, "stream": True}))
    await maybe(client.close())


def test_environment_variables_supply_key_and_base_url(monkeypatch: pytest.MonkeyPatch,
                                                      upstream: FakeUpstream) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "env-key")
    monkeypatch.setenv("OPENAI_BASE_URL", upstream.openai_base_url + "/")
    client = OpenAIChat()
    assert client.settings.base_url == upstream.openai_base_url
    assert client.create({"model": "m", "messages": [{"role": "user", "content": "q"}]})
    assert "env-key" not in repr(client.settings)
    client.close()


def test_missing_key_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        OpenAIChat()
    with pytest.raises(ConfigurationError):
        OpenAIChat(api_key="k", http_client=httpx.Client(), transport=httpx.MockTransport(
            lambda r: httpx.Response(200)))


def test_injected_transport_sees_the_built_request() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    client = OpenAIChat(api_key="sk-1", base_url="https://example.invalid/v1",
                        default_headers={"X-App": "a"}, default_query={"q": "1"},
                        transport=httpx.MockTransport(handler))
    assert client.create({"model": "m"}, extra_headers={"X-Call": "c"},
                         extra_query={"v": "2"}) == {"ok": True}
    request = seen[0]
    assert str(request.url) == "https://example.invalid/v1/chat/completions?q=1&v=2"
    assert request.headers["authorization"] == "Bearer sk-1"
    assert request.headers["x-app"] == "a" and request.headers["x-call"] == "c"
    assert request.read() == b'{"model":"m"}'


async def test_exhausted_rate_limit_raises_rate_limit_error(make_client, body, upstream) -> None:
    upstream.inject(*[Fault.rate_limited(0.01)] * 3)
    client = make_client()
    with pytest.raises(RateLimitError) as info:
        await maybe(client.create(body))
    assert info.value.response.headers["retry-after"] == "0.01"
    assert upstream.request_count() == 3
    await maybe(client.close())
