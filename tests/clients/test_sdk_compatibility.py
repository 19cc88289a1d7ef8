"""Code written for ``openai.OpenAI`` / ``anthropic.Anthropic`` runs unchanged after the
one-word swap, and gives the same results (then from the cache)."""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import openai
import pytest

from cacheback import SemanticCache
from cacheback.anthropic import AsyncCachedAnthropic, CachedAnthropic
from cacheback.openai import AsyncCachedOpenAI, CachedOpenAI
from cacheback.testing import FakeUpstream, Fault

QUESTION = "Summarise the plot of Hamlet in one line."


def openai_app(client: Any) -> dict[str, Any]:
    """A user's code, written against ``openai.OpenAI``."""
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": QUESTION}]
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=messages,
                                                temperature=0, seed=1)
    text = completion.choices[0].message.content
    parts, usage = [], None
    with client.chat.completions.create(model="gpt-4o-mini", messages=messages, temperature=0,
                                        seed=1, stream=True,
                                        stream_options={"include_usage": True}) as stream:
        for chunk in stream:
            if chunk.usage:
                usage = chunk.usage.total_tokens
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=[
            {"role": "user", "content": "this one is rate limited"}])
        limited = None
    except openai.RateLimitError as exc:
        limited = exc.status_code
    return {"text": text, "streamed": "".join(parts), "usage": usage,
            "type": type(completion).__name__, "dump": completion.model_dump()["choices"],
            "limited": limited}


def anthropic_app(client: Any) -> dict[str, Any]:
    """A user's code, written against ``anthropic.Anthropic``."""
    request = {"model": "claude-3-5-haiku-latest", "max_tokens": 300, "system": "Be brief.",
               "messages": [{"role": "user", "content": QUESTION}]}
    message = client.messages.create(**request)
    text = "".join(block.text for block in message.content if block.type == "text")
    parts, stop = [], None
    for event in client.messages.create(**request, stream=True):
        if event.type == "content_block_delta" and event.delta.type == "text_delta":
            parts.append(event.delta.text)
        elif event.type == "message_delta":
            stop = event.delta.stop_reason
    try:
        client.messages.create(**{**request, "messages": [{"role": "user", "content": "limit"}]})
        limited = None
    except anthropic.RateLimitError as exc:
        limited = exc.status_code
    return {"text": text, "streamed": "".join(parts), "stop": stop, "limited": limited,
            "type": type(message).__name__, "usage": message.usage.output_tokens}


async def async_openai_app(client: Any) -> tuple[str, str]:
    """The asyncio version, written against ``openai.AsyncOpenAI``."""
    messages = [{"role": "user", "content": QUESTION}]
    completion = await client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    stream = await client.chat.completions.create(model="gpt-4o-mini", messages=messages,
                                                  stream=True)
    parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    return completion.choices[0].message.content, "".join(parts)


async def async_anthropic_app(client: Any) -> tuple[str, str]:
    """The asyncio version, written against ``anthropic.AsyncAnthropic``."""
    request = {"model": "claude-3-5-haiku-latest", "max_tokens": 300,
               "messages": [{"role": "user", "content": QUESTION}]}
    message = await client.messages.create(**request)
    parts = []
    async with await client.messages.create(**request, stream=True) as stream:
        async for event in stream:
            if event.type == "content_block_delta":
                parts.append(event.delta.text)
    return message.content[0].text, "".join(parts)


@pytest.mark.parametrize(("app", "sdk_client", "cached_client", "base"), [
    (openai_app, openai.OpenAI, CachedOpenAI, "openai_base_url"),
    (anthropic_app, anthropic.Anthropic, CachedAnthropic, "anthropic_base_url"),
], ids=["openai", "anthropic"])
def test_one_word_swap(app: Any, sdk_client: Any, cached_client: Any, base: str,
                       upstream: FakeUpstream, cache: SemanticCache) -> None:
    options = {"api_key": "k", "base_url": getattr(upstream, base), "max_retries": 0}
    limit = Fault.rate_limited().matching(lambda request: "limit" in request.last_user_text)
    upstream.inject(limit)
    with sdk_client(**options) as client:
        expected = app(client)
    assert expected["text"] == expected["streamed"] and expected["limited"] == 429
    assert upstream.request_count() == 3
    with cached_client(**options, cache=cache) as client:
        upstream.inject(limit)
        assert app(client) == expected
        assert upstream.request_count() == 3 + 2
        upstream.inject(limit)
        assert app(client) == expected
        assert upstream.request_count() == 3 + 2 + 1


@pytest.mark.parametrize(("app", "sdk_client", "cached_client", "base"), [
    (async_openai_app, openai.AsyncOpenAI, AsyncCachedOpenAI, "openai_base_url"),
    (async_anthropic_app, anthropic.AsyncAnthropic, AsyncCachedAnthropic, "anthropic_base_url"),
], ids=["openai", "anthropic"])
def test_one_word_swap_async(app: Any, sdk_client: Any, cached_client: Any, base: str,
                             upstream: FakeUpstream, cache: SemanticCache) -> None:
    options = {"api_key": "k", "base_url": getattr(upstream, base)}

    async def run(factory: Any, **extra: Any) -> tuple[str, str]:
        client = factory(**options, **extra)
        try:
            return await app(client)
        finally:
            await client.close()

    expected = asyncio.run(run(sdk_client))
    assert asyncio.run(run(cached_client, cache=cache)) == expected
    assert asyncio.run(run(cached_client, cache=cache)) == expected
    assert upstream.request_count() == 3
