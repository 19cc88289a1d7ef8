"""Conversation-aware matching: follow-ups hit only where their context agrees.

    policy = ConversationPolicy(cache.embedder)
    key = policy.key(messages)                  # None: keep the default (history in the scope)
    scope = {**base_scope, **key.scope_extra}
    hit = cache.get(key.query, scope=scope, accept=key.accepts)
    cache.put(key.query, answer, scope=scope, metadata=key.metadata())

See docs/ceag.md for the rules and their measured recall and false-hit rates.
"""

from ._compat import ContextRules, incompatibility
from ._followup import DEFAULT_MIN_STANDALONE_WORDS, is_follow_up, is_positional
from ._key import METADATA_KEY, ContextMatcher, ConversationKey, ConversationPolicy, message_text
from ._signature import LiveContext, StoredContext
from ._text import details, split_sentences, words

__all__ = [
    "DEFAULT_MIN_STANDALONE_WORDS",
    "METADATA_KEY",
    "ContextMatcher",
    "ContextRules",
    "ConversationKey",
    "ConversationPolicy",
    "LiveContext",
    "StoredContext",
    "details",
    "incompatibility",
    "is_follow_up",
    "is_positional",
    "message_text",
    "split_sentences",
    "words",
]
