"""OpenAI Chat Completions (``POST {base_url}/chat/completions``) over httpx.

``OpenAIChatSpec`` is the I/O-free part: headers, SSE decoding, folding chunks into a full
``chat.completion`` and replaying a full completion as the chunk sequence the API streams.
``OpenAIChat`` / ``AsyncOpenAIChat`` add the transport.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from ._api import (
    DEFAULT_TIMEOUT,
    END_OF_STREAM,
    ApiSpec,
    StreamAccumulator,
    event_json,
    resolve_settings,
    stream_error,
)
from ._client import AsyncClient, SyncClient
from ._pieces import text_pieces
from ._sse import ServerSentEvent

__all__ = [
    "AsyncOpenAIChat",
    "ChatChunkAccumulator",
    "OpenAIChat",
    "OpenAIChatSpec",
    "completion_text",
]


class ChatChunkAccumulator(StreamAccumulator):
    """Folds ``chat.completion.chunk`` objects into one ``chat.completion``."""

    def __init__(self) -> None:
        self._head: dict[str, Any] = {}
        self._choices: dict[int, dict[str, Any]] = {}
        self._usage: Any = None

    def add(self, event: dict[str, Any]) -> None:
        """Merge one chunk: text and tool-call arguments concatenate, other fields keep the last."""
        for key in ("id", "created", "model", "system_fingerprint", "service_tier"):
            if event.get(key) is not None:
                self._head[key] = event[key]
        if event.get("usage") is not None:
            self._usage = event["usage"]
        for choice in event.get("choices") or ():
            self._merge_choice(choice)

    def _merge_choice(self, choice: dict[str, Any]) -> None:
        state = self._choices.setdefault(choice.get("index", 0), {
            "role": None, "content": [], "refusal": [], "tool_calls": {},
            "finish_reason": None, "logprobs": None})
        delta = choice.get("delta") or {}
        if delta.get("role"):
            state["role"] = delta["role"]
        for key in ("content", "refusal"):
            if delta.get(key) is not None:
                state[key].append(delta[key])
        for call in delta.get("tool_calls") or ():
            slot = state["tool_calls"].setdefault(call.get("index", 0), {
                "id": None, "type": "function", "name": "", "arguments": []})
            slot["id"] = call.get("id") or slot["id"]
            slot["type"] = call.get("type") or slot["type"]
            function = call.get("function") or {}
            slot["name"] += function.get("name") or ""
            slot["arguments"].append(function.get("arguments") or "")
        if choice.get("finish_reason") is not None:
            state["finish_reason"] = choice["finish_reason"]

    @property
    def complete(self) -> bool:
        """Every choice seen so far has a finish reason."""
        return bool(self._choices) and all(
            c["finish_reason"] is not None for c in self._choices.values())

    def result(self) -> dict[str, Any]:
        """The assembled ``chat.completion``."""
        choices = []
        for index in sorted(self._choices):
            state = self._choices[index]
            message: dict[str, Any] = {
                "role": state["role"] or "assistant",
                "content": "".join(state["content"]) if state["content"] else None,
                "refusal": "".join(state["refusal"]) if state["refusal"] else None,
            }
            if state["tool_calls"]:
                message["tool_calls"] = [
                    {"id": slot["id"], "type": slot["type"],
                     "function": {"name": slot["name"], "arguments": "".join(slot["arguments"])}}
                    for _, slot in sorted(state["tool_calls"].items())]
            choices.append({"index": index, "message": message,
                            "finish_reason": state["finish_reason"], "logprobs": None})
        return {"id": self._head.get("id", ""), "object": "chat.completion",
                "created": self._head.get("created", 0), "model": self._head.get("model", ""),
                "choices": choices, "usage": self._usage,
                "system_fingerprint": self._head.get("system_fingerprint"),
                **({"service_tier": self._head["service_tier"]}
                   if "service_tier" in self._head else {})}


def _replay_choice(choice: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Choice deltas in API order: role, content pieces, refusal, tool calls, finish reason."""
    message = choice.get("message") or {}
    index = choice.get("index", 0)
    first = {"role": message.get("role", "assistant"),
             "content": "" if message.get("content") is not None else None, "refusal": None}
    yield {"index": index, "delta": first, "finish_reason": None, "logprobs": None}
    for key in ("content", "refusal"):
        for piece in text_pieces(message.get(key) or ""):
            yield {"index": index, "delta": {key: piece}, "finish_reason": None, "logprobs": None}
    for position, call in enumerate(message.get("tool_calls") or ()):
        function = call.get("function") or {}
        head = {"index": position, "id": call.get("id"), "type": call.get("type", "function"),
                "function": {"name": function.get("name", ""), "arguments": ""}}
        yield {"index": index, "delta": {"tool_calls": [head]}, "finish_reason": None,
               "logprobs": None}
        for piece in text_pieces(function.get("arguments") or ""):
            yield {"index": index, "delta": {"tool_calls": [
                {"index": position, "function": {"arguments": piece}}]},
                "finish_reason": None, "logprobs": None}
    yield {"index": index, "delta": {}, "finish_reason": choice.get("finish_reason"),
           "logprobs": None}


def completion_text(response: Mapping[str, Any]) -> str:
    """The first choice's text, or its tool calls as JSON when it has no text."""
    choices = response.get("choices") or [{}]
    message = choices[0].get("message") or {}
    if message.get("content"):
        return str(message["content"])
    calls = message.get("tool_calls")
    return json.dumps(calls, sort_keys=True) if calls else ""


class OpenAIChatSpec(ApiSpec):
    """The I/O-free description of ``POST /chat/completions``."""

    path = "/chat/completions"
    api_key_env = "OPENAI_API_KEY"
    base_url_env = "OPENAI_BASE_URL"
    default_base_url = "https://api.openai.com/v1"
    request_id_header = "x-request-id"
    unwrap_error_body = True
    done_marker = "[DONE]"

    def __init__(self, organization: str | None = None, project: str | None = None) -> None:
        self.organization = organization or os.environ.get("OPENAI_ORG_ID")
        self.project = project or os.environ.get("OPENAI_PROJECT_ID")

    def headers(self, api_key: str) -> dict[str, str]:
        """Bearer auth plus the optional organization / project headers."""
        headers = {"Authorization": f"Bearer {api_key}"}
        if self.organization:
            headers["OpenAI-Organization"] = self.organization
        if self.project:
            headers["OpenAI-Project"] = self.project
        return headers

    def decode_event(self, sse: ServerSentEvent, response: httpx.Response) -> Any:
        """A chunk dict, ``END_OF_STREAM`` at ``[DONE]``; an ``error`` object raises ``APIError``."""
        if sse.data.startswith("[DONE]"):
            return END_OF_STREAM
        data = event_json(sse, response)
        if isinstance(data, dict) and data.get("error"):
            raise stream_error(data["error"], response)
        return data

    def is_last_event(self, event: dict[str, Any]) -> bool:
        """Chat streams end with ``[DONE]``, never with a chunk."""
        return False

    def accumulator(self) -> ChatChunkAccumulator:
        """A fresh chunk accumulator."""
        return ChatChunkAccumulator()

    def replay(self, response: dict[str, Any], request: Mapping[str, Any]
               ) -> Iterator[dict[str, Any]]:
        """Chunks sharing one id; a trailing usage chunk when ``stream_options.include_usage``."""
        include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
        head = {"id": response.get("id", ""), "object": "chat.completion.chunk",
                "created": response.get("created", 0), "model": response.get("model", ""),
                "system_fingerprint": response.get("system_fingerprint")}
        if response.get("service_tier") is not None:
            head["service_tier"] = response["service_tier"]
        if include_usage:
            head["usage"] = None
        for choice in response.get("choices") or ():
            for delta in _replay_choice(choice):
                yield {**head, "choices": [delta]}
        if include_usage:
            yield {**head, "choices": [], "usage": response.get("usage")}


class OpenAIChat(SyncClient):
    """Blocking Chat Completions client; arguments and environment variables as in ``openai``."""

    spec: OpenAIChatSpec

    def __init__(self, api_key: str | None = None, *, organization: str | None = None,
                 project: str | None = None, base_url: str | httpx.URL | None = None,
                 timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT, max_retries: int = 2,
                 default_headers: Mapping[str, str] | None = None,
                 default_query: Mapping[str, Any] | None = None,
                 http_client: httpx.Client | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        spec = OpenAIChatSpec(organization, project)
        super().__init__(spec, resolve_settings(
            spec, api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries,
            default_headers=default_headers, default_query=default_query),
            http_client=http_client, transport=transport)


class AsyncOpenAIChat(AsyncClient):
    """Asyncio Chat Completions client; arguments and environment variables as in ``openai``."""

    spec: OpenAIChatSpec

    def __init__(self, api_key: str | None = None, *, organization: str | None = None,
                 project: str | None = None, base_url: str | httpx.URL | None = None,
                 timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT, max_retries: int = 2,
                 default_headers: Mapping[str, str] | None = None,
                 default_query: Mapping[str, Any] | None = None,
                 http_client: httpx.AsyncClient | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        spec = OpenAIChatSpec(organization, project)
        super().__init__(spec, resolve_settings(
            spec, api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries,
            default_headers=default_headers, default_query=default_query),
            http_client=http_client, transport=transport)
