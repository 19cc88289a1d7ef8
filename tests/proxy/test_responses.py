"""``POST /v1/responses`` through the proxy, with the official openai SDK pointed at it: JSON and
SSE replay, X-Cacheback headers, semantic hits, bypass reasons, tenants, coalescing and
read-your-writes, on the same machinery as ``/v1/chat/completions``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from proxy_support import RunningProxy

from cacheback import SemanticCache
from cacheback.embed import Embedder
from cacheback.testing import FakeUpstream, Fault, Reply, ToolCall

MODEL = "gpt-4o-mini"
QUESTION = "Why is the sky blue?"
ANSWER = f"This is the fake upstream's answer to: {QUESTION}"
PATH = "/v1/responses"


def _openai(proxy: RunningProxy, key: str = "sk-test-one") -> openai.OpenAI:
    return openai.OpenAI(base_url=proxy.url + "/v1", api_key=key, max_retries=0)


def _deltas(events: list[Any]) -> str:
    return "".join(e.delta for e in events if e.type == "response.output_text.delta")


def test_json_miss_then_hit(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    client = _openai(proxy)
    first = client.responses.with_raw_response.create(model=MODEL, input=QUESTION)
    second = client.responses.with_raw_response.create(model=MODEL, input=QUESTION)
    assert (first.headers["x-cacheback"], second.headers["x-cacheback"]) == ("miss", "hit")
    assert second.headers["x-cacheback-similarity"] == "1.0000"
    assert first.parse().model_dump() == second.parse().model_dump()
    assert second.parse().output_text == ANSWER
    assert upstream.request_count() == 1 and upstream.requests[0].path == PATH


@pytest.mark.parametrize("first_stream", [True, False], ids=["after-stream", "after-json"])
def test_stream_replay_in_the_api_event_format(proxy: RunningProxy, upstream: FakeUpstream,
                                               first_stream: bool) -> None:
    client = _openai(proxy)
    if first_stream:
        with client.responses.create(model=MODEL, input=QUESTION, stream=True) as stream:
            assert _deltas(list(stream)) == ANSWER
    else:
        client.responses.create(model=MODEL, input=QUESTION)
    raw = proxy.post(PATH, {"model": MODEL, "input": QUESTION, "stream": True})
    assert raw.headers["x-cacheback"] == "hit"
    assert raw.headers["content-type"].startswith("text/event-stream")
    assert raw.text.startswith("event: response.created\ndata: ")
    assert "[DONE]" not in raw.text and "event: response.completed" in raw.text
    with client.responses.create(model=MODEL, input=QUESTION, stream=True) as stream:
        events = list(stream)
    assert _deltas(events) == ANSWER and events[-1].type == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert upstream.request_count() == 1


def test_stream_helper_through_the_proxy(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    client = _openai(proxy)
    finals = []
    for _ in range(2):
        with client.responses.stream(model=MODEL, input=QUESTION) as stream:
            finals.append(stream.get_final_response())
    assert [f.output_text for f in finals] == [ANSWER, ANSWER]
    assert upstream.request_count() == 1


def test_async_sdk_through_the_proxy(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    async def run() -> list[str]:
        async with openai.AsyncOpenAI(base_url=proxy.url + "/v1", api_key="sk-async",
                                      max_retries=0) as client:
            first = await client.responses.create(model=MODEL, input=QUESTION)
            stream = await client.responses.create(model=MODEL, input=QUESTION, stream=True)
            return [first.output_text, _deltas([e async for e in stream])]

    assert asyncio.run(run()) == [ANSWER, ANSWER]
    assert upstream.request_count() == 1


def test_paraphrase_is_a_semantic_hit(start_proxy: Callable[..., RunningProxy],
                                      upstream: FakeUpstream, embedder: Embedder,
                                      tmp_path: Path) -> None:
    proxy = start_proxy(SemanticCache(str(tmp_path / "s.db"), embedder=embedder))
    client = _openai(proxy, "sk-sem")

    def ask(question: str) -> openai.APIResponse[Any]:
        return client.responses.with_raw_response.create(model=MODEL, input=question)

    first = ask("How do I reset my password?")
    second = ask("How can I reset my password?")
    assert (first.headers["x-cacheback"], second.headers["x-cacheback"]) == ("miss", "semantic")
    assert 0.92 <= float(second.headers["x-cacheback-similarity"]) < 1.0
    assert second.parse().output_text.endswith("How do I reset my password?")
    assert ask("What is the boiling point of water?").headers["x-cacheback"] == "miss"
    assert upstream.request_count() == 2


@pytest.mark.parametrize(("extra", "reason"), [
    ({"previous_response_id": "resp_abc"}, "previous_response_id"),
    ({"background": True}, "background"),
    ({"tools": [{"type": "web_search"}]}, "web_search"),
    ({"prompt": {"id": "pmpt_abc"}}, "prompt"),
])
def test_bypass_reason_in_the_headers(proxy: RunningProxy, upstream: FakeUpstream,
                                      extra: dict[str, Any], reason: str) -> None:
    for _ in range(2):
        response = proxy.post(PATH, {"model": MODEL, "input": QUESTION, **extra})
        assert response.status_code == 200 and response.headers["x-cacheback"] == "bypass"
        assert reason in response.headers["x-cacheback-reason"]
    assert upstream.request_count() == 2


def test_tool_calls_are_not_stored(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    upstream.responder = lambda request: Reply("", [ToolCall("lookup", {"q": "sky"})],
                                               "tool_calls")
    body = {"model": MODEL, "input": QUESTION,
            "tools": [{"type": "function", "name": "lookup", "parameters": {"type": "object"}}]}
    for stream in (False, True):
        response = proxy.post(PATH, {**body, "stream": stream})
        assert response.headers["x-cacheback"] == "miss"
    assert upstream.request_count() == 2 and proxy.stored() == 0


def test_tenants_never_share_an_answer(proxy: RunningProxy, upstream: FakeUpstream) -> None:
    body = {"model": MODEL, "input": QUESTION}
    assert proxy.post(PATH, body, key="sk-one").headers["x-cacheback"] == "miss"
    assert proxy.post(PATH, body, key="sk-two").headers["x-cacheback"] == "miss"
    assert proxy.post(PATH, body, key="sk-one").headers["x-cacheback"] == "hit"
    assert upstream.request_count() == 2


def test_instructions_and_chat_keep_answers_apart(proxy: RunningProxy,
                                                  upstream: FakeUpstream) -> None:
    body = {"model": MODEL, "input": QUESTION}
    assert proxy.post(PATH, body).headers["x-cacheback"] == "miss"
    instructed = {**body, "instructions": "Answer like a pirate."}
    assert proxy.post(PATH, instructed).headers["x-cacheback"] == "miss"
    chat = {"model": MODEL, "messages": [{"role": "user", "content": QUESTION}]}
    assert proxy.post("/v1/chat/completions", chat).headers["x-cacheback"] == "miss"
    assert proxy.post(PATH, instructed).headers["x-cacheback"] == "hit"
    assert upstream.request_count() == 3


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_identical_concurrent_misses_go_upstream_once(
        start_proxy: Callable[..., RunningProxy], upstream: FakeUpstream, stream: bool) -> None:
    upstream.latency = 0.4
    proxy = start_proxy()

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=30) as client:
            return await asyncio.gather(*[client.post(
                proxy.url + PATH, json={"model": MODEL, "input": QUESTION, "stream": stream},
                headers={"authorization": "Bearer sk-flight"}) for _ in range(12)])

    replies = asyncio.run(burst())
    assert all(r.status_code == 200 for r in replies) and upstream.request_count() == 1
    outcomes = sorted(r.headers["x-cacheback"] for r in replies)
    assert outcomes.count("miss") == 1 and outcomes.count("hit") == 11
    if stream:
        assert all("event: response.completed" in r.text for r in replies)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_an_immediate_repeat_hits(proxy: RunningProxy, stream: bool) -> None:
    with httpx.Client(timeout=30) as client:
        for i in range(6):
            body = {"model": MODEL, "input": f"Question number {i}?", "stream": stream}
            outcomes = []
            for _ in range(2):
                response = client.post(proxy.url + PATH, json=body,
                                       headers={"authorization": "Bearer sk-ryw"})
                response.read()
                outcomes.append(response.headers["x-cacheback"])
            assert outcomes == ["miss", "hit"], f"repeat {i}: {outcomes}"


@pytest.mark.parametrize("fault", [Fault.cut_stream(after_events=4),
                                   Fault.stream_error(after_events=4)],
                         ids=["cut", "error-event"])
def test_a_stream_without_response_completed_is_not_stored(
        proxy: RunningProxy, upstream: FakeUpstream, fault: Fault) -> None:
    upstream.inject(fault)
    body = {"model": MODEL, "input": QUESTION, "stream": True}
    try:
        with httpx.stream("POST", proxy.url + PATH, json=body, timeout=30,
                          headers={"authorization": "Bearer sk-test-one"}) as response:
            assert response.headers["x-cacheback"] == "miss"
            text = b"".join(response.iter_bytes()).decode()
        assert "event: response.completed" not in text
    except httpx.RemoteProtocolError:
        pass  # the cut stream reaches the caller as a cut stream
    assert proxy.stored() == 0
    assert proxy.post(PATH, body).headers["x-cacheback"] == "miss"
    assert upstream.request_count() == 2
