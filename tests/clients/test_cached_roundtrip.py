"""Miss then hit, streamed and not, for both APIs, sync and async, over real HTTP."""

from __future__ import annotations

import pytest

from conftest import Harness, collect, maybe

pytestmark = pytest.mark.anyio
QUESTION = "What is the capital of France?"
ANSWER = "This is the fake upstream's answer to: What is the capital of France?"


@pytest.mark.parametrize(("first_stream", "second_stream"),
                         [(False, False), (True, True), (False, True), (True, False)],
                         ids=["json-json", "stream-stream", "json-stream", "stream-json"])
async def test_miss_then_exact_hit_without_upstream_request(harness: Harness, first_stream: bool,
                                                            second_stream: bool) -> None:
    first, miss = await harness.ask(QUESTION, stream=first_stream)
    assert first == ANSWER
    assert miss.cacheback.tier == "miss" and miss.cacheback_hit is False
    second, hit = await harness.ask(QUESTION, stream=second_stream)
    assert second == first
    assert harness.upstream.request_count() == 1
    assert hit.cacheback_hit is True and hit.cacheback.tier == "exact"
    assert hit.cacheback.matched_query == QUESTION and hit.cacheback.entry_id is not None
    assert hit.cacheback.cost_saved_usd > 0


async def test_paraphrase_is_a_semantic_hit(harness: Harness) -> None:
    await harness.ask(QUESTION)
    text, hit = await harness.ask("what's the capital city of France?")
    assert text == ANSWER
    assert hit.cacheback.tier == "semantic" and 0.9 < hit.cacheback.similarity < 1.0
    assert harness.upstream.request_count() == 1


async def test_different_question_is_a_miss(harness: Harness) -> None:
    await harness.ask(QUESTION)
    text, result = await harness.ask("How do I bake sourdough bread?")
    assert text.endswith("How do I bake sourdough bread?")
    assert result.cacheback.tier == "miss" and harness.upstream.request_count() == 2


async def test_replayed_stream_has_the_api_event_format(harness: Harness) -> None:
    await harness.ask(QUESTION)
    extra = {"stream_options": {"include_usage": True}} if harness.api == "openai" else {}
    stream = await maybe(harness.create(**harness.request(QUESTION, stream=True, **extra)))
    assert stream.cacheback.tier == "exact" and stream.response is None
    events = await collect(stream)
    if harness.api == "openai":
        assert {e.id for e in events} == {events[0].id}
        assert type(events[0]).__name__ == "ChatCompletionChunk"
        assert events[-1].choices == [] and events[-1].usage.completion_tokens > 0
        assert events[-2].choices[0].finish_reason == "stop"
    else:
        kinds = [e.type for e in events]
        assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
        assert events[-2].delta.stop_reason == "end_turn"


async def test_live_stream_then_close_early_is_not_stored(harness: Harness) -> None:
    stream = await maybe(harness.create(**harness.request(QUESTION, stream=True)))
    first = await maybe(stream.__anext__() if hasattr(stream, "__anext__") else next(stream))
    assert first is not None and stream.response is not None
    await maybe(stream.close())
    _, again = await harness.ask(QUESTION)
    assert again.cacheback.tier == "miss" and harness.upstream.request_count() == 2


async def test_stream_context_manager(harness: Harness) -> None:
    stream = await maybe(harness.create(**harness.request(QUESTION, stream=True)))
    if hasattr(stream, "__aenter__"):
        async with stream as events:
            assert [e async for e in events]
    else:
        with stream as events:
            assert list(events)
    _, hit = await harness.ask(QUESTION)
    assert hit.cacheback.tier == "exact"


async def test_clients_sharing_a_cache_share_answers(harness: Harness) -> None:
    await harness.ask(QUESTION)
    _, hit = await harness.ask(QUESTION, client=harness.other_client())
    assert hit.cacheback.tier == "exact" and harness.upstream.request_count() == 1


async def test_namespaces_do_not_share(harness: Harness) -> None:
    await harness.ask(QUESTION)
    _, result = await harness.ask(QUESTION, client=harness.other_client(namespace="tenant-b"))
    assert result.cacheback.tier == "miss" and harness.upstream.request_count() == 2
