"""Identical concurrent misses on one client go upstream once (threads and asyncio tasks); a
failed leader lets its followers go upstream themselves."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from cacheback import SemanticCache
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
