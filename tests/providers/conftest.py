"""Fixtures for the provider tests: a fake upstream and sync/async clients for both APIs."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

from cacheback.providers import (
    AnthropicMessages,
    AsyncAnthropicMessages,
    AsyncOpenAIChat,
    OpenAIChat,
)
from cacheback.testing import FakeUpstream

CLIENTS = {
    ("openai", "sync"): OpenAIChat, ("openai", "async"): AsyncOpenAIChat,
    ("anthropic", "sync"): AnthropicMessages, ("anthropic", "async"): AsyncAnthropicMessages,
}
BODIES = {
    "openai": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "What is SSE?"}]},
    "anthropic": {"model": "claude-3-5-haiku-latest", "max_tokens": 256,
                  "messages": [{"role": "user", "content": "What is SSE?"}]},
}


async def maybe(value: Any) -> Any:
    """Await ``value`` when an async client returned a coroutine."""
    return await value if inspect.isawaitable(value) else value


async def collect(stream: Any) -> list[dict[str, Any]]:
    """All events of a sync or async event stream."""
    if hasattr(stream, "__aiter__"):
        return [event async for event in stream]
    return list(stream)


@pytest.fixture(params=sorted(CLIENTS), ids=lambda key: "-".join(key))
def variant(request: pytest.FixtureRequest) -> tuple[str, str]:
    return request.param


@pytest.fixture
def make_client(variant: tuple[str, str], upstream: FakeUpstream) -> Callable[..., Any]:
    """Build the variant's client against the fake upstream (keyword overrides allowed)."""
    api, _ = variant
    base_url = upstream.openai_base_url if api == "openai" else upstream.anthropic_base_url

    def build(**overrides: Any) -> Any:
        options = {"api_key": "test-key", "base_url": base_url, **overrides}
        return CLIENTS[variant](**options)

    return build


@pytest.fixture
def body(variant: tuple[str, str]) -> dict[str, Any]:
    return BODIES[variant[0]]
