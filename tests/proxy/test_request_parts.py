"""Request parts outside the body that change an answer are in the key: the query string
(Azure's api-version), OpenAI-Organization / -Project / -Beta, anthropic-version / -beta."""

from __future__ import annotations

import httpx
import pytest
from proxy_support import OPENAI_BODY, RunningProxy

from cacheback._clients._request_parts import request_parts

ANTHROPIC_BODY = {"model": "claude-3-5-haiku-latest", "max_tokens": 50,
                  "messages": [{"role": "user", "content": "What is HTTP?"}]}


def _post(proxy: RunningProxy, path: str, body: object, query: str = "", **headers: str) -> str:
    reply = httpx.post(f"{proxy.url}{path}{query}", json=body, timeout=30,
                       headers={"authorization": "Bearer sk-parts", "x-api-key": "sk-parts",
                                **headers})
    assert reply.status_code == 200
    return reply.headers["x-cacheback"]


@pytest.mark.parametrize(("first", "second"), [
    ({"query": "?api-version=2024-10-21"}, {"query": "?api-version=2025-01-01-preview"}),
    ({"openai-project": "proj_a"}, {"openai-project": "proj_b"}),
    ({"openai-organization": "org_a"}, {}),
    ({"openai-beta": "assistants=v2"}, {}),
])
def test_openai_parts_split_the_cache(proxy: RunningProxy, first: dict[str, str],
                                      second: dict[str, str]) -> None:
    q1, q2 = first.pop("query", ""), second.pop("query", "")
    assert _post(proxy, "/v1/chat/completions", OPENAI_BODY, q1, **first) == "miss"
    assert _post(proxy, "/v1/chat/completions", OPENAI_BODY, q1, **first) == "hit"
    assert _post(proxy, "/v1/chat/completions", OPENAI_BODY, q2, **second) == "miss"


@pytest.mark.parametrize("header", ["anthropic-version", "anthropic-beta"])
def test_anthropic_parts_split_the_cache(proxy: RunningProxy, header: str) -> None:
    assert _post(proxy, "/v1/messages", ANTHROPIC_BODY, **{header: "2023-06-01"}) == "miss"
    assert _post(proxy, "/v1/messages", ANTHROPIC_BODY, **{header: "2023-06-01"}) == "hit"
    assert _post(proxy, "/v1/messages", ANTHROPIC_BODY, **{header: "2025-01-01"}) == "miss"


def test_other_headers_do_not_split_the_cache(proxy: RunningProxy) -> None:
    assert _post(proxy, "/v1/chat/completions", OPENAI_BODY, **{"user-agent": "a"}) == "miss"
    assert _post(proxy, "/v1/chat/completions", OPENAI_BODY, **{"user-agent": "b",
                                                                "x-stainless-os": "x"}) == "hit"


def test_parts_are_normalised() -> None:
    assert request_parts({"OpenAI-Project": "p", "Accept": "x"}, "b=2&a=1") == {
        "headers": {"openai-project": "p"}, "query": [["a", "1"], ["b", "2"]]}
    assert request_parts({}, "") == {}


@pytest.mark.parametrize(("path", "field", "first", "second"), [
    ("/v1/chat/completions", "reasoning_effort", "low", "high"),
    ("/v1/chat/completions", "verbosity", "low", "high"),
    ("/v1/chat/completions", "prediction", {"type": "content", "content": "a"},
     {"type": "content", "content": "b"}),
    ("/v1/chat/completions", "logit_bias", {"1": 5}, {"1": -5}),
    ("/v1/chat/completions", "response_format", {"type": "json_object"}, {"type": "text"}),
    ("/v1/messages", "thinking", {"type": "enabled", "budget_tokens": 1024}, {"type": "disabled"}),
    ("/v1/messages", "top_k", 1, 5),
    ("/v1/messages", "system", "Answer in French.", "Answer in German."),
    ("/v1/messages", "stop_sequences", ["a"], ["b"]),
])
def test_answer_shaping_body_parameters_split_the_cache(proxy: RunningProxy, path: str,
                                                        field: str, first: object,
                                                        second: object) -> None:
    body = ANTHROPIC_BODY if path == "/v1/messages" else OPENAI_BODY
    assert _post(proxy, path, {**body, field: first}) == "miss"
    assert _post(proxy, path, {**body, field: first}) == "hit"
    assert _post(proxy, path, {**body, field: second}) == "miss"


@pytest.mark.parametrize("header", ["x-stainless-retry-count", "idempotency-key", "x-request-id",
                                    "x-stainless-runtime-version"])
def test_transport_headers_do_not_split_the_cache(proxy: RunningProxy, header: str) -> None:
    assert _post(proxy, "/v1/messages", ANTHROPIC_BODY, **{header: "1"}) == "miss"
    assert _post(proxy, "/v1/messages", ANTHROPIC_BODY, **{header: "2"}) == "hit"
