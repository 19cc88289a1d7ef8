"""The I/O-free Responses API code: replay as the API's event stream, folding events back into
the response, SSE decoding and framing."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from openai.types.responses import Response

from cacheback._clients._objects import openai_response_objects
from cacheback.providers import APIError, OpenAIResponsesSpec, response_text
from cacheback.providers._api import END_OF_STREAM
from cacheback.providers._sse import ServerSentEvent, SSEDecoder
from cacheback.testing import Reply, ToolCall
from cacheback.testing._responses import openai_response

SPEC = OpenAIResponsesSpec()
HTTP = httpx.Response(200, request=httpx.Request("POST", "https://api.openai.com/v1/responses"))


def _rich_response() -> dict[str, Any]:
    """Reasoning with a summary, a message with two text parts and an annotation."""
    response = openai_response(Reply("The sky is blue because of Rayleigh scattering."),
                               {"model": "o4-mini", "input": "Why is the sky blue?"}, 7)
    message = response["output"][0]
    message["content"].append({"type": "output_text", "text": " See the source.", "logprobs": [],
                               "annotations": [{"type": "url_citation", "url": "https://e.x",
                                                "title": "E", "start_index": 1,
                                                "end_index": 4}]})
    response["output"].insert(0, {"type": "reasoning", "id": "rs_1", "encrypted_content": "xyz",
                                  "summary": [{"type": "summary_text", "text": "Think: light."}]})
    return response


@pytest.mark.parametrize("response", [
    openai_response(Reply("Hello there, world."), {"model": "gpt-4o-mini", "input": "hi"}, 1),
    _rich_response(),
    openai_response(Reply("", [ToolCall("lookup", {"q": "x"})], "tool_calls"),
                    {"model": "gpt-4o-mini", "input": "hi"}, 2),
    openai_response(Reply("one two three four five"),
                    {"model": "gpt-4o-mini", "input": "hi", "max_output_tokens": 2}, 3),
], ids=["text", "reasoning-annotations", "function-call", "incomplete"])
def test_replay_folds_back_into_the_same_response(response: dict[str, Any]) -> None:
    events = list(SPEC.replay(response, {}))
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[0]["type"] == "response.created"
    assert events[0]["response"]["status"] == "in_progress" and events[0]["response"]["output"] == []
    final = {"completed": "response.completed", "incomplete": "response.incomplete"}
    assert events[-1]["type"] == final[response["status"]]
    accumulator = SPEC.accumulator()
    for event in events:
        accumulator.add(event)
    assert accumulator.complete and accumulator.result() == response
    assert SPEC.is_last_event(events[-1]) and not any(map(SPEC.is_last_event, events[:-1]))


def test_replayed_events_validate_as_the_sdk_types() -> None:
    objects = openai_response_objects()
    response = _rich_response()
    Response.model_validate(response)
    for event in SPEC.replay(response, {}):
        built = objects.event(event)
        assert type(built).__name__ != "LightObject", event["type"]
        type(built).model_validate(event)  # validates without the unvalidated fallback
    texts = [e["delta"] for e in SPEC.replay(response, {})
             if e["type"] == "response.output_text.delta"]
    assert "".join(texts) == response_text(response) == objects.response(response).output_text


def test_output_items_fill_an_empty_final_response() -> None:
    response = openai_response(Reply("Short answer."), {"model": "m", "input": "q"}, 4)
    accumulator = SPEC.accumulator()
    for event in SPEC.replay(response, {}):
        if event["type"] == "response.completed":
            event = {**event, "response": {**event["response"], "output": []}}
        accumulator.add(event)
    assert accumulator.result()["output"] == response["output"]


def test_failed_and_cut_streams_are_not_complete() -> None:
    response = openai_response(Reply("Short answer."), {"model": "m", "input": "q"}, 5)
    events = list(SPEC.replay(response, {}))
    cut = SPEC.accumulator()
    for event in events[:-1]:
        cut.add(event)
    assert not cut.complete
    failed = SPEC.accumulator()
    for event in events[:-1]:
        failed.add(event)
    failed.add({"type": "response.failed", "sequence_number": 99,
                "response": {**response, "status": "failed", "error": {"code": "x"}}})
    assert not failed.complete
    with pytest.raises(ValueError, match="error event"):
        SPEC.accumulator().add({"type": "error", "code": "server_error", "message": "boom"})


def test_decode_event() -> None:
    event = {"type": "response.output_text.delta", "delta": "hi", "sequence_number": 3}
    assert SPEC.decode_event(ServerSentEvent(json.dumps(event), "response.output_text.delta"),
                             HTTP) == event
    assert SPEC.decode_event(ServerSentEvent("[DONE]"), HTTP) is END_OF_STREAM
    error_event = {"type": "error", "code": "server_error", "message": "x", "param": None}
    assert SPEC.decode_event(ServerSentEvent(json.dumps(error_event), "error"), HTTP) == error_event
    assert SPEC.is_last_event(error_event)
    with pytest.raises(APIError, match="quota"):
        SPEC.decode_event(ServerSentEvent(json.dumps({"error": {"message": "quota"}})), HTTP)


def test_frames_are_named_events_without_done() -> None:
    response = openai_response(Reply("Short answer."), {"model": "m", "input": "q"}, 6)
    raw = b"".join(SPEC.frames(SPEC.replay(response, {})))
    decoded = list(SSEDecoder().feed(raw))
    assert all(sse.event == json.loads(sse.data)["type"] for sse in decoded)
    assert decoded[-1].event == "response.completed" and b"[DONE]" not in raw


def test_response_text() -> None:
    assert response_text(_rich_response()) == ("The sky is blue because of Rayleigh scattering."
                                               " See the source.")
    calls = openai_response(Reply("", [ToolCall("f", {"a": 1})], "tool_calls"), {"input": "q"}, 1)
    assert json.loads(response_text(calls)) == [{"name": "f", "arguments": '{"a": 1}'}]
    assert response_text({}) == ""
