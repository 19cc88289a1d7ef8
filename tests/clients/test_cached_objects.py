"""Responses are the SDK's own types when it is installed, light look-alikes when it is not."""

from __future__ import annotations

import json
import sys
from typing import Any

import anthropic.types
import httpx
import openai.types.chat
import pytest

from cacheback import providers
from cacheback._clients._sdk_errors import sdk_error
from cacheback.openai import CacheRecord
from conftest import Harness, collect, make, maybe, stream_text

pytestmark = pytest.mark.anyio
QUESTION = "What does HTTP stand for?"
SDK_TYPES = {"openai": (openai.types.chat.ChatCompletion, openai.types.chat.ChatCompletionChunk),
             "anthropic": (anthropic.types.Message, anthropic.types.RawMessageStartEvent)}


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_sdk_types_with_the_record_outside_the_model(harness: Harness,
                                                           stream: bool) -> None:
    response_type, first_event_type = SDK_TYPES[harness.api]
    for _ in range(2):
        result = await maybe(harness.create(**harness.request(QUESTION, stream=stream)))
        if stream:
            assert isinstance((await collect(result))[0], first_event_type)
        else:
            assert isinstance(result, response_type)
            assert "cacheback" not in result.model_dump()
            assert "cacheback" not in result.model_dump_json()
        assert isinstance(result.cacheback, CacheRecord)
    assert result.cacheback_hit is True


@pytest.fixture
def without_sdks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import openai`` / ``import anthropic`` fail, as when they are not installed."""
    for name in list(sys.modules):
        if name.split(".")[0] in ("openai", "anthropic"):
            monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_light_objects_without_the_sdk(harness: Harness, without_sdks: None,
                                             stream: bool) -> None:
    client = harness.other_client()
    for tier in ("miss", "exact"):
        result = await maybe(harness.create(client, **harness.request(QUESTION, stream=stream)))
        assert result.cacheback.tier == tier
        if stream:
            events = await collect(result)
            assert type(events[0]).__module__ == "cacheback._clients._light"
            assert stream_text(harness.api, events).endswith(QUESTION)
            continue
        assert type(result).__module__ == "cacheback._clients._light"
        dumped = result.model_dump()
        assert json.loads(result.model_dump_json()) == dumped and "cacheback" not in dumped
        if harness.api == "openai":
            assert result.choices[0].message.content.endswith(QUESTION)
            assert result.usage.total_tokens == dumped["usage"]["total_tokens"]
            assert result.choices[0].message.tool_calls is None
        else:
            assert result.content[0].text.endswith(QUESTION)
            assert result.usage.output_tokens > 0 and result.stop_reason == "end_turn"


async def test_light_tool_input_stays_a_dict(upstream: Any, cache: Any, without_sdks: None
                                             ) -> None:
    from cacheback.testing import Reply, ToolCall

    upstream.responder = lambda request: Reply("", [ToolCall("f", {"a": {"b": 1}})], "tool_calls")
    client = make("anthropic", "sync", upstream, cache)
    message = client.messages.create(model="claude-3-5-haiku-latest", max_tokens=10,
                                     messages=[{"role": "user", "content": "call f"}])
    assert message.content[0].input == {"a": {"b": 1}} and message.content[0].name == "f"
    client.close()


def test_errors_keep_cacheback_types_without_the_sdk() -> None:
    response = httpx.Response(429, request=httpx.Request("POST", "http://x"))
    error = providers.RateLimitError("limited", response=response, body=None)
    assert sdk_error(error, "no_such_sdk_module") is error
