"""A short mixed load (the 60 s one is benchmarks/proxy_bench.py): no 5xx, every answer whole."""

from __future__ import annotations

import asyncio
import time

import httpx
from proxy_support import ANTHROPIC_BODY, OPENAI_BODY, RunningProxy

from cacheback.testing import FakeUpstream

SECONDS = 3.0
CONCURRENCY = 24


def _request(i: int) -> tuple[str, dict, dict[str, str]]:
    question = f"question number {i % 8}"
    if i % 2:
        body = {**OPENAI_BODY, "messages": [{"role": "user", "content": question}],
                "stream": i % 3 == 0}
        return "/v1/chat/completions", body, {"authorization": f"Bearer sk-load-{i % 3}"}
    body = {**ANTHROPIC_BODY, "messages": [{"role": "user", "content": question}],
            "stream": i % 3 == 0}
    return "/v1/messages", body, {"x-api-key": f"sk-load-{i % 3}", "anthropic-version": "2023-06-01"}


def _whole(answer: httpx.Response, stream: bool) -> bool:
    if stream:
        return answer.text.rstrip().endswith(("[DONE]", '"message_stop"}'))
    return "question number" in answer.text


async def _load(url: str) -> tuple[dict[int, int], int, int, list[str]]:
    statuses: dict[int, int] = {}
    failures: list[str] = []
    broken = done = 0
    deadline = time.monotonic() + SECONDS
    counter = iter(range(10**9))

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal broken, done
        while time.monotonic() < deadline:
            path, body, headers = _request(next(counter))
            answer = await client.post(url + path, json=body, headers=headers)
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
            if answer.status_code != 200:
                failures.append(f"{answer.status_code} {answer.text[:300]}")
            broken += not _whole(answer, body["stream"])
            done += 1

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
    return statuses, broken, done, failures


def test_short_mixed_load_has_no_5xx(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    statuses, broken, done, failures = asyncio.run(_load(proxy.url))
    assert statuses == {200: done}, failures[:5]
    assert broken == 0
    assert upstream.request_count() < done
