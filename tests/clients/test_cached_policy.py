"""What is cached: the scope, the bypass and exact-only rules, per-call options, pass-through."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from cacheback import InvalidInputError
from cacheback.openai import CachePolicy, CallOptions
from cacheback.testing import Reply, ToolCall
from conftest import Harness, maybe

pytestmark = pytest.mark.anyio
QUESTION = "Which planet is the largest?"
PARAPHRASE = "which is the biggest planet?"


def _system(harness: Harness, text: str) -> dict[str, Any]:
    if harness.api == "openai":
        return {"messages": [{"role": "system", "content": text},
                             {"role": "user", "content": QUESTION}]}
    return {"system": text}


async def _tiers(harness: Harness, first: dict[str, Any], second: dict[str, Any]) -> str:
    await harness.ask(QUESTION, **first)
    _, result = await harness.ask(QUESTION, **second)
    return result.cacheback.tier


@pytest.mark.parametrize("change", ["model", "system", "temperature", "max_tokens", "history"])
async def test_scope_changes_never_share_an_answer(harness: Harness, change: str) -> None:
    first: dict[str, Any] = {"temperature": 0} if change == "temperature" else {}
    second: dict[str, Any] = {
        "model": {"model": "gpt-4.1-mini" if harness.api == "openai" else "claude-sonnet-4-5"},
        "system": _system(harness, "Answer like a pirate."),
        "temperature": {"temperature": 0.0, "top_p": 0.5},
        "max_tokens": {"max_tokens": 100},
        "history": {"messages": [{"role": "user", "content": "Hi"},
                                 {"role": "assistant", "content": "Hello!"},
                                 {"role": "user", "content": QUESTION}]},
    }[change]
    assert await _tiers(harness, first, second) == "miss"


async def test_metadata_like_parameters_do_not_split_the_scope(harness: Harness) -> None:
    second = ({"user": "u-1", "stream_options": {"include_usage": True}, "stream": True}
              if harness.api == "openai" else {"metadata": {"user_id": "u-1"}, "stream": True})
    await harness.ask(QUESTION)
    _, result = await harness.ask(QUESTION, **second)
    assert result.cacheback.tier == "exact"


async def test_temperature_above_zero_is_exact_only(harness: Harness) -> None:
    await harness.ask(QUESTION, temperature=0.7)
    _, paraphrased = await harness.ask(PARAPHRASE, temperature=0.7)
    assert paraphrased.cacheback.tier == "miss"
    _, exact = await harness.ask(QUESTION, temperature=0.7)
    assert exact.cacheback.tier == "exact" and "temperature" in exact.cacheback.reason


async def test_policy_can_allow_semantic_hits_when_sampling(harness: Harness) -> None:
    client = harness.other_client(policy=CachePolicy(max_semantic_temperature=1.0))
    await harness.ask(QUESTION, client=client, temperature=0.7)
    _, paraphrased = await harness.ask(PARAPHRASE, client=client, temperature=0.7)
    assert paraphrased.cacheback.tier == "semantic"


OPENAI_ONLY = pytest.mark.parametrize("harness", [("openai", "sync"), ("openai", "async")],
                                      indirect=True, ids=["openai-sync", "openai-async"])


@OPENAI_ONLY
async def test_several_choices_bypass(harness: Harness) -> None:
    for _ in range(2):
        _, result = await harness.ask(QUESTION, n=2)
        assert result.cacheback.tier == "bypass" and "n > 1" in result.cacheback.reason
    assert len(result.choices) == 2 and harness.upstream.request_count() == 2


def _tool_result_turns(harness: Harness) -> list[dict[str, Any]]:
    if harness.api == "openai":
        return [{"role": "user", "content": QUESTION},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": "lookup", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "Jupiter"}]
    return [{"role": "user", "content": QUESTION},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "Jupiter"}]}]


def _image_turn(harness: Harness) -> list[dict[str, Any]]:
    if harness.api == "openai":
        image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    else:
        image = {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                             "data": "AAAA"}}
    return [{"role": "user", "content": [{"type": "text", "text": QUESTION}, image]}]


@pytest.mark.parametrize("turns", [_tool_result_turns, _image_turn], ids=["tool", "image"])
async def test_tool_results_and_multimodal_turns_bypass(harness: Harness, turns: Any) -> None:
    for _ in range(2):
        _, result = await harness.ask(QUESTION, messages=turns(harness))
        assert result.cacheback.tier == "bypass"
    assert harness.upstream.request_count() == 2


async def test_text_parts_are_the_question(harness: Harness) -> None:
    parts = [{"role": "user", "content": [{"type": "text", "text": QUESTION}]}]
    await harness.ask(QUESTION, messages=parts)
    _, result = await harness.ask(QUESTION)
    assert result.cacheback.tier == "exact"


async def test_truncated_answers_are_not_stored_by_default(harness: Harness) -> None:
    limit = {"max_completion_tokens": 3} if harness.api == "openai" else {"max_tokens": 3}
    for _ in range(2):
        _, result = await harness.ask(QUESTION, **limit)
        assert result.cacheback.tier == "miss"
    client = harness.other_client(policy=CachePolicy(cache_truncated=True))
    await harness.ask(QUESTION, client=client, **limit)
    _, stored = await harness.ask(QUESTION, client=client, **limit)
    assert stored.cacheback.tier == "exact"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_tool_call_answers_are_served_on_exact_matches_only(harness: Harness,
                                                                  stream: bool) -> None:
    harness.upstream.responder = lambda request: Reply(
        "", [ToolCall("planet_facts", {"q": request.last_user_text})], "tool_calls")
    tools = ([{"type": "function", "function": {"name": "planet_facts", "parameters": {
        "type": "object", "properties": {"q": {"type": "string"}}}}}]
        if harness.api == "openai" else
        [{"name": "planet_facts", "input_schema": {"type": "object"}}])
    await harness.ask(QUESTION, tools=tools, stream=stream)
    _, paraphrased = await harness.ask(PARAPHRASE, tools=tools)
    assert paraphrased.cacheback.tier == "miss"
    _, exact = await harness.ask(QUESTION, tools=tools, stream=not stream)
    assert exact.cacheback.tier == "exact"
    if harness.api == "openai" and stream:
        assert exact.choices[0].message.tool_calls[0].function.name == "planet_facts"


async def test_per_call_options(harness: Harness) -> None:
    _, bypassed = await harness.ask(QUESTION, cacheback={"bypass": True})
    assert bypassed.cacheback.tier == "bypass"
    _, miss = await harness.ask(QUESTION)
    assert miss.cacheback.tier == "miss"
    _, refreshed = await harness.ask(QUESTION, cacheback=CallOptions(refresh=True))
    assert refreshed.cacheback.tier == "miss" and harness.upstream.request_count() == 3
    _, semantic = await harness.ask(PARAPHRASE)
    assert semantic.cacheback.tier == "semantic"
    _, exact_only = await harness.ask(PARAPHRASE, cacheback={"exact_only": True})
    assert exact_only.cacheback.tier == "miss" and harness.upstream.request_count() == 4
    assert all("cacheback" not in r.body for r in harness.upstream.requests)
    with pytest.raises(InvalidInputError):
        await harness.ask(QUESTION, cacheback={"bypas": True})


async def test_every_parameter_reaches_the_upstream_unchanged(harness: Harness) -> None:
    sent = harness.request(QUESTION, temperature=0, seed=7, stop=["\n\n"],
                           some_future_parameter={"nested": [1, 2]},
                           tool_choice="none" if harness.api == "openai" else {"type": "none"},
                           tools=[], top_p=openai.NOT_GIVEN)
    await maybe(harness.create(**{**sent, "extra_body": {"vendor_flag": True},
                                  "extra_headers": {"X-Trace": "t-1"},
                                   "extra_query": {"trace": "1"}, "timeout": 30}))
    received = harness.upstream.requests[-1]
    expected = {k: v for k, v in sent.items() if k != "top_p"}
    assert received.body == {**expected, "vendor_flag": True}
    assert received.headers["x-trace"] == "t-1"


@OPENAI_ONLY
async def test_sdk_message_objects_in_history_are_sent_as_json(harness: Harness) -> None:
    _, first = await harness.ask(QUESTION)
    history = [{"role": "user", "content": QUESTION}, first.choices[0].message,
               {"role": "user", "content": "And the smallest?"}]
    _, second = await harness.ask(QUESTION, messages=history)
    assert second.cacheback.tier == "miss"
    sent = harness.upstream.requests[-1].body["messages"][1]
    assert sent["role"] == "assistant" and sent["content"].endswith(QUESTION)


async def test_answer_shaping_headers_and_query_split_the_cache(harness: Harness) -> None:
    """Per-call extra headers and query parameters that can change an answer are keyed."""
    header = "OpenAI-Project" if harness.api == "openai" else "anthropic-beta"
    _, first = await harness.ask(QUESTION, extra_headers={header: "a"})
    _, same = await harness.ask(QUESTION, extra_headers={header: "a"})
    _, other = await harness.ask(QUESTION, extra_headers={header: "b"})
    _, query = await harness.ask(QUESTION, extra_headers={header: "a"},
                                 extra_query={"api-version": "2025-01-01"})
    assert (first.cacheback.tier, same.cacheback.tier) == ("miss", "exact")
    assert other.cacheback.tier == "miss" and query.cacheback.tier == "miss"
