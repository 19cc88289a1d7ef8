"""Every public attribute of the official clients is reachable on the cached clients (issue 18.1).

Only ``chat.completions.create`` / ``messages.create``, ``embeddings.create``,
``responses.create`` / ``.stream`` and
``audio.transcriptions`` / ``audio.translations`` are the cache's; the rest is the SDK's own,
from an SDK client built with the same arguments. Raw-response wrappers bypass the cache.
"""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

import anthropic
import openai
import pytest

from cacheback import SemanticCache
from cacheback.anthropic import AsyncCachedAnthropic, CachedAnthropic
from cacheback.openai import (
    AsyncCachedAzureOpenAI,
    AsyncCachedOpenAI,
    CachedAzureOpenAI,
    CachedOpenAI,
)
from cacheback.testing import FakeUpstream

CACHED = {"OpenAI": ("chat", "audio", "embeddings", "responses"),
          "AsyncOpenAI": ("chat", "audio", "embeddings", "responses"),
          "AzureOpenAI": ("chat", "embeddings"), "AsyncAzureOpenAI": ("chat", "embeddings"),
          "Anthropic": ("messages",), "AsyncAnthropic": ("messages",)}
PAIRS = [(openai.OpenAI, CachedOpenAI), (openai.AsyncOpenAI, AsyncCachedOpenAI),
         (openai.AzureOpenAI, CachedAzureOpenAI),
         (openai.AsyncAzureOpenAI, AsyncCachedAzureOpenAI),
         (anthropic.Anthropic, CachedAnthropic), (anthropic.AsyncAnthropic, AsyncCachedAnthropic)]


def public_names(obj: Any) -> list[str]:
    return sorted(name for name in dir(obj) if not name.startswith("_"))


@pytest.mark.parametrize(("sdk_class", "cached_class"), PAIRS)
def test_every_public_attribute_is_reachable(sdk_class: Any, cached_class: Any,
                                             cache: SemanticCache) -> None:
    options: dict[str, Any] = {"api_key": "k", "base_url": "http://127.0.0.1:9/v1"}
    if "Azure" in sdk_class.__name__:
        options = {"api_key": "k", "azure_endpoint": "http://127.0.0.1:9",
                   "api_version": "2024-10-21"}
    sdk, cached = sdk_class(**options), cached_class(**options, cache=cache)
    names = public_names(sdk)
    assert len(names) > 20
    for name in names:
        mine, theirs = getattr(cached, name), getattr(sdk, name)
        if name in CACHED[sdk_class.__name__]:
            for sub in public_names(theirs):
                assert hasattr(getattr(cached, name), sub), f"{name}.{sub}"
        elif name in ("copy", "with_options", "close"):
            assert callable(mine)
        elif name == "base_url":
            assert str(mine).rstrip("/") == str(theirs).rstrip("/")
        else:
            assert type(mine) is type(theirs), name
    resource = cached.chat.completions if "OpenAI" in sdk_class.__name__ else cached.messages
    for name in ("with_raw_response", "with_streaming_response", "create"):
        assert hasattr(resource, name)
    assert cached.copy(max_retries=5).cache is cache
    with pytest.raises(AttributeError):
        cached._no_such_private  # noqa: B018
    with pytest.raises(AttributeError):
        cached.no_such_public  # noqa: B018


def test_raw_response_bypasses_the_cache_and_copy_shares_it(upstream: FakeUpstream,
                                                            cache: SemanticCache) -> None:
    client = CachedOpenAI(api_key="k", base_url=upstream.openai_base_url, cache=cache)
    request = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Name a colour."}]}
    first = client.chat.completions.create(**request)
    raw = client.chat.completions.with_raw_response.create(**request)
    assert raw.http_request.method == "POST"
    assert raw.parse().choices[0].message.content == first.choices[0].message.content
    assert upstream.request_count() == 2
    other = client.with_options(timeout=30)
    assert isinstance(other, CachedOpenAI)
    assert other.chat.completions.create(**request).cacheback_hit
    assert upstream.request_count() == 2
    client.close()


def test_async_passthrough_resource(upstream: FakeUpstream, cache: SemanticCache) -> None:
    async def run() -> Any:
        async with AsyncCachedAnthropic(api_key="k", base_url=upstream.anthropic_base_url,
                                        cache=cache) as client:
            raw = await client.messages.with_raw_response.create(
                model="claude-3-5-haiku-latest", max_tokens=50,
                messages=[{"role": "user", "content": "Say hi."}])
            return await raw.parse()
    message = asyncio.run(run())
    assert type(message) is anthropic.types.Message


def test_without_the_sdk_only_the_cached_calls_exist(upstream: FakeUpstream, cache: SemanticCache,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.import_module

    def no_sdk(name: str, *args: Any) -> Any:
        if name in ("openai", "anthropic"):
            raise ImportError(name)
        return real(name, *args)
    monkeypatch.setattr(importlib, "import_module", no_sdk)
    client = CachedOpenAI(api_key="k", base_url=upstream.openai_base_url, cache=cache)
    with pytest.raises(AttributeError, match="pip install openai"):
        client.models  # noqa: B018
    with pytest.raises(AttributeError, match="pip install openai"):
        client.chat.completions.with_raw_response  # noqa: B018
    answer = client.chat.completions.create(model="gpt-4o-mini",
                                            messages=[{"role": "user", "content": "Hi."}])
    assert answer.choices[0].message.content
    client.close()
