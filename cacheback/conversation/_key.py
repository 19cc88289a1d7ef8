"""Conversation-aware cache keys: what to embed, what to scope on, and which entries may be served.

The conservative default of the clients puts every earlier turn in the scope, so any different
history is a different cache. :class:`ConversationPolicy` is the opt-in alternative: the query is
the last user message, the scope holds whether it is a follow-up, and a follow-up's context is
stored in the entry's metadata and compared at lookup (see ``_compat``). A standalone question
hits across histories; a follow-up only where its context agrees.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._types import Candidate
from ..embed import Embedder
from ..match import Decision, Matcher
from ._compat import ContextRules, incompatibility
from ._followup import DEFAULT_MIN_STANDALONE_WORDS, is_follow_up, is_positional
from ._signature import LiveContext, StoredContext, Turn, VectorCache, digest_turns

__all__ = ["METADATA_KEY", "ContextMatcher", "ConversationKey", "ConversationPolicy", "message_text"]

#: The entry-metadata field holding the stored context.
METADATA_KEY = "context"
_TEXT_PARTS = frozenset({"text", "input_text", "output_text"})
_CONTEXT_ROLES = frozenset({"user", "assistant", "tool", "function"})


class _NotText(ValueError):
    """A message part the policy cannot compare as text (an image, a file, audio)."""


def _part_text(part: Any) -> str:
    if isinstance(part, str):
        return part
    if not isinstance(part, Mapping):
        raise _NotText(type(part).__name__)
    kind = part.get("type")
    if kind in _TEXT_PARTS:
        return str(part.get("text", ""))
    if kind == "tool_use":
        return json.dumps({"tool": part.get("name"), "input": part.get("input")}, sort_keys=True)
    if kind == "tool_result":
        return _content_text(part.get("content"))
    raise _NotText(str(kind))


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        return "\n".join(_part_text(p) for p in content)
    raise _NotText(type(content).__name__)


def message_text(message: Mapping[str, Any]) -> str:
    """The text of an OpenAI or Anthropic message, tool calls included as JSON.

    Raises ``ValueError`` for content that is not text (images, audio, files).
    """
    text = _content_text(message.get("content"))
    calls = message.get("tool_calls") or message.get("function_call")
    if calls:
        text = "\n".join(filter(None, [text, json.dumps(calls, sort_keys=True, default=str)]))
    return text


@dataclass(frozen=True)
class ConversationKey:
    """How one chat request is cached under the conversation-aware policy."""

    query: str
    follow_up: bool
    scope_extra: dict[str, Any]
    turns: tuple[Turn, ...] = field(repr=False)
    context: LiveContext | None = field(default=None, repr=False)
    rules: ContextRules = field(default_factory=ContextRules, repr=False)

    def why_not(self, candidate: Candidate) -> str | None:
        """``None`` if ``candidate``'s context fits this request, else the reason it does not."""
        stored = StoredContext.from_json((candidate.metadata or {}).get(METADATA_KEY))
        if stored is None:
            return "the entry has no usable stored context"
        if self.context is None:
            return None if stored.follow_up == self.follow_up else "follow-up flags differ"
        return incompatibility(stored, self.context, self.rules)

    def accepts(self, candidate: Candidate) -> bool:
        """Whether ``candidate`` may be served for this request (its context is compatible)."""
        return self.why_not(candidate) is None

    def metadata(self) -> dict[str, Any]:
        """Entry metadata to ``put`` with the answer, so later lookups can compare contexts."""
        stored = self.context.stored() if self.context else StoredContext(follow_up=self.follow_up)
        return {METADATA_KEY: stored.to_json()}

    def relevant_turns(self, limit: int = 6) -> list[Turn]:
        """The earlier turns the question leans on: the last ``limit`` for a follow-up, else none."""
        return list(self.turns[-limit:]) if self.follow_up and limit > 0 else []


class ConversationPolicy:
    """Builds :class:`ConversationKey` objects; holds the embedder, the rules and a vector cache.

    ``max_turns`` earlier messages are compared sentence by sentence; older ones must be equal.
    Without an embedder, a follow-up's whole history goes into the scope (the safe fallback).
    """

    def __init__(
        self,
        embedder: Embedder | None,
        *,
        rules: ContextRules | None = None,
        min_standalone_words: int | None = DEFAULT_MIN_STANDALONE_WORDS,
        max_turns: int = 64,
        vector_cache_size: int = 4096,
    ) -> None:
        self.embedder = embedder
        self.rules = rules or ContextRules()
        self.min_standalone_words = min_standalone_words
        self.max_turns = max_turns
        self._vectors = VectorCache(embedder.embed_batch, vector_cache_size) if embedder else None

    def key(self, messages: Sequence[Mapping[str, Any]]) -> ConversationKey | None:
        """The key of a chat whose last message is the user's question; ``None`` when the chat
        ends otherwise or holds non-text content (the caller then keeps the default scope)."""
        try:
            turns = [
                (str(m.get("role")), message_text(m))
                for m in messages
                if isinstance(m, Mapping) and m.get("role") in _CONTEXT_ROLES
            ]
        except ValueError:
            return None
        if not turns or turns[-1][0] != "user" or not turns[-1][1].strip():
            return None
        query, earlier = turns[-1][1], turns[:-1]
        # A first message leans on nothing: it is standalone whatever its wording, so the same
        # question asked later after unrelated turns (and naming what it is about) shares it.
        follow_up = bool(earlier) and is_follow_up(query, self.min_standalone_words)
        scope_extra: dict[str, Any] = {"conversation": "follow-up" if follow_up else "standalone"}
        if self._vectors is None:
            if follow_up:
                scope_extra["history"] = digest_turns(earlier)
            return ConversationKey(query, follow_up, scope_extra, tuple(earlier), None, self.rules)
        context = LiveContext(
            earlier, self._vectors, follow_up=follow_up, positional=is_positional(query),
            max_turns=self.max_turns,
        )
        return ConversationKey(query, follow_up, scope_extra, tuple(earlier), context, self.rules)


class ContextMatcher(Matcher):
    """A matcher for one request: drops candidates whose context does not fit, then asks ``base``."""

    def __init__(self, base: Matcher, key: ConversationKey) -> None:
        self.base = base
        self.key = key

    def decide(self, query: str, candidates: Sequence[Candidate]) -> Decision:
        fitting = [c for c in candidates if self.key.accepts(c)]
        if not fitting:
            return Decision(None, 0.0)
        return self.base.decide(query, fitting)

    def min_similarity(self) -> float:
        return self.base.min_similarity()
