"""May an answer given in one context be served in another? The rules, each a reason to refuse.

For two follow-ups the contexts must agree on what the answer hangs on:

1. every stored sentence with details has a sentence in the new chat that holds the same details
   and says something alike (cosine >= ``fact_floor``): a £10.99 Flickbox payment is not a £34
   PulseFit one, however alike the wording;
2. the new chat's last exchange adds no detail the stored context lacks;
3. the assistant reply being answered matches, sentence by sentence (cosine >= ``reply_floor``),
   and its questions ask with the same content words: "yes please" to
   "shall I cancel it?" is not "yes please" to "shall I renew it?";
4. for "the second one", details appear in the same order;
5. turns older than the analysed window are identical.

Extra chit-chat in the new chat is allowed when it carries no detail into the last exchange and
no question into the reply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._signature import Fact, LiveContext, ReplySentence, StoredContext, reply_sentence
from ._text import details, token_sequence, words

__all__ = ["ContextRules", "incompatibility"]


@dataclass(frozen=True)
class ContextRules:
    """The two tuned floors of the context check (see docs/ceag.md for how they were chosen)."""

    reply_floor: float = 0.80
    fact_floor: float = 0.40


def _in_order(wanted: Sequence[str], sequence: Sequence[str]) -> bool:
    """Whether the first occurrences of ``wanted`` in ``sequence`` come in ``wanted``'s order."""
    first: dict[str, int] = {}
    for position, token in enumerate(sequence):
        first.setdefault(token, position)
    return [first[w] for w in wanted] == sorted(first[w] for w in wanted)


def _stored_fact_supported(fact: Fact, live: LiveContext, rules: ContextRules, positional: bool) -> bool:
    needed = set(fact.details)
    holders = [s for s in dict.fromkeys(live.sentences) if needed <= words(s)]
    if positional:
        holders = [s for s in holders if _in_order(fact.details, token_sequence(s))]
    if not holders:
        return False
    return bool(np.max(live.vectors(holders) @ fact.vector) >= rules.fact_floor)


def _live_fact_supported(
    sentence: str, vector: np.ndarray, stored: StoredContext, rules: ContextRules, positional: bool
) -> bool:
    needed = details(sentence)
    for fact in stored.facts:
        if not set(needed) <= fact.words or float(fact.vector @ vector) < rules.fact_floor:
            continue
        if positional and [d for d in fact.details if d in needed] != list(needed):
            continue
        return True
    return False


def _same_offer(one: ReplySentence, other: ReplySentence) -> bool:
    """Questions must ask with the same content words ("cancel it?" is not "renew it?")."""
    return (one.asks is None and other.asks is None) or one.asks == other.asks


def _reply_differs(stored: Sequence[ReplySentence], live: LiveContext, floor: float) -> bool:
    """Whether the replies differ: each stored sentence and each substantive live one needs a
    counterpart at cosine ``floor`` or more that asks the same thing."""
    if not stored or not live.reply:
        return bool(stored) != bool(live.reply)
    current = [reply_sentence(s, v) for s, v in zip(live.reply, live.vectors(live.reply))]
    similar = np.stack([r.vector for r in stored]) @ np.stack([r.vector for r in current]).T >= floor
    for i, sentence in enumerate(stored):
        if not any(similar[i, j] and _same_offer(sentence, other) for j, other in enumerate(current)):
            return True
    for j, sentence in enumerate(current):
        if sentence.substantive and not any(
            similar[i, j] and _same_offer(other, sentence) for i, other in enumerate(stored)
        ):
            return True
    return False


def incompatibility(stored: StoredContext, live: LiveContext, rules: ContextRules) -> str | None:
    """``None`` when an answer stored in ``stored`` fits ``live``, else why it does not."""
    if stored.follow_up != live.follow_up:
        return "one question is a follow-up, the other standalone"
    if not live.follow_up:
        return None
    if stored.older != live.older:
        return "turns before the analysed window differ"
    positional = stored.positional or live.positional
    for fact in stored.facts:
        if not _stored_fact_supported(fact, live, rules, positional):
            return f"stored detail(s) {', '.join(fact.details)} missing from this chat"
    recent = [s for s in dict.fromkeys(live.recent) if details(s)]
    for sentence, vector in zip(recent, live.vectors(recent) if recent else []):
        if not _live_fact_supported(sentence, vector, stored, rules, positional):
            return f"new detail(s) {', '.join(details(sentence))} in the last exchange"
    if _reply_differs(stored.reply, live, rules.reply_floor):
        return "the reply being followed up differs"
    return None
