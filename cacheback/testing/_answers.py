"""Deterministic answers and the provider JSON around them (responses, error bodies, usage)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..providers._pieces import text_pieces

__all__ = [
    "Api",
    "Reply",
    "ToolCall",
    "UpstreamRequest",
    "anthropic_message",
    "default_responder",
    "error_body",
    "last_user_text",
    "openai_completion",
    "token_count",
]

Api = Literal["openai", "anthropic"]
_ANTHROPIC_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}
_ANTHROPIC_ERROR = {400: "invalid_request_error", 401: "authentication_error",
                    403: "permission_error", 404: "not_found_error", 413: "request_too_large",
                    429: "rate_limit_error", 529: "overloaded_error"}
_OPENAI_ERROR = {400: "invalid_request_error", 401: "invalid_request_error",
                 404: "invalid_request_error", 429: "rate_limit_exceeded"}


@dataclass(frozen=True)
class ToolCall:
    """A function call the fake model makes."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """What the fake model answers: text, optional tool calls, and why it stopped."""

    text: str = ""
    tool_calls: Sequence[ToolCall] = ()
    finish: Literal["stop", "length", "tool_calls"] = "stop"


@dataclass(frozen=True)
class UpstreamRequest:
    """A request as the fake upstream saw it (secrets redacted from ``headers``)."""

    api: Api
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    time: float
    query: str = ""

    @property
    def stream(self) -> bool:
        """Whether the caller asked for SSE."""
        return bool(self.body.get("stream"))

    @property
    def last_user_text(self) -> str:
        """The text of the last user turn."""
        return last_user_text(self.body)


Responder = Callable[[UpstreamRequest], "Reply | str"]


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def last_user_text(body: Mapping[str, Any]) -> str:
    """The text of the last ``user`` message in a chat, messages or responses request body."""
    if "input" in body and "messages" not in body:
        from ._responses import input_text

        return input_text(body)
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            return _text_of(message.get("content"))
    return ""


def default_responder(request: UpstreamRequest) -> Reply:
    """A canned answer that quotes the question, so tests can tell answers apart."""
    return Reply(f"This is the fake upstream's answer to: {request.last_user_text}")


def token_count(text: str) -> int:
    """Word-sized pieces, the fake's stand-in for tokens."""
    return len(text_pieces(text))


def _prompt_tokens(body: Mapping[str, Any]) -> int:
    system = body.get("system")
    texts = [_text_of(system)] if system else []
    texts += [_text_of(m.get("content")) for m in body.get("messages") or [] if isinstance(m, dict)]
    return sum(token_count(t) for t in texts)


def _clip(reply: Reply, body: Mapping[str, Any]) -> Reply:
    """Truncate the text to the request's token limit, as the real APIs do."""
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    pieces = text_pieces(reply.text)
    if not isinstance(limit, int) or len(pieces) <= limit:
        return reply
    return Reply("".join(pieces[:limit]), (), "length")


def openai_completion(reply: Reply, body: Mapping[str, Any], serial: int) -> dict[str, Any]:
    """A ``chat.completion`` for ``reply`` with ``n`` identical choices and word-count usage."""
    reply = _clip(reply, body)
    calls = [{"id": f"call_{serial:06d}_{i}", "type": "function",
              "function": {"name": c.name, "arguments": json.dumps(dict(c.arguments))}}
             for i, c in enumerate(reply.tool_calls)]
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None,
                               "refusal": None}
    if calls:
        message["tool_calls"] = calls
    n = int(body.get("n") or 1)
    prompt, completion = _prompt_tokens(body), token_count(reply.text) * n
    return {
        "id": f"chatcmpl-fake{serial:06d}", "object": "chat.completion", "created": int(time.time()),
        "model": body.get("model", ""), "system_fingerprint": "fp_fake",
        "choices": [{"index": i, "message": message, "finish_reason": reply.finish,
                     "logprobs": None} for i in range(n)],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                  "total_tokens": prompt + completion},
    }


def anthropic_message(reply: Reply, body: Mapping[str, Any], serial: int) -> dict[str, Any]:
    """A Messages ``message`` for ``reply`` with word-count usage."""
    reply = _clip(reply, body)
    content: list[dict[str, Any]] = [{"type": "text", "text": reply.text}] if reply.text else []
    content += [{"type": "tool_use", "id": f"toolu_{serial:06d}_{i}", "name": c.name,
                 "input": dict(c.arguments)} for i, c in enumerate(reply.tool_calls)]
    return {
        "id": f"msg_fake{serial:06d}", "type": "message", "role": "assistant",
        "model": body.get("model", ""), "content": content,
        "stop_reason": _ANTHROPIC_STOP[reply.finish], "stop_sequence": None,
        "usage": {"input_tokens": _prompt_tokens(body), "output_tokens": token_count(reply.text)},
    }


def error_body(api: Api, status: int, message: str) -> dict[str, Any]:
    """The provider's error JSON for ``status``."""
    if api == "anthropic":
        kind = _ANTHROPIC_ERROR.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}
    kind = _OPENAI_ERROR.get(status, "server_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}
