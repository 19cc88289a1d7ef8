"""Identical concurrent misses on one client go upstream once (threads and asyncio tasks); a
failed leader lets its followers go upstream themselves."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from cacheback import SemanticCache
from cacheback.anthropic import AsyncCachedAnthropic, CachedAnthropic
from cacheback.openai import AsyncCachedOpenAI, CachedOpenAI
from cacheback.testing import FakeUpstream, Fault

MESSAGES = [{"role": "user", "content": "What is the boiling point of water?"}]


def test_threads_coalesce(upstream: FakeUpstream, embedder: Any) -> None:
    upstream.latency = 0.4
    with SemanticCache(":memory:", embedder=embedder) as cache, \
            CachedOpenAI(api_key="k", base_url=upstream.openai_base_url, cache=cache) as client:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda _: client.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES), range(8)))
    assert upstream.request_count() == 1
    assert sorted(r.cacheback.tier for r in results).count("miss") == 1


@pytest.mark.anyio
async def test_tasks_coalesce_and_survive_a_failed_leader(upstream: FakeUpstream,
                                                          embedder: Any) -> None:
    upstream.latency = 0.3
    upstream.inject(Fault.http_status(400))
    cache = SemanticCache(":memory:", embedder=embedder)
    client = AsyncCachedOpenAI(api_key="k", base_url=upstream.openai_base_url, cache=cache,
                               max_retries=0)
    results = await asyncio.gather(*[client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES) for _ in range(6)], return_exceptions=True)
    failures = [r for r in results if isinstance(r, Exception)]
    assert len(failures) == 1
    assert upstream.request_count() <= 6 and upstream.request_count() >= 2
    again = await asyncio.gather(*[client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Another one?"}])
        for _ in range(6)])
    assert sum(r.cacheback.tier == "miss" for r in again) == 1
    await client.close()
    cache.close()


def _ask(client: Any, api: str, question: str, stream: bool) -> Any:
    messages = [{"role": "user", "content": question}]
    if api == "openai":
        return client.chat.completions.create(model="gpt-4o-mini", messages=messages,
                                              stream=stream)
    return client.messages.create(model="claude-3-5-haiku-latest", max_tokens=64,
                                  messages=messages, stream=stream)


@pytest.mark.parametrize("api", ["openai", "anthropic"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_threads_coalesce_both_apis_streams_too(upstream: FakeUpstream, api: str,
                                                stream: bool) -> None:
    upstream.latency = 0.3
    client_class = CachedOpenAI if api == "openai" else CachedAnthropic
    base = upstream.openai_base_url if api == "openai" else upstream.anthropic_base_url
    with SemanticCache(":memory:", embedder=None) as cache, \
            client_class(api_key="k", base_url=base, cache=cache) as client:
        def one(_: int) -> str:
            result = _ask(client, api, "Why is the sky blue?", stream)
            if stream:
                list(result)
            return str(result.cacheback.tier)
        with ThreadPoolExecutor(6) as pool:
            tiers = list(pool.map(one, range(6)))
    assert upstream.request_count() == 1
    assert tiers.count("miss") == 1


@pytest.mark.anyio
@pytest.mark.parametrize("api", ["openai", "anthropic"])
async def test_tasks_coalesce_streams(upstream: FakeUpstream, api: str) -> None:
    upstream.latency = 0.3
    client_class = AsyncCachedOpenAI if api == "openai" else AsyncCachedAnthropic
    base = upstream.openai_base_url if api == "openai" else upstream.anthropic_base_url
    cache = SemanticCache(":memory:", embedder=None)
    client = client_class(api_key="k", base_url=base, cache=cache)

    async def one() -> list[Any]:
        return [event async for event in await _ask(client, api, "Why is the sky blue?", True)]

    streams = await asyncio.gather(*[one() for _ in range(6)])
    assert upstream.request_count() == 1
    assert all(len(events) == len(streams[0]) > 2 for events in streams)
    await client.close()
    cache.close()


def test_a_stream_never_waits_for_its_own_unread_twin(upstream: FakeUpstream) -> None:
    """One thread opens the same stream twice before reading either: the second goes upstream
    at once instead of waiting for the first, which only this thread can read; and a leader
    stream dropped unread does not hold its followers (the wait is a minute: a hang fails)."""
    with SemanticCache(":memory:", embedder=None) as cache, \
            CachedOpenAI(api_key="k", base_url=upstream.openai_base_url, cache=cache) as client:
        client.chat.completions._call.access.flights.wait = 60.0  # noqa: SLF001

        def twice() -> None:
            first = _ask(client, "openai", "Twice?", True)
            second = _ask(client, "openai", "Twice?", True)
            assert list(first) and list(second)
            dropped = _ask(client, "openai", "Dropped?", True)
            del dropped

        with ThreadPoolExecutor(1) as pool:
            pool.submit(twice).result(timeout=20)
            assert pool.submit(lambda: list(_ask(client, "openai", "Dropped?", True))
                               ).result(timeout=20)
    assert upstream.request_count() == 4
