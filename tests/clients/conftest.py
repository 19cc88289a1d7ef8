"""Fixtures for the drop-in client tests: every case runs for both APIs, sync and async, over
real HTTP against the fake upstream, with a real in-memory ``SemanticCache``."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from cacheback import SemanticCache
from cacheback.anthropic import AsyncCachedAnthropic, CachedAnthropic
from cacheback.openai import AsyncCachedOpenAI, CachedOpenAI
from cacheback.testing import FakeUpstream

CLIENTS = {("openai", "sync"): CachedOpenAI, ("openai", "async"): AsyncCachedOpenAI,
           ("anthropic", "sync"): CachedAnthropic, ("anthropic", "async"): AsyncCachedAnthropic}
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-3-5-haiku-latest"}
SEMANTIC_THRESHOLD = 0.9


async def maybe(value: Any) -> Any:
    """Await ``value`` when an async client returned a coroutine."""
    return await value if inspect.isawaitable(value) else value


async def collect(stream: Any) -> list[Any]:
    """Every event of a sync or async stream."""
    if hasattr(stream, "__aiter__"):
        return [event async for event in stream]
    return list(stream)


def stream_text(api: str, events: list[Any]) -> str:
    """The text carried by a list of stream events."""
    if api == "openai":
        return "".join(e.choices[0].delta.content or "" for e in events if e.choices)
    return "".join(e.delta.text for e in events
                   if e.type == "content_block_delta" and e.delta.type == "text_delta")


def response_text(api: str, response: Any) -> str:
    """The text of a full response object."""
    if api == "openai":
        return response.choices[0].message.content or ""
    return "".join(block.text for block in response.content if block.type == "text")


@dataclass
class Harness:
    """One API x one mode: build requests, call ``create``, read text and records."""

    api: str
    mode: str
    client: Any
    upstream: FakeUpstream
    extra_clients: list[Any] = field(default_factory=list)

    def request(self, question: str | list[Any], **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"model": MODELS[self.api],
                                "messages": [{"role": "user", "content": question}]}
        if self.api == "anthropic":
            body["max_tokens"] = 256
        return {**body, **extra}

    def create(self, client: Any | None = None, **kwargs: Any) -> Any:
        client = client or self.client
        resource = client.chat.completions if self.api == "openai" else client.messages
        return resource.create(**kwargs)

    async def ask(self, question: str, *, stream: bool = False, client: Any | None = None,
                  **extra: Any) -> tuple[str, Any]:
        """(answer text, the response or stream object)."""
        if stream:
            extra["stream"] = True
        result = await maybe(self.create(client, **self.request(question, **extra)))
        if stream:
            return stream_text(self.api, await collect(result)), result
        return response_text(self.api, result), result

    def other_client(self, **overrides: Any) -> Any:
        """Another client of the same kind, sharing the cache unless told otherwise."""
        client = make(self.api, self.mode, self.upstream, self.client.cache, **overrides)
        self.extra_clients.append(client)
        return client


def make(api: str, mode: str, upstream: FakeUpstream, cache: Any, **overrides: Any) -> Any:
    base_url = upstream.openai_base_url if api == "openai" else upstream.anthropic_base_url
    options = {"api_key": "test-key", "base_url": base_url, "cache": cache, **overrides}
    return CLIENTS[(api, mode)](**options)


@pytest.fixture
def cache(embedder: Any) -> Iterator[SemanticCache]:
    """A plain cosine threshold, so these tests pin the client's behaviour on a semantic hit
    rather than the calibrated matcher's verdict on a particular paraphrase."""
    with SemanticCache(":memory:", embedder=embedder,
                       similarity_threshold=SEMANTIC_THRESHOLD) as semantic_cache:
        yield semantic_cache


@pytest.fixture(params=sorted(CLIENTS), ids=lambda key: "-".join(key))
async def harness(request: pytest.FixtureRequest, upstream: FakeUpstream,
                  cache: SemanticCache) -> AsyncIterator[Harness]:
    api, mode = request.param
    h = Harness(api, mode, make(api, mode, upstream, cache), upstream)
    yield h
    for client in [h.client, *h.extra_clients]:
        await maybe(client.close())
