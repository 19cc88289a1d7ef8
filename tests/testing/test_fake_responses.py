"""The fake upstream's ``/v1/responses`` speaks the Responses API well enough for the official
SDK: JSON, SSE in the real event format, the SDK's stream helper, tool calls, truncation and
injected stream faults."""

from __future__ import annotations

import json

import openai
import test_fake_upstream
from openai.types.responses import Response

from cacheback.testing import FakeUpstream, Fault, Reply, ToolCall

pytest_plugins = ["cacheback.testing.pytest_plugin"]
MODEL = "gpt-4o-mini"
sdk_openai = test_fake_upstream.sdk_openai  # the official client on the fake, as a fixture


def test_json_answer_quotes_the_last_user_input(sdk_openai: openai.OpenAI,
                                                fake_upstream: FakeUpstream) -> None:
    raw = sdk_openai.responses.with_raw_response.create(model=MODEL, input=[
        {"role": "user", "content": "First question"}, {"role": "assistant", "content": "Ok."},
        {"role": "user", "content": [{"type": "input_text", "text": "Name a colour"}]}])
    Response.model_validate(json.loads(raw.text))  # every required field, strictly
    response = raw.parse()
    assert response.output_text == "This is the fake upstream's answer to: Name a colour"
    assert response.status == "completed" and response.usage.output_tokens > 0
    assert fake_upstream.requests[0].path == "/v1/responses"
    assert fake_upstream.requests[0].last_user_text == "Name a colour"
    assert fake_upstream.spent_usd > 0


def test_stream_is_the_real_event_format(sdk_openai: openai.OpenAI) -> None:
    with sdk_openai.responses.create(model=MODEL, input="Name a colour", stream=True) as stream:
        events = list(stream)
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == events[-1].response.output_text
    with sdk_openai.responses.stream(model=MODEL, input="Name a colour") as helper:
        assert helper.get_final_response().output_text == text


def test_tool_calls_and_truncation(sdk_openai: openai.OpenAI, fake_upstream: FakeUpstream) -> None:
    fake_upstream.responder = lambda request: Reply("", [ToolCall("lookup", {"q": "x"})],
                                                    "tool_calls")
    call = sdk_openai.responses.create(model=MODEL, input="Look it up")
    assert call.output[0].type == "function_call" and json.loads(call.output[0].arguments) == {
        "q": "x"}
    with sdk_openai.responses.stream(model=MODEL, input="Look it up") as helper:
        assert helper.get_final_response().output[0].name == "lookup"
    fake_upstream.responder = lambda request: Reply("one two three four five")
    cut = sdk_openai.responses.create(model=MODEL, input="Count", max_output_tokens=2)
    assert cut.status == "incomplete" and cut.output_text == "one two"
    assert cut.incomplete_details.reason == "max_output_tokens"


def test_injected_stream_error_is_an_error_event(sdk_openai: openai.OpenAI,
                                                 fake_upstream: FakeUpstream) -> None:
    fake_upstream.inject(Fault.stream_error(after_events=3))
    with sdk_openai.responses.create(model=MODEL, input="Name a colour", stream=True) as stream:
        events = list(stream)
    assert [e.type for e in events[:3]] == ["response.created", "response.in_progress",
                                            "response.output_item.added"]
    assert events[-1].type == "error" and events[-1].message == "injected stream error"
