"""The fake upstream speaks both APIs well enough for the official SDKs, and scripts faults."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest

from cacheback.pricing import estimate_cost
from cacheback.testing import FakeUpstream, Fault, Reply, ToolCall, UpstreamRequest

pytest_plugins = ["cacheback.testing.pytest_plugin"]
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Name a colour"}]}
MESSAGES = {"model": "claude-3-5-haiku-latest", "max_tokens": 64,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Name a colour"}]}]}


@pytest.fixture
def sdk_openai(fake_upstream: FakeUpstream) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(api_key="k", base_url=fake_upstream.openai_base_url,
                       max_retries=0) as client:
        yield client


@pytest.fixture
def sdk_anthropic(fake_upstream: FakeUpstream) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(api_key="k", base_url=fake_upstream.anthropic_base_url,
                             max_retries=0) as client:
        yield client


def test_openai_sdk_json_and_stream(sdk_openai: openai.OpenAI,
                                    fake_upstream: FakeUpstream) -> None:
    completion = sdk_openai.chat.completions.create(**CHAT)
    assert completion.choices[0].message.content.endswith("Name a colour")
    assert completion.usage.total_tokens > 0
    with sdk_openai.chat.completions.stream(**CHAT) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.content == completion.choices[0].message.content
    assert [r.stream for r in fake_upstream.requests] == [False, True]


def test_anthropic_sdk_json_and_stream(sdk_anthropic: anthropic.Anthropic) -> None:
    message = sdk_anthropic.messages.create(**MESSAGES)
    assert message.content[0].text.endswith("Name a colour")
    with sdk_anthropic.messages.stream(**MESSAGES) as stream:
        final = stream.get_final_message()
    assert final.content[0].text == message.content[0].text
    assert final.usage.output_tokens == message.usage.output_tokens


def test_responder_tool_calls_and_text(fake_upstream: FakeUpstream,
                                       sdk_openai: openai.OpenAI,
                                       sdk_anthropic: anthropic.Anthropic) -> None:
    fake_upstream.responder = lambda request: Reply(
        "", [ToolCall("lookup", {"q": request.last_user_text})], "tool_calls")
    call = sdk_openai.chat.completions.create(**CHAT).choices[0]
    assert call.finish_reason == "tool_calls"
    assert json.loads(call.message.tool_calls[0].function.arguments) == {"q": "Name a colour"}
    message = sdk_anthropic.messages.create(**MESSAGES)
    assert message.stop_reason == "tool_use" and message.content[0].input == {"q": "Name a colour"}
    fake_upstream.responder = lambda request: "plain text"
    assert sdk_openai.chat.completions.create(**CHAT).choices[0].message.content == "plain text"


def test_n_choices_and_max_tokens_truncation(sdk_openai: openai.OpenAI,
                                             sdk_anthropic: anthropic.Anthropic) -> None:
    two = sdk_openai.chat.completions.create(**CHAT, n=2)
    assert [c.index for c in two.choices] == [0, 1]
    short = sdk_openai.chat.completions.create(**CHAT, max_completion_tokens=3)
    assert short.choices[0].finish_reason == "length"
    assert short.choices[0].message.content == "This is the"
    capped = sdk_anthropic.messages.create(**{**MESSAGES, "max_tokens": 2})
    assert capped.stop_reason == "max_tokens" and capped.usage.output_tokens == 2


def test_request_log_redacts_keys_and_counts_per_api(fake_upstream: FakeUpstream,
                                                     sdk_openai: openai.OpenAI,
                                                     sdk_anthropic: anthropic.Anthropic) -> None:
    sdk_openai.chat.completions.create(**CHAT)
    sdk_anthropic.messages.create(**MESSAGES)
    first, second = fake_upstream.requests
    assert isinstance(first, UpstreamRequest) and first.api == "openai"
    assert first.headers["authorization"] == "<redacted>"
    secrets = {second.headers.get("x-api-key"), second.headers.get("authorization")} - {None}
    assert secrets == {"<redacted>"} and second.last_user_text == "Name a colour"
    assert fake_upstream.request_count("anthropic") == 1
    fake_upstream.reset()
    assert fake_upstream.request_count() == 0 and fake_upstream.spent_usd == 0.0


def test_spend_follows_the_price_table(fake_upstream: FakeUpstream,
                                       sdk_openai: openai.OpenAI) -> None:
    completion = sdk_openai.chat.completions.create(**CHAT)
    expected = estimate_cost("gpt-4o-mini", completion.usage.model_dump())
    assert expected > 0 and fake_upstream.spent_usd == pytest.approx(expected)


def test_api_key_is_enforced_when_configured() -> None:
    with FakeUpstream(api_key="right") as upstream:
        url = upstream.openai_base_url + "/chat/completions"
        assert httpx.post(url, json=CHAT).status_code == 401
        assert httpx.post(url, json=CHAT, headers={"Authorization": "Bearer wrong"}
                          ).status_code == 401
        assert httpx.post(url, json=CHAT, headers={"Authorization": "Bearer right"}
                          ).status_code == 200


def test_unknown_path_and_bad_json(fake_upstream: FakeUpstream) -> None:
    assert httpx.post(fake_upstream.url + "/v1/moderations", json={}).status_code == 404
    bad = httpx.post(fake_upstream.anthropic_base_url + "/v1/messages", content=b"{nope",
                     headers={"x-api-key": "k"})
    assert bad.status_code == 400 and bad.json()["type"] == "error"


def test_faults_target_one_api_and_are_consumed_in_order(fake_upstream: FakeUpstream,
                                                         sdk_openai: openai.OpenAI,
                                                         sdk_anthropic: anthropic.Anthropic
                                                         ) -> None:
    fake_upstream.inject(Fault.http_status(409, api="anthropic"), Fault.rate_limited(api="openai"))
    with pytest.raises(openai.RateLimitError) as info:
        sdk_openai.chat.completions.create(**CHAT)
    assert info.value.response.headers["retry-after"] == "0.01"
    with pytest.raises(anthropic.ConflictError):
        sdk_anthropic.messages.create(**MESSAGES)
    assert sdk_openai.chat.completions.create(**CHAT).choices


def test_cut_stream_is_a_protocol_error_for_the_sdk(fake_upstream: FakeUpstream,
                                                     sdk_anthropic: anthropic.Anthropic) -> None:
    fake_upstream.inject(Fault.cut_stream(after_events=2))
    stream = sdk_anthropic.messages.create(**MESSAGES, stream=True)
    seen = []
    with pytest.raises(Exception, match="incomplete chunked read"):
        for event in stream:
            seen.append(event.type)
    assert seen == ["message_start", "content_block_start"]


def test_latency_and_event_delay_are_applied() -> None:
    with FakeUpstream(latency=0.1, event_delay=0.01) as upstream:
        started = time.perf_counter()
        with httpx.stream("POST", upstream.openai_base_url + "/chat/completions",
                          json={**CHAT, "stream": True},
                          headers={"Authorization": "Bearer k"}) as response:
            lines = [line for line in response.iter_lines() if line.startswith("data:")]
        elapsed = time.perf_counter() - started
    assert lines[-1] == "data: [DONE]"
    assert elapsed >= 0.1 + 0.01 * (len(lines) - 1)


def test_url_requires_a_running_server() -> None:
    upstream = FakeUpstream()
    with pytest.raises(RuntimeError):
        _ = upstream.url


def test_a_matching_fault_waits_for_its_request(fake_upstream: FakeUpstream,
                                                sdk_openai: openai.OpenAI) -> None:
    fault = Fault.http_status(503).matching(lambda r: r.last_user_text == "fail me")
    fake_upstream.inject(fault)
    assert sdk_openai.chat.completions.create(**CHAT).choices
    with pytest.raises(openai.InternalServerError):
        sdk_openai.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "fail me"}])
    assert sdk_openai.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "fail me"}]).choices
