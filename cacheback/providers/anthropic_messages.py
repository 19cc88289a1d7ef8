"""Anthropic Messages (``POST {base_url}/v1/messages``) over httpx.

``AnthropicMessagesSpec`` is the I/O-free part: headers, SSE decoding, folding stream events into
a full ``message`` and replaying a full message as ``message_start``, ``content_block_start`` /
``_delta`` / ``_stop``, ``message_delta``, ``message_stop``. ``AnthropicMessages`` /
``AsyncAnthropicMessages`` add the transport.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from ._api import (
    DEFAULT_TIMEOUT,
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
    "ANTHROPIC_VERSION",
    "AnthropicMessages",
    "AnthropicMessagesSpec",
    "AsyncAnthropicMessages",
    "MessageEventAccumulator",
    "message_text",
]

ANTHROPIC_VERSION = "2023-06-01"
_JSON_PIECE = 24
_DELTA_USAGE_KEYS = ("input_tokens", "output_tokens", "cache_creation_input_tokens",
                     "cache_read_input_tokens", "server_tool_use")


class MessageEventAccumulator(StreamAccumulator):
    """Folds Messages stream events into one ``message``."""

    def __init__(self) -> None:
        self._message: dict[str, Any] = {}
        self._blocks: dict[int, dict[str, Any]] = {}
        self._json_parts: dict[int, list[str]] = {}
        self._broken = False

    def add(self, event: dict[str, Any]) -> None:
        """Apply one event to the message under construction."""
        kind = event.get("type")
        if kind == "message_start":
            self._message = {**event["message"], "usage": dict(event["message"].get("usage") or {})}
        elif kind == "content_block_start":
            self._blocks[event["index"]] = dict(event["content_block"])
            self._json_parts[event["index"]] = []
        elif kind == "content_block_delta":
            self._apply_delta(event["index"], event["delta"])
        elif kind == "content_block_stop":
            self._finish_block(event["index"])
        elif kind == "message_delta":
            self._message.update({k: v for k, v in (event.get("delta") or {}).items()})
            usage = {k: v for k, v in (event.get("usage") or {}).items() if v is not None}
            self._message.setdefault("usage", {}).update(usage)

    def _apply_delta(self, index: int, delta: dict[str, Any]) -> None:
        block = self._blocks[index]
        kind = delta.get("type")
        if kind == "text_delta":
            block["text"] = block.get("text", "") + delta["text"]
        elif kind == "input_json_delta":
            self._json_parts[index].append(delta.get("partial_json", ""))
        elif kind == "thinking_delta":
            block["thinking"] = block.get("thinking", "") + delta["thinking"]
        elif kind == "signature_delta":
            block["signature"] = delta["signature"]
        elif kind == "citations_delta":
            block["citations"] = [*(block.get("citations") or []), delta["citation"]]

    def _finish_block(self, index: int) -> None:
        raw = "".join(self._json_parts.get(index, ()))
        if raw:
            try:
                self._blocks[index]["input"] = json.loads(raw)
            except ValueError:
                self._broken = True

    @property
    def complete(self) -> bool:
        """A stop reason arrived and every tool input parsed."""
        return not self._broken and self._message.get("stop_reason") is not None

    def result(self) -> dict[str, Any]:
        """The assembled ``message``."""
        return {**self._message, "content": [self._blocks[i] for i in sorted(self._blocks)]}


def _replay_block(index: int, block: dict[str, Any]) -> Iterator[dict[str, Any]]:
    kind = block.get("type")
    deltas: list[dict[str, Any]] = []
    if kind == "text":
        start: dict[str, Any] = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": p} for p in text_pieces(block.get("text", ""))]
        deltas += [{"type": "citations_delta", "citation": c} for c in block.get("citations") or ()]
    elif kind == "tool_use":
        start = {**block, "input": {}}
        raw = json.dumps(block.get("input", {}), ensure_ascii=False, separators=(",", ":"))
        deltas = [{"type": "input_json_delta", "partial_json": raw[i:i + _JSON_PIECE]}
                  for i in range(0, len(raw), _JSON_PIECE)]
    elif kind == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": p}
                  for p in text_pieces(block.get("thinking", ""))]
        deltas.append({"type": "signature_delta", "signature": block.get("signature", "")})
    else:
        start = block
    yield {"type": "content_block_start", "index": index, "content_block": start}
    for delta in deltas:
        yield {"type": "content_block_delta", "index": index, "delta": delta}
    yield {"type": "content_block_stop", "index": index}


def message_text(message: Mapping[str, Any]) -> str:
    """The message's text blocks joined, or its tool uses as JSON when it has no text."""
    blocks = message.get("content") or []
    text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
    if text:
        return text
    uses = [b for b in blocks if b.get("type") == "tool_use"]
    return json.dumps(uses, sort_keys=True) if uses else ""


class AnthropicMessagesSpec(ApiSpec):
    """The I/O-free description of ``POST /v1/messages``."""

    path = "/v1/messages"
    api_key_env = "ANTHROPIC_API_KEY"
    base_url_env = "ANTHROPIC_BASE_URL"
    default_base_url = "https://api.anthropic.com"
    request_id_header = "request-id"
    unwrap_error_body = False
    named_events = True

    def headers(self, api_key: str) -> dict[str, str]:
        """``x-api-key`` plus the API version header."""
        return {"x-api-key": api_key, "anthropic-version": ANTHROPIC_VERSION}

    def decode_event(self, sse: ServerSentEvent, response: httpx.Response) -> Any:
        """The event dict; ``ping`` is skipped and an ``error`` event raises ``APIError``."""
        if sse.event == "ping" or not sse.data:
            return None
        data = event_json(sse, response)
        if sse.event == "error" or (isinstance(data, dict) and data.get("type") == "error"):
            raise stream_error(data.get("error", data) if isinstance(data, dict) else data,
                               response)
        return data

    def is_last_event(self, event: dict[str, Any]) -> bool:
        """``message_stop`` closes a completed stream."""
        return event.get("type") == "message_stop"

    def accumulator(self) -> MessageEventAccumulator:
        """A fresh event accumulator."""
        return MessageEventAccumulator()

    def replay(self, response: dict[str, Any], request: Mapping[str, Any]
               ) -> Iterator[dict[str, Any]]:
        """The full event sequence of a streamed ``response``."""
        usage = dict(response.get("usage") or {"input_tokens": 0, "output_tokens": 0})
        start = {"id": response.get("id", ""), "type": "message", "role": "assistant",
                 "model": response.get("model", ""), "content": [], "stop_reason": None,
                 "stop_sequence": None,
                 "usage": {**usage, "output_tokens": min(1, usage.get("output_tokens", 0))}}
        yield {"type": "message_start", "message": start}
        for index, block in enumerate(response.get("content") or ()):
            yield from _replay_block(index, block)
        yield {"type": "message_delta",
               "delta": {"stop_reason": response.get("stop_reason"),
                         "stop_sequence": response.get("stop_sequence")},
               "usage": {k: usage[k] for k in _DELTA_USAGE_KEYS if k in usage}}
        yield {"type": "message_stop"}


class AnthropicMessages(SyncClient):
    """Blocking Messages client; arguments and environment variables as in ``anthropic``."""

    spec: AnthropicMessagesSpec

    def __init__(self, api_key: str | None = None, *, base_url: str | httpx.URL | None = None,
                 timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT, max_retries: int = 2,
                 default_headers: Mapping[str, str] | None = None,
                 default_query: Mapping[str, Any] | None = None,
                 http_client: httpx.Client | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        spec = AnthropicMessagesSpec()
        super().__init__(spec, resolve_settings(
            spec, api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries,
            default_headers=default_headers, default_query=default_query),
            http_client=http_client, transport=transport)


class AsyncAnthropicMessages(AsyncClient):
    """Asyncio Messages client; arguments and environment variables as in ``anthropic``."""

    spec: AnthropicMessagesSpec

    def __init__(self, api_key: str | None = None, *, base_url: str | httpx.URL | None = None,
                 timeout: float | httpx.Timeout | None = DEFAULT_TIMEOUT, max_retries: int = 2,
                 default_headers: Mapping[str, str] | None = None,
                 default_query: Mapping[str, Any] | None = None,
                 http_client: httpx.AsyncClient | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        spec = AnthropicMessagesSpec()
        super().__init__(spec, resolve_settings(
            spec, api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries,
            default_headers=default_headers, default_query=default_query),
            http_client=http_client, transport=transport)
