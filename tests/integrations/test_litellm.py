"""CachebackLiteLLMCache as LiteLLM's cache, with real ``litellm.completion`` calls to the fake
upstream: a repeat never reaches it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# LiteLLM fetches a model price list from the network when imported; offline, use its copy.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
litellm = pytest.importorskip("litellm", reason="litellm is in the dev extra")

from litellm.caching.caching import Cache  # noqa: E402

from cacheback import SemanticCache  # noqa: E402
from cacheback.integrations.litellm import CachebackLiteLLMCache  # noqa: E402
from cacheback.testing import FakeUpstream  # noqa: E402


@pytest.fixture
def ll_cache(tmp_path: Path) -> Iterator[CachebackLiteLLMCache]:
    cache = CachebackLiteLLMCache(SemanticCache(str(tmp_path / "ll.db"), embedder=None))
    litellm.cache = Cache()
    litellm.cache.cache = cache
    yield cache
    litellm.cache = None
    cache.cache.close()


def _ask(upstream: FakeUpstream, question: str, **params: Any) -> Any:
    return litellm.completion(model="openai/gpt-4o-mini", api_base=upstream.openai_base_url,
                              api_key="sk-test", caching=True,
                              messages=[{"role": "user", "content": question}], **params)


def test_a_repeat_is_served_without_an_upstream_call(upstream: FakeUpstream,
                                                     ll_cache: CachebackLiteLLMCache) -> None:
    first = _ask(upstream, "What is SSE?")
    assert upstream.request_count() == 1
    again = _ask(upstream, "What is SSE?")
    assert upstream.request_count() == 1
    assert again.choices[0].message.content == first.choices[0].message.content
    assert ll_cache.cache.stats()["hits"] == 1
    _ask(upstream, "What is SSE?", temperature=0.9)
    assert upstream.request_count() == 2, "another temperature is another key"


@pytest.mark.anyio
async def test_async_repeat_is_served_without_an_upstream_call(upstream: FakeUpstream,
                                                               ll_cache: CachebackLiteLLMCache) -> None:
    kwargs: dict[str, Any] = {"model": "openai/gpt-4o-mini", "api_base": upstream.openai_base_url,
                              "api_key": "sk-test", "caching": True,
                              "messages": [{"role": "user", "content": "Name a prime number"}]}
    first = await litellm.acompletion(**kwargs)
    for _ in range(50):
        if ll_cache.cache.stats().get("entries"):
            break
        await __import__("asyncio").sleep(0.05)
    again = await litellm.acompletion(**kwargs)
    assert upstream.request_count() == 1
    assert again.choices[0].message.content == first.choices[0].message.content
