"""Anthropic messages: event assembly, replay in the API's exact event order, event decoding."""

from __future__ import annotations

import httpx
import pytest
from anthropic.types import (
    Message,
    RawContentBlockDeltaEvent,
    RawContentBlockStartEvent,
    RawContentBlockStopEvent,
    RawMessageDeltaEvent,
    RawMessageStartEvent,
    RawMessageStopEvent,
)

from cacheback.providers import AnthropicMessagesSpec, APIError, ServerSentEvent, message_text

SPEC = AnthropicMessagesSpec()
RESPONSE = httpx.Response(200, request=httpx.Request("POST", "http://x/v1/messages"))
EVENT_TYPES = {
    "message_start": RawMessageStartEvent, "message_delta": RawMessageDeltaEvent,
    "message_stop": RawMessageStopEvent, "content_block_start": RawContentBlockStartEvent,
    "content_block_delta": RawContentBlockDeltaEvent,
    "content_block_stop": RawContentBlockStopEvent,
}
MESSAGE = {
    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
    "content": [
        {"type": "thinking", "thinking": "The user wants weather.", "signature": "sig=="},
        {"type": "text", "text": "Let me check the weather in Paris. "},
        {"type": "tool_use", "id": "toolu_1", "name": "weather",
         "input": {"city": "Paris", "days": [1, 2, 3], "note": "é ✓ long enough to split"}},
        {"type": "redacted_thinking", "data": "opaque"},
    ],
    "stop_reason": "tool_use", "stop_sequence": None,
    "usage": {"input_tokens": 40, "output_tokens": 25, "cache_read_input_tokens": 3},
}


def _round_trip(message: dict) -> tuple[list[dict], dict]:
    events = list(SPEC.replay(message, {}))
    accumulator = SPEC.accumulator()
    for event in events:
        accumulator.add(event)
    assert accumulator.complete
    return events, accumulator.result()


def test_replay_then_assemble_restores_the_message() -> None:
    _, assembled = _round_trip(MESSAGE)
    assert assembled == MESSAGE


def test_event_order_and_sdk_types() -> None:
    events, _ = _round_trip(MESSAGE)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
    assert kinds.count("content_block_start") == kinds.count("content_block_stop") == 4
    for event in events:
        assert EVENT_TYPES[event["type"]].model_validate(event)
    start = events[0]["message"]
    assert start["content"] == [] and start["stop_reason"] is None
    text = "".join(e["delta"]["text"] for e in events
                   if e["type"] == "content_block_delta" and e["delta"]["type"] == "text_delta")
    assert text == MESSAGE["content"][1]["text"]


def test_assembled_message_validates_as_sdk_type() -> None:
    _, assembled = _round_trip(MESSAGE)
    parsed = Message.model_validate(assembled)
    assert parsed.content[2].input["city"] == "Paris"
    assert parsed.usage.output_tokens == 25


def test_incomplete_without_message_delta() -> None:
    accumulator = SPEC.accumulator()
    for event in list(SPEC.replay(MESSAGE, {}))[:-2]:
        accumulator.add(event)
    assert not accumulator.complete


def test_truncated_tool_json_is_not_complete() -> None:
    accumulator = SPEC.accumulator()
    for event in SPEC.replay(MESSAGE, {}):
        if event["type"] == "content_block_delta" and event["delta"]["type"] == "input_json_delta":
            event = {**event, "delta": {**event["delta"], "partial_json": "{"}}
        accumulator.add(event)
    assert not accumulator.complete


def test_decode_event_skips_ping_and_raises_on_error() -> None:
    assert SPEC.decode_event(ServerSentEvent('{"type": "ping"}', "ping"), RESPONSE) is None
    assert SPEC.decode_event(ServerSentEvent('{"type": "message_stop"}', "message_stop"),
                             RESPONSE) == {"type": "message_stop"}
    with pytest.raises(APIError) as info:
        SPEC.decode_event(ServerSentEvent(
            '{"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}',
            "error"), RESPONSE)
    assert info.value.body == {"type": "overloaded_error", "message": "busy"}
    assert SPEC.is_last_event({"type": "message_stop"})


def test_message_text_joins_text_blocks_or_falls_back_to_tool_use() -> None:
    assert message_text(MESSAGE) == "Let me check the weather in Paris. "
    tools_only = {**MESSAGE, "content": [MESSAGE["content"][2]]}
    assert '"toolu_1"' in message_text(tools_only)


def test_headers() -> None:
    assert SPEC.headers("key") == {"x-api-key": "key", "anthropic-version": "2023-06-01"}
