"""Requests whose answer depends on live or stateful server-side data bypass the cache: web
search models and options (OpenAI), remote MCP servers, code-execution containers and web tools
(Anthropic). A normal request with the same question is still cached."""

from __future__ import annotations

from typing import Any

import pytest

from cacheback._clients import AnthropicDialect, OpenAIDialect
from cacheback._clients._policy import CachePolicy, CallOptions

TURN = [{"role": "user", "content": "What is the weather in Paris today?"}]


def _plan(dialect: Any, **body: Any) -> Any:
    return dialect.plan({"messages": TURN, "max_tokens": 50, **body}, CachePolicy(), CallOptions())


@pytest.mark.parametrize("body", [
    {"model": "gpt-4o-search-preview"},
    {"model": "gpt-4o-mini-search-preview-2025-03-11"},
    {"model": "gpt-4o-mini", "web_search_options": {}},
])
def test_openai_live_search_bypasses(body: dict[str, Any]) -> None:
    plan = _plan(OpenAIDialect(), **body)
    assert plan.query is None and "search" in plan.reason


@pytest.mark.parametrize("body", [
    {"mcp_servers": [{"type": "url", "url": "https://mcp.example.com/sse", "name": "x"}]},
    {"container": "container_011CPR5CNjB747bTd36fQLFk"},
    {"tools": [{"type": "web_fetch_20250910", "name": "web_fetch"}]},
])
def test_anthropic_live_or_stateful_tools_bypass(body: dict[str, Any]) -> None:
    plan = _plan(AnthropicDialect(), model="claude-sonnet-4-5", **body)
    assert plan.query is None and plan.reason


@pytest.mark.parametrize(("dialect", "model"), [(OpenAIDialect(), "gpt-4o-mini"),
                                                (OpenAIDialect(), "research-model"),
                                                (AnthropicDialect(), "claude-sonnet-4-5")])
def test_ordinary_requests_are_cached(dialect: Any, model: str) -> None:
    assert _plan(dialect, model=model, mcp_servers=[], container=None).query == TURN[0]["content"]
