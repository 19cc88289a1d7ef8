"""Per-API cache rules: which part of a request is the question, which is the exact-match scope,
and which answers may be stored. Pure functions of JSON; see docs/clients.md for the policy."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from ..pricing import estimate_cost
from ..providers import AnthropicMessagesSpec, ApiSpec, OpenAIChatSpec
from ..providers.anthropic_messages import message_text
from ..providers.openai_chat import completion_text
from ._policy import CachePolicy, CallOptions, Plan

__all__ = ["AnthropicDialect", "Dialect", "OpenAIDialect", "Verdict"]


@dataclass(frozen=True)
class Verdict:
    """Whether a finished answer may be stored, and if so whether only for exact matches."""

    store: bool
    exact_only: bool = False


def _without_nulls(value: Any) -> Any:
    """Drop null members so that ``{"name": None}`` and ``{}`` share a scope."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _text_parts(content: Any) -> str | None:
    """The text of a user turn, or None when it has any non-text part."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    texts = []
    for part in content:
        if not isinstance(part, dict) or part.get("type") != "text":
            return None
        texts.append(str(part.get("text", "")))
    return "\n".join(texts)


class Dialect(ABC):
    """The cache rules of one provider API."""

    name: ClassVar[str]
    sdk_module: ClassVar[str]
    spec: ApiSpec
    unscoped: ClassVar[frozenset[str]]

    def view(self, body: Mapping[str, Any]) -> Mapping[str, Any]:
        """The body as the cache rules read it (the turns as chat ``messages``): the body itself
        for chat-shaped APIs; the Responses API maps its ``input`` (``_responses``)."""
        return body

    def plan(self, body: Mapping[str, Any], policy: CachePolicy, options: CallOptions) -> Plan:
        """Decide how this request uses the cache."""
        if options.bypass:
            return Plan.bypass("bypass requested by the caller")
        reason = self.unsupported(body)
        if reason is not None:
            return Plan.bypass(reason)
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict):
            return Plan.bypass("no messages")
        last = messages[-1]
        if last.get("role") != "user":
            return Plan.bypass(f"last turn is a {last.get('role')!r} turn, not a user question")
        query = _text_parts(last.get("content"))
        if query is None:
            return Plan.bypass("last user turn has non-text parts (image, audio, tool result...)")
        if not query.strip():
            return Plan.bypass("last user turn is empty")
        scope = {k: v for k, v in body.items() if k not in self.unscoped}
        scope.update(api=self.name, messages=messages[:-1],
                     last_turn={k: v for k, v in last.items() if k != "content"})
        exact_only, why = options.exact_only, "exact match requested by the caller"
        temperature = body.get("temperature")
        limit = policy.max_semantic_temperature
        if (not exact_only and limit is not None and isinstance(temperature, (int, float))
                and temperature > limit):
            exact_only, why = True, f"temperature {temperature} > {limit}: exact matches only"
        return Plan(query, _without_nulls(scope), lookup=not options.refresh,
                    exact_only=exact_only, reason=why if exact_only else None, ttl=options.ttl)

    def cost(self, response: Mapping[str, Any], query: str) -> float:
        """Estimated USD an upstream call for ``response`` costs (4 characters ~ 1 token when the
        response carries no usage)."""
        usage = response.get("usage")
        if not usage:
            usage = {"input_tokens": len(query) // 4 + 1,
                     "output_tokens": len(self.answer_text(response)) // 4 + 1}
        return estimate_cost(str(response.get("model", "")), usage)

    @abstractmethod
    def unsupported(self, body: Mapping[str, Any]) -> str | None:
        """Why this request must bypass the cache, if it must."""

    @abstractmethod
    def verdict(self, response: Mapping[str, Any], policy: CachePolicy) -> Verdict:
        """Whether a complete ``response`` may be stored."""

    @abstractmethod
    def answer_text(self, response: Mapping[str, Any]) -> str:
        """The text stored beside the payload (and shown by ``cacheback stats``)."""

    @abstractmethod
    def synthesize(self, text: str, body: Mapping[str, Any], entry_id: int) -> dict[str, Any]:
        """A full response for a cached answer stored without a provider payload."""


class OpenAIDialect(Dialect):
    """Chat Completions rules."""

    name = "openai.chat.completions"
    sdk_module = "openai"
    unscoped = frozenset({"messages", "stream", "stream_options", "user", "metadata", "store",
                          "service_tier", "safety_identifier", "prompt_cache_key",
                          "prompt_cache_retention"})

    def __init__(self, spec: OpenAIChatSpec | None = None) -> None:
        self.spec = spec or OpenAIChatSpec()

    def unsupported(self, body: Mapping[str, Any]) -> str | None:
        """n > 1, logprobs, audio output and live web search bypass the cache."""
        n = body.get("n")
        if isinstance(n, int) and n > 1:
            return "n > 1 asks for several different answers"
        if body.get("logprobs") or body.get("top_logprobs"):
            return "logprobs describe one sampling run"
        if body.get("audio") or "audio" in (body.get("modalities") or ()):
            return "audio output"
        if body.get("web_search_options") is not None:
            return "live web search"
        if "search" in str(body.get("model", "")).lower().split("-"):
            return "search models fetch live web results"
        return None

    def verdict(self, response: Mapping[str, Any], policy: CachePolicy) -> Verdict:
        """Store ``stop`` answers; tool calls for exact matches; ``length`` only if allowed."""
        choices = response.get("choices") or []
        if len(choices) != 1 or not self.answer_text(response).strip():
            return Verdict(False)
        finish = choices[0].get("finish_reason")
        if finish == "stop":
            return Verdict(True)
        if finish in ("tool_calls", "function_call"):
            return Verdict(policy.cache_tool_calls, exact_only=True)
        return Verdict(finish == "length" and policy.cache_truncated)

    def answer_text(self, response: Mapping[str, Any]) -> str:
        """The assistant text (tool calls as JSON when there is none)."""
        return completion_text(response)

    def synthesize(self, text: str, body: Mapping[str, Any], entry_id: int) -> dict[str, Any]:
        """A ``chat.completion`` carrying ``text``."""
        return {"id": f"chatcmpl-cacheback-{entry_id}", "object": "chat.completion",
                "created": int(time.time()), "model": body.get("model", ""),
                "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                             "message": {"role": "assistant", "content": text, "refusal": None}}],
                "usage": None}


class AnthropicDialect(Dialect):
    """Messages rules."""

    name = "anthropic.messages"
    sdk_module = "anthropic"
    unscoped = frozenset({"messages", "stream", "metadata", "service_tier"})
    _LIVE_TOOLS = ("web_search", "web_fetch")

    def __init__(self, spec: AnthropicMessagesSpec | None = None) -> None:
        self.spec = spec or AnthropicMessagesSpec()

    def unsupported(self, body: Mapping[str, Any]) -> str | None:
        """Server-side web tools and remote MCP servers fetch live data, and a code-execution
        container carries state between calls, so those requests bypass the cache."""
        if body.get("mcp_servers"):
            return "remote MCP servers"
        if body.get("container") is not None:
            return "stateful code-execution container"
        for tool in body.get("tools") or ():
            if isinstance(tool, dict) and str(tool.get("type", "")).startswith(self._LIVE_TOOLS):
                return "live web tools"
        return None

    def verdict(self, response: Mapping[str, Any], policy: CachePolicy) -> Verdict:
        """Store ``end_turn`` / ``stop_sequence``; tool use for exact matches; ``max_tokens``
        only if allowed; never ``pause_turn`` or ``refusal``."""
        if not self.answer_text(response).strip():
            return Verdict(False)
        stop = response.get("stop_reason")
        if stop in ("end_turn", "stop_sequence"):
            return Verdict(True)
        if stop == "tool_use":
            return Verdict(policy.cache_tool_calls, exact_only=True)
        return Verdict(stop == "max_tokens" and policy.cache_truncated)

    def answer_text(self, response: Mapping[str, Any]) -> str:
        """The text blocks (tool uses as JSON when there is no text)."""
        return message_text(response)

    def synthesize(self, text: str, body: Mapping[str, Any], entry_id: int) -> dict[str, Any]:
        """A ``message`` carrying ``text``."""
        return {"id": f"msg_cacheback_{entry_id}", "type": "message", "role": "assistant",
                "model": body.get("model", ""), "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": 0, "output_tokens": 0}}
