"""Identical concurrent misses go upstream once; every waiter gets the answer (streams too),
and a failed leader does not fail its followers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from proxy_support import OPENAI_BODY, RunningProxy

from cacheback.testing import FakeUpstream, Fault


async def _burst(url: str, n: int, body: dict[str, object]) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=30) as client:
        return await asyncio.gather(*[
            client.post(url + "/v1/chat/completions", json=body,
                        headers={"authorization": "Bearer sk-flight"}) for _ in range(n)])


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_identical_concurrent_misses_go_upstream_once(
        start_proxy: Callable[..., RunningProxy], upstream: FakeUpstream, stream: bool) -> None:
    upstream.latency = 0.4
    proxy = start_proxy()
    replies = asyncio.run(_burst(proxy.url, 30, {**OPENAI_BODY, "stream": stream}))
    assert all(r.status_code == 200 for r in replies)
    assert upstream.request_count() == 1
    if stream:
        assert all(r.text.count("data: ") > 3 and "[DONE]" in r.text for r in replies)
    else:
        assert len({r.json()["choices"][0]["message"]["content"] for r in replies}) == 1
    outcomes = sorted(r.headers["x-cacheback"] for r in replies)
    assert outcomes.count("miss") == 1 and outcomes.count("hit") == 29


def test_different_questions_are_not_coalesced(start_proxy: Callable[..., RunningProxy],
                                               upstream: FakeUpstream) -> None:
    upstream.latency = 0.2
    proxy = start_proxy()

    async def run() -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            await asyncio.gather(*[client.post(
                proxy.url + "/v1/chat/completions",
                json={**OPENAI_BODY, "messages": [{"role": "user", "content": f"Q{i}?"}]},
                headers={"authorization": "Bearer sk-flight"}) for i in range(8)])

    asyncio.run(run())
    assert upstream.request_count() == 8


def test_a_failed_leader_does_not_fail_its_followers(start_proxy: Callable[..., RunningProxy],
                                                     upstream: FakeUpstream) -> None:
    upstream.latency = 0.3
    upstream.inject(Fault.http_status(500))
    proxy = start_proxy()
    replies = asyncio.run(_burst(proxy.url, 10, OPENAI_BODY))
    statuses = sorted(r.status_code for r in replies)
    assert statuses.count(500) == 1 and statuses.count(200) == 9
