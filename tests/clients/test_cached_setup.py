"""Constructing and closing the cached clients."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from cacheback import ConfigurationError, SemanticCache
from cacheback.anthropic import CachedAnthropic
from cacheback.openai import AsyncCachedOpenAI, CachedOpenAI
from cacheback.testing import FakeUpstream


def test_a_cache_opened_from_a_path_is_owned_and_persists(tmp_path: Path, upstream: FakeUpstream,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "answers.db"
    request = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Persist me"}]}
    with CachedOpenAI(api_key="k", base_url=upstream.openai_base_url, cache=path) as client:
        assert client.chat.completions.create(**request).cacheback.tier == "miss"
        closed: list[bool] = []
        original = client.cache.close
        monkeypatch.setattr(client.cache, "close", lambda: (closed.append(True), original()))
    assert closed == [True]
    with CachedOpenAI(api_key="k", base_url=upstream.openai_base_url, cache=str(path)) as again:
        assert again.chat.completions.create(**request).cacheback.tier == "exact"
    assert upstream.request_count() == 1


def test_a_shared_cache_is_left_open(cache: SemanticCache, upstream: FakeUpstream) -> None:
    client = CachedAnthropic(api_key="k", base_url=upstream.anthropic_base_url, cache=cache)
    client.close()
    assert cache.put("still open?", "yes") is not None


@pytest.mark.parametrize("options", [{"namespace": ""}, {"max_wrong_hit_rate": 0.01}])
def test_invalid_cache_options(cache: SemanticCache, options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        CachedOpenAI(api_key="k", cache=cache, **options)


def test_api_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                            cache: SemanticCache) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="ANTHROPIC_API_KEY"):
        CachedAnthropic(cache=cache)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "from-env")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    assert CachedAnthropic(cache=cache).base_url == "http://127.0.0.1:9"


def test_async_client_closes_in_async_with(cache: SemanticCache, upstream: FakeUpstream) -> None:
    async def run() -> str:
        async with AsyncCachedOpenAI(api_key="k", base_url=upstream.openai_base_url,
                                     cache=cache) as client:
            response = await client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "async with"}])
            return response.cacheback.tier

    assert asyncio.run(run()) == "miss"


def test_match_budget_configures_the_cache_the_client_opens(tmp_path: Path) -> None:
    with CachedOpenAI(api_key="k", cache=tmp_path / "budget.db", max_wrong_hit_rate=0.02) as client:
        assert client.cache.matcher.max_wrong_hit_rate == 0.02
