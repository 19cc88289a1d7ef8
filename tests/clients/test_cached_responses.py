"""``client.responses`` on the cached OpenAI clients, sync and async, with the real ``openai``
types, over real HTTP against the fake upstream: repeats and paraphrases served from the cache,
streams replayed as the API's event stream, the SDK's ``responses.stream`` helper on hits and
misses, what bypasses the cache and what is never stored, and what keeps answers apart."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from typing import Any

import openai
import pytest
from openai.types.responses import Response

from cacheback import SemanticCache
from cacheback.openai import AsyncCachedOpenAI, CachedOpenAI, CachePolicy
from cacheback.testing import FakeUpstream, Fault, Reply, ToolCall
from conftest import collect, maybe

pytestmark = pytest.mark.anyio
MODEL = "gpt-4o-mini"
QUESTION = "What is the capital of France?"
ANSWER = f"This is the fake upstream's answer to: {QUESTION}"


@pytest.fixture(params=["sync", "async"])
async def client(request: pytest.FixtureRequest, upstream: FakeUpstream,
                 cache: SemanticCache) -> AsyncIterator[Any]:
    kind = CachedOpenAI if request.param == "sync" else AsyncCachedOpenAI
    cached = kind(api_key="test-key", base_url=upstream.openai_base_url, cache=cache)
    yield cached
    await maybe(cached.close())


async def ask(client: Any, question: Any = QUESTION, **extra: Any) -> Any:
    return await maybe(client.responses.create(model=MODEL, input=question, **extra))


def deltas(events: list[Any]) -> str:
    return "".join(e.delta for e in events if e.type == "response.output_text.delta")


async def test_repeat_is_served_from_the_cache_as_an_sdk_response(
        client: Any, upstream: FakeUpstream) -> None:
    miss = await ask(client)
    hit = await ask(client)
    assert isinstance(hit, Response) and isinstance(miss, Response)
    assert (miss.cacheback.tier, hit.cacheback.tier) == ("miss", "exact")
    assert (miss.cacheback_hit, hit.cacheback_hit) == (False, True)
    assert hit.output_text == miss.output_text == ANSWER
    assert hit.model_dump() == miss.model_dump()
    assert hit.cacheback.cost_saved_usd > 0
    assert upstream.request_count() == 1 and upstream.requests[0].path == "/v1/responses"


async def test_a_message_list_is_the_same_question_as_a_string(client: Any,
                                                                upstream: FakeUpstream) -> None:
    await ask(client)
    as_items = [{"type": "message", "role": "user",
                 "content": [{"type": "input_text", "text": QUESTION}]}]
    hit = await ask(client, as_items)
    assert hit.cacheback.tier == "exact" and upstream.request_count() == 1


async def test_paraphrase_is_a_semantic_hit(client: Any, upstream: FakeUpstream) -> None:
    await ask(client)
    hit = await ask(client, "what's the capital city of France?")
    assert hit.cacheback.tier == "semantic" and 0.9 < hit.cacheback.similarity < 1.0
    assert hit.cacheback.matched_query == QUESTION and hit.output_text == ANSWER
    assert upstream.request_count() == 1


@pytest.mark.parametrize(("first_stream", "second_stream"),
                         [(True, True), (False, True), (True, False)],
                         ids=["stream-stream", "json-stream", "stream-json"])
async def test_stream_replay_carries_the_original_text(client: Any, upstream: FakeUpstream,
                                                       first_stream: bool,
                                                       second_stream: bool) -> None:
    first = await ask(client, stream=first_stream)
    original = deltas(await collect(first)) if first_stream else first.output_text
    assert first.cacheback.tier == "miss" and original == ANSWER
    second = await ask(client, stream=second_stream)
    assert second.cacheback.tier == "exact" and upstream.request_count() == 1
    if not second_stream:
        assert second.output_text == original
        return
    assert second.response is None
    events = await collect(second)
    assert deltas(events) == original
    kinds = [e.type for e in events]
    assert kinds[:4] == ["response.created", "response.in_progress",
                         "response.output_item.added", "response.content_part.added"]
    assert kinds[-4:] == ["response.output_text.done", "response.content_part.done",
                          "response.output_item.done", "response.completed"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert all(type(e).__module__.startswith("openai.types.responses") for e in events)
    assert events[-1].response.output_text == original


async def test_stream_helper_on_miss_then_hit(client: Any, upstream: FakeUpstream) -> None:
    finals, texts = [], []
    for _ in range(2):
        manager = client.responses.stream(model=MODEL, input=QUESTION)
        if isinstance(client, AsyncCachedOpenAI):
            async with manager as stream:
                texts.append("".join([e.delta async for e in stream
                                      if e.type == "response.output_text.delta"]))
                finals.append(await stream.get_final_response())
        else:
            with manager as stream:
                texts.append(deltas(list(stream)))
                finals.append(stream.get_final_response())
        assert stream.cacheback_hit is (len(finals) == 2)
    assert texts == [ANSWER, ANSWER]
    assert [f.output_text for f in finals] == [ANSWER, ANSWER]
    assert [f.cacheback.tier for f in finals] == ["miss", "exact"]
    assert upstream.request_count() == 1


async def test_stream_helper_parses_text_format(client: Any, upstream: FakeUpstream) -> None:
    from pydantic import BaseModel

    class Capital(BaseModel):
        city: str

    upstream.responder = lambda request: Reply('{"city": "Paris"}')
    for _ in range(2):
        manager = client.responses.stream(model=MODEL, input=QUESTION, text_format=Capital)
        if isinstance(client, AsyncCachedOpenAI):
            async with manager as stream:
                final = await stream.get_final_response()
        else:
            with manager as stream:
                final = stream.get_final_response()
        assert final.output_parsed == Capital(city="Paris")
    assert final.cacheback.tier == "exact" and upstream.request_count() == 1
    body = upstream.requests[0].body
    assert body["text"]["format"]["type"] == "json_schema" and body["stream"] is True


@pytest.mark.parametrize(("extra", "reason"), [
    ({"previous_response_id": "resp_abc"}, "previous_response_id"),
    ({"conversation": "conv_abc"}, "conversation"),
    ({"background": True}, "background"),
    ({"prompt": {"id": "pmpt_abc", "version": "2"}}, "prompt"),
    ({"tools": [{"type": "web_search"}]}, "'web_search'"),
    ({"tools": [{"type": "file_search", "vector_store_ids": ["vs_1"]}]}, "'file_search'"),
    ({"tools": [{"type": "code_interpreter", "container": {"type": "auto"}}]},
     "'code_interpreter'"),
    ({"tools": [{"type": "computer_use_preview", "display_width": 1024, "display_height": 768,
                 "environment": "browser"}]}, "'computer_use_preview'"),
    ({"tools": [{"type": "mcp", "server_label": "x", "server_url": "https://example.com"}]},
     "'mcp'"),
    ({"top_logprobs": 3}, "logprobs"),
    ({"include": ["message.output_text.logprobs"]}, "logprobs"),
    ({"cacheback": {"bypass": True}}, "requested by the caller"),
], ids=lambda value: str(value)[:40])
async def test_bypass_reasons(client: Any, upstream: FakeUpstream, extra: dict[str, Any],
                              reason: str) -> None:
    for _ in range(2):
        result = await ask(client, **extra)
        assert result.cacheback.tier == "bypass" and reason in result.cacheback.reason
        assert result.output_text == ANSWER
    assert upstream.request_count() == 2
    assert client.cache.stats()["entries"] == 0


async def test_last_input_that_is_not_a_user_question_bypasses(client: Any) -> None:
    items = [{"role": "user", "content": "Weather in Paris?"},
             {"type": "function_call", "call_id": "c1", "name": "weather", "arguments": "{}"},
             {"type": "function_call_output", "call_id": "c1", "output": "sunny"}]
    result = await ask(client, items)
    assert result.cacheback.tier == "bypass"
    assert "'function_call_output' turn" in result.cacheback.reason


async def test_personal_data_in_the_question_bypasses(client: Any, upstream: FakeUpstream) -> None:
    result = await ask(client, "my card 4539 1488 0343 6467 was declined, why?")
    assert result.cacheback.tier == "bypass" and "card" in result.cacheback.reason
    assert client.cache.stats()["entries"] == 0


async def test_tool_calling_answers_are_not_stored(client: Any, upstream: FakeUpstream) -> None:
    upstream.responder = lambda request: Reply("", [ToolCall("lookup", {"q": "France"})],
                                               "tool_calls")
    tools = [{"type": "function", "name": "lookup", "parameters": {"type": "object"}}]
    for stream in (False, True):
        result = await ask(client, tools=tools, stream=stream)
        if stream:
            events = await collect(result)
            assert events[-1].response.output[0].type == "function_call"
        else:
            assert result.output[0].type == "function_call"
        assert result.cacheback.tier == "miss"
    assert upstream.request_count() == 2 and client.cache.stats()["entries"] == 0


async def test_text_answers_with_function_tools_are_stored(client: Any,
                                                           upstream: FakeUpstream) -> None:
    tools = [{"type": "function", "name": "lookup", "parameters": {"type": "object"}}]
    await ask(client, tools=tools)
    assert (await ask(client, tools=tools)).cacheback.tier == "exact"
    assert (await ask(client)).cacheback.tier == "miss"  # no tools: another scope


async def test_truncated_answers_are_not_stored(client: Any, upstream: FakeUpstream) -> None:
    for _ in range(2):
        result = await ask(client, max_output_tokens=3)
        assert result.status == "incomplete" and result.cacheback.tier == "miss"
    assert upstream.request_count() == 2


@pytest.mark.parametrize("fault", [Fault.cut_stream(after_events=5),
                                   Fault.stream_error(after_events=5)],
                         ids=["cut", "error-event"])
async def test_a_stream_without_response_completed_is_not_stored(
        client: Any, upstream: FakeUpstream, fault: Fault) -> None:
    upstream.inject(fault)
    stream = await ask(client, stream=True)
    try:
        await collect(stream)
    except openai.APIError:
        pass
    assert client.cache.stats()["entries"] == 0
    assert (await ask(client)).cacheback.tier == "miss"


@pytest.mark.parametrize(("first", "second"), [
    ({"instructions": "Answer in French."}, {"instructions": "Answer in German."}),
    ({}, {"instructions": "Answer in German."}),
    ({"model": "gpt-4o-mini"}, {"model": "gpt-4o"}),
    ({"tools": [{"type": "function", "name": "a", "parameters": {"type": "object"}}]},
     {"tools": [{"type": "function", "name": "b", "parameters": {"type": "object"}}]}),
    ({"text": {"format": {"type": "text"}}},
     {"text": {"format": {"type": "json_object"}}}),
    ({"reasoning": {"effort": "low"}}, {"reasoning": {"effort": "high"}}),
    ({"max_output_tokens": 500}, {"max_output_tokens": 800}),
    ({"store": False}, {}),
    ({"tool_choice": "auto"}, {"tool_choice": "none"}),
    ({"truncation": "auto"}, {"truncation": "disabled"}),
    ({"input": [{"role": "developer", "content": "Be brief."},
                {"role": "user", "content": QUESTION}]},
     {"input": [{"role": "developer", "content": "Be thorough."},
                {"role": "user", "content": QUESTION}]}),
], ids=lambda value: str(value)[:40])
async def test_answer_shaping_parameters_never_share_an_answer(
        client: Any, upstream: FakeUpstream, first: dict[str, Any],
        second: dict[str, Any]) -> None:
    def call(extra: dict[str, Any]) -> Any:
        extra = dict(extra)
        model = extra.pop("model", MODEL)
        question = extra.pop("input", QUESTION)
        return maybe(client.responses.create(model=model, input=question, **extra))

    assert (await call(first)).cacheback.tier == "miss"
    assert (await call(first)).cacheback.tier == "exact"
    assert (await call(second)).cacheback.tier == "miss"
    assert upstream.request_count() == 2


async def test_parameters_that_do_not_shape_the_answer_share_it(client: Any,
                                                                upstream: FakeUpstream) -> None:
    await ask(client, metadata={"run": "1"}, user="u1", prompt_cache_key="k1")
    hit = await ask(client, metadata={"run": "2"}, safety_identifier="s2", service_tier="auto")
    assert hit.cacheback.tier == "exact" and upstream.request_count() == 1


async def test_chat_and_responses_never_share_an_answer(client: Any,
                                                        upstream: FakeUpstream) -> None:
    await ask(client)
    chat = await maybe(client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": QUESTION}]))
    assert chat.cacheback.tier == "miss" and upstream.request_count() == 2


async def test_the_rest_of_responses_is_the_sdk(client: Any) -> None:
    sdk = client._sdk.get().responses
    assert type(client.responses.with_raw_response) is type(sdk.with_raw_response)
    assert client.responses.retrieve.__func__ is type(sdk).retrieve
    assert client.responses.input_items is not None and client.responses.parse is not None
    with pytest.raises(AttributeError):
        client.responses.no_such_method  # noqa: B018


def test_without_the_sdk_responses_are_light_objects(upstream: FakeUpstream, cache: SemanticCache,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.import_module

    def no_sdk(name: str, *args: Any) -> Any:
        if name == "openai" or name.startswith("openai."):
            raise ImportError(name)
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", no_sdk)
    client = CachedOpenAI(api_key="k", base_url=upstream.openai_base_url, cache=cache)
    first = client.responses.create(model=MODEL, input=QUESTION)
    second = client.responses.create(model=MODEL, input=QUESTION)
    assert not isinstance(second, Response) and second.cacheback.tier == "exact"
    assert first.output_text == second.output_text == ANSWER
    events = list(client.responses.create(model=MODEL, input=QUESTION, stream=True))
    assert deltas(events) == ANSWER and events[-1].response.output[0].role == "assistant"
    with pytest.raises(AttributeError, match="pip install openai"):
        client.responses.stream(model=MODEL, input=QUESTION)
    with pytest.raises(AttributeError, match="pip install openai"):
        client.responses.retrieve  # noqa: B018
    client.close()


async def test_earlier_input_items_are_in_the_scope(client: Any, upstream: FakeUpstream) -> None:
    def chat(earlier: str) -> list[dict[str, Any]]:
        return [{"role": "user", "content": earlier},
                {"role": "assistant", "content": [{"type": "output_text", "text": "Sure."}]},
                {"role": "user", "content": "And how long does it take?"}]

    assert (await ask(client, chat("I want to fly to Tokyo."))).cacheback.tier == "miss"
    assert (await ask(client, chat("I want to fly to Tokyo."))).cacheback.tier == "exact"
    assert (await ask(client, chat("I want to drive to Lyon."))).cacheback.tier == "miss"
    assert upstream.request_count() == 2


async def test_conversation_aware_policy_reads_the_input_turns(upstream: FakeUpstream,
                                                               cache: SemanticCache) -> None:
    client = CachedOpenAI(api_key="k", base_url=upstream.openai_base_url, cache=cache,
                          policy=CachePolicy(conversation_aware=True))
    question = "What is the boiling point of water at sea level in Celsius?"
    client.responses.create(model=MODEL, input=[
        {"role": "user", "content": "Hi, I have a chemistry homework question."},
        {"role": "assistant", "content": "Happy to help."},
        {"role": "user", "content": question}])
    standalone = client.responses.create(model=MODEL, input=question)
    assert standalone.cacheback.tier == "exact"  # a standalone question: history left out
    follow_up = [{"role": "user", "content": "Tell me about the Eiffel Tower."},
                 {"role": "assistant", "content": "It is in Paris."},
                 {"role": "user", "content": "How tall is it?"}]
    client.responses.create(model=MODEL, input=follow_up)
    other = [{"role": "user", "content": "Tell me about Mount Everest."},
             {"role": "assistant", "content": "It is in Nepal."},
             {"role": "user", "content": "How tall is it?"}]
    assert client.responses.create(model=MODEL, input=other).cacheback.tier == "miss"
    assert upstream.request_count() == 3
    client.close()


async def test_an_input_image_is_keyed_by_the_image(client: Any, upstream: FakeUpstream) -> None:
    def question(url: str) -> list[dict[str, Any]]:
        return [{"role": "user", "content": [
            {"type": "input_image", "image_url": url, "detail": "auto"},
            {"type": "input_text", "text": "Describe it."}]}]

    await ask(client, question("https://example.com/a.jpg"))
    same = await ask(client, question("https://example.com/a.jpg"))
    other = await ask(client, question("https://example.com/b.jpg"))
    assert (same.cacheback.tier, other.cacheback.tier) == ("exact", "miss")
    assert upstream.request_count() == 2


async def test_stream_is_stored_when_response_completed_arrives(client: Any,
                                                                upstream: FakeUpstream) -> None:
    stream = await ask(client, stream=True)
    seen = []
    if isinstance(client, AsyncCachedOpenAI):
        async for event in stream:
            seen.append(event.type)
            if event.type == "response.completed":
                break  # the caller stops at the last event: the answer is already stored
    else:
        for event in stream:
            seen.append(event.type)
            if event.type == "response.completed":
                break
    assert seen[-1] == "response.completed"
    assert (await ask(client)).cacheback.tier == "exact" and upstream.request_count() == 1
    await maybe(stream.close())
