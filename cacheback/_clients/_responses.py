"""The cache rules of the OpenAI Responses API (``client.responses.create``, ``POST /v1/responses``).

A Responses request is read through a chat-shaped *view*: ``input`` (a string, or a list of
messages and other items) becomes ``messages``, so the question (the last user input's text), the
scope (every other body parameter, earlier input items, the API name), the conversation rules,
media keying and the PII guard are the chat ones, on the same code paths. The view is for keying
only; the body sent upstream is never changed. See docs/clients.md for the tables.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ..providers import OpenAIResponsesSpec, response_text
from ._dialects import Dialect, Verdict
from ._policy import CachePolicy

__all__ = ["OpenAIResponsesDialect", "input_messages"]

#: Tools whose calls the caller runs: a request offering them is cacheable (a tool-calling
#: answer is not stored). Every other tool type runs on OpenAI's side with live or stateful data
#: (web and file search, code interpreter, computer use, MCP, shell, image generation...).
_CALLER_TOOLS = frozenset({"function", "custom"})
#: Output items a stored answer may hold: the answer's messages and the model's reasoning.
_STORABLE_ITEMS = frozenset({"message", "reasoning"})
_LOGPROBS_INCLUDE = "message.output_text.logprobs"


def _message(item: Mapping[str, Any]) -> dict[str, Any]:
    """An input message as a chat turn: ``input_text`` parts read as ``text`` parts (other parts,
    images and files included, are kept as they are)."""
    message = {k: v for k, v in item.items() if k != "type"}
    content = message.get("content")
    if isinstance(content, list):
        message["content"] = [{**part, "type": "text"}
                              if isinstance(part, Mapping) and part.get("type") == "input_text"
                              else part for part in content]
    return message


def input_messages(value: Any) -> list[Any]:
    """``input`` as chat turns: a string is one user turn; a message item is a turn of its role;
    any other item (function call, its output, reasoning, item reference...) is a turn whose
    role is its type, so it stays in the scope and is never taken for a question."""
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, list):
        return []
    turns: list[Any] = []
    for item in value:
        if isinstance(item, Mapping) and "role" in item and item.get("type", "message") == "message":
            turns.append(_message(item))
        elif isinstance(item, Mapping):
            turns.append({**item, "role": str(item.get("type"))})
        else:
            turns.append(item)
    return turns


class OpenAIResponsesDialect(Dialect):
    """Responses rules."""

    name = "openai.responses"
    sdk_module = "openai"
    unscoped = frozenset({"input", "messages", "stream", "stream_options", "user", "metadata",
                          "service_tier", "safety_identifier", "prompt_cache_key",
                          "prompt_cache_retention", "prompt_cache_options"})

    def __init__(self, spec: OpenAIResponsesSpec | None = None) -> None:
        self.spec = spec or OpenAIResponsesSpec()

    def view(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The body with ``input`` as chat ``messages``; ``store`` is keyed as the API reads it
        (omitted or null means true), so a stored answer's id is retrievable upstream exactly
        when the caller asked for storage."""
        view = {k: v for k, v in body.items() if k != "input"}
        view["messages"] = input_messages(body.get("input"))
        view["store"] = body.get("store") is not False
        return view

    def unsupported(self, body: Mapping[str, Any]) -> str | None:
        """Requests whose answer depends on state held upstream, on live data, or on one
        sampling run bypass the cache."""
        if body.get("previous_response_id"):
            return "previous_response_id: the conversation so far is held upstream"
        if body.get("conversation"):
            return "conversation: the conversation so far is held upstream"
        if body.get("background"):
            return "background=True: the answer is fetched later by its id"
        if body.get("prompt"):
            return "prompt: a stored prompt template, held upstream and editable"
        for tool in body.get("tools") or ():
            kind = tool.get("type") if isinstance(tool, Mapping) else None
            if kind not in _CALLER_TOOLS:
                return f"built-in tool {kind!r} runs upstream on live or stateful data"
        if body.get("top_logprobs") or _LOGPROBS_INCLUDE in (body.get("include") or ()):
            return "logprobs describe one sampling run"
        if "search" in str(body.get("model", "")).lower().split("-"):
            return "search models fetch live web results"
        return None

    def verdict(self, response: Mapping[str, Any], policy: CachePolicy) -> Verdict:
        """Store a ``completed`` text answer; never one holding a tool call (function, built-in
        or MCP) or a refusal; an ``incomplete`` one (``max_output_tokens``) only if allowed."""
        output = response.get("output") or []
        for item in output:
            if not isinstance(item, Mapping) or item.get("type") not in _STORABLE_ITEMS:
                return Verdict(False)
            if item.get("type") == "message" and any(
                    not isinstance(part, Mapping) or part.get("type") != "output_text"
                    for part in item.get("content") or ()):
                return Verdict(False)
        if response.get("error") or not self.answer_text(response).strip():
            return Verdict(False)
        status = response.get("status")
        if status == "completed":
            return Verdict(True)
        reason = (response.get("incomplete_details") or {}).get("reason")
        return Verdict(status == "incomplete" and reason == "max_output_tokens"
                       and policy.cache_truncated)

    def answer_text(self, response: Mapping[str, Any]) -> str:
        """The response's ``output_text``."""
        return response_text(response)

    def synthesize(self, text: str, body: Mapping[str, Any], entry_id: int) -> dict[str, Any]:
        """A completed ``response`` whose one message carries ``text``."""
        now = int(time.time())
        return {
            "id": f"resp_cacheback_{entry_id}", "object": "response", "created_at": now,
            "completed_at": now, "status": "completed", "model": body.get("model", ""),
            "output": [{"type": "message", "id": f"msg_cacheback_{entry_id}",
                        "status": "completed", "role": "assistant",
                        "content": [{"type": "output_text", "text": text, "annotations": [],
                                     "logprobs": []}]}],
            "instructions": body.get("instructions"), "error": None, "incomplete_details": None,
            "metadata": body.get("metadata") or {}, "parallel_tool_calls": True,
            "temperature": body.get("temperature"), "top_p": body.get("top_p"),
            "tool_choice": body.get("tool_choice") or "auto", "tools": body.get("tools") or [],
            "usage": None,
        }
