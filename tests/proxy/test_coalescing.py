"""Identical concurrent misses go upstream once; every waiter gets the answer (streams too),
and a failed leader does not fail its followers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from proxy_support import OPENAI_BODY, RunningProxy

from cacheback.testing import FakeUpstream, Fault


async def _burst(url: str, n: int, body: dict[str, object],
                 path: str = "/v1/chat/completions") -> list[httpx.Response]:
    headers = ({"x-api-key": "sk-flight", "anthropic-version": "2023-06-01"}
               if path == "/v1/messages" else {"authorization": "Bearer sk-flight"})
    async with httpx.AsyncClient(timeout=30) as client:
        return await asyncio.gather(*[
            client.post(url + path, json=body, headers=headers) for _ in range(n)])


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


_OTHER_ROUTES = {
    "/v1/messages": {"model": "claude-3-5-haiku-latest", "max_tokens": 64,
                     "messages": [{"role": "user", "content": "What is SSE?"}]},
    "/v1/responses": {"model": "gpt-4o-mini", "input": "What is SSE?"},
}


@pytest.mark.parametrize("path", sorted(_OTHER_ROUTES))
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_concurrent_misses_coalesce_on_the_other_routes(
        start_proxy: Callable[..., RunningProxy], upstream: FakeUpstream, path: str,
        stream: bool) -> None:
    upstream.latency = 0.4
    proxy = start_proxy()
    replies = asyncio.run(_burst(proxy.url, 12, {**_OTHER_ROUTES[path], "stream": stream}, path))
    assert all(r.status_code == 200 for r in replies)
    assert upstream.request_count() == 1
    assert sorted(r.headers["x-cacheback"] for r in replies).count("hit") == 11


def test_followers_of_a_leader_slower_than_the_wait_go_upstream_themselves(
        start_proxy: Callable[..., RunningProxy], upstream: FakeUpstream) -> None:
    """The wait is bounded: past it, followers stop waiting and are answered upstream."""
    upstream.latency = 1.5
    proxy = start_proxy()
    proxy.state.flights.wait = 0.3
    replies = asyncio.run(_burst(proxy.url, 4, OPENAI_BODY))
    assert all(r.status_code == 200 for r in replies)
    assert upstream.request_count() == 4
