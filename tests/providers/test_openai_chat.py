"""OpenAI chat: chunk assembly, replay in the API's exact chunk format, event decoding."""

from __future__ import annotations

import json

import httpx
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from cacheback.providers import APIError, OpenAIChatSpec, ServerSentEvent, completion_text
from cacheback.providers._api import END_OF_STREAM

SPEC = OpenAIChatSpec()
RESPONSE = httpx.Response(200, request=httpx.Request("POST", "http://x/v1/chat/completions"))
TEXT = "Paris is the capital of France.\nIt has   2.1 million people. "
COMPLETION = {
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o",
    "system_fingerprint": "fp_1",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": TEXT, "refusal": None},
                 "finish_reason": "stop", "logprobs": None}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 14, "total_tokens": 26},
}
TOOL_COMPLETION = {
    **COMPLETION,
    "choices": [{"index": 0, "finish_reason": "tool_calls", "logprobs": None, "message": {
        "role": "assistant", "content": None, "refusal": None, "tool_calls": [
            {"id": "call_a", "type": "function",
             "function": {"name": "weather", "arguments": '{"city": "Paris", "unit": "C"}'}},
            {"id": "call_b", "type": "function",
             "function": {"name": "time", "arguments": '{"tz": "Europe/Paris"}'}}]}}],
}


def _round_trip(completion: dict, request: dict) -> tuple[list[dict], dict]:
    chunks = list(SPEC.replay(completion, request))
    accumulator = SPEC.accumulator()
    for chunk in chunks:
        accumulator.add(chunk)
    assert accumulator.complete
    return chunks, accumulator.result()


@pytest.mark.parametrize("completion", [COMPLETION, TOOL_COMPLETION], ids=["text", "tools"])
def test_replay_then_assemble_restores_the_completion(completion: dict) -> None:
    _, assembled = _round_trip(completion, {"stream_options": {"include_usage": True}})
    assert assembled == completion


def test_replay_has_one_id_and_valid_chunk_objects() -> None:
    chunks, _ = _round_trip(COMPLETION, {})
    assert {c["id"] for c in chunks} == {"chatcmpl-1"}
    assert all(ChatCompletionChunk.model_validate(c) for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == TEXT
    assert all("usage" not in c for c in chunks)


def test_include_usage_adds_a_final_usage_chunk() -> None:
    chunks, assembled = _round_trip(COMPLETION, {"stream_options": {"include_usage": True}})
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == COMPLETION["usage"]
    assert all(c["usage"] is None for c in chunks[:-1])
    assert assembled["usage"] == COMPLETION["usage"]


def test_replay_of_several_choices() -> None:
    two = {**COMPLETION, "choices": [COMPLETION["choices"][0],
                                     {**COMPLETION["choices"][0], "index": 1}]}
    _, assembled = _round_trip(two, {})
    assert [c["message"]["content"] for c in assembled["choices"]] == [TEXT, TEXT]


def test_assembled_completion_validates_as_sdk_type() -> None:
    _, assembled = _round_trip(TOOL_COMPLETION, {})
    parsed = ChatCompletion.model_validate(assembled)
    assert json.loads(parsed.choices[0].message.tool_calls[1].function.arguments) == {
        "tz": "Europe/Paris"}


def test_accumulator_incomplete_without_finish_reason() -> None:
    accumulator = SPEC.accumulator()
    for chunk in list(SPEC.replay(COMPLETION, {}))[:-1]:
        accumulator.add(chunk)
    assert not accumulator.complete


def test_decode_event_done_error_and_chunk() -> None:
    assert SPEC.decode_event(ServerSentEvent("[DONE]"), RESPONSE) is END_OF_STREAM
    assert SPEC.decode_event(ServerSentEvent('{"id": "c"}'), RESPONSE) == {"id": "c"}
    with pytest.raises(APIError) as info:
        SPEC.decode_event(ServerSentEvent('{"error": {"message": "overloaded"}}'), RESPONSE)
    assert info.value.message == "overloaded"


def test_completion_text_prefers_text_then_tool_calls() -> None:
    assert completion_text(COMPLETION) == TEXT
    assert json.loads(completion_text(TOOL_COMPLETION))[0]["id"] == "call_a"


def test_headers_carry_bearer_and_optional_org_project(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_ORG_ID", raising=False)
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj_env")
    assert OpenAIChatSpec(organization="org_1").headers("sk-1") == {
        "Authorization": "Bearer sk-1", "OpenAI-Organization": "org_1",
        "OpenAI-Project": "proj_env"}
