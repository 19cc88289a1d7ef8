"""A seeded support-bot traffic stream: popular intents asked often, in a few favourite phrasings,
sometimes reworded ("Hi, ...", "... thanks"), each item labelled with how it relates to the past."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .._normalize import normalise_query
from ._data import SupportSet

__all__ = ["KINDS", "StreamItem", "build_stream"]

#: How an item relates to what came before it: the very same question (up to case and trailing
#: punctuation), the same question with a greeting or a sign-off, another phrasing of an intent
#: already asked, or an intent seen for the first time.
KINDS = ("repeat", "reworded", "paraphrase", "new")

_INTENT_SKEW = 1.0
_PHRASING_SKEW = 1.3
_REWORD_RATE = 0.2


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != "I " else text


_REWORDINGS: tuple[Callable[[str], str], ...] = (
    lambda t: f"Hi, {_lower_first(t)}",
    lambda t: f"Hello! {t}",
    lambda t: f"{t} Thanks.",
    lambda t: f"{t} Thank you!",
    lambda t: f"Quick question: {_lower_first(t)}",
    lambda t: f"{t} Please help.",
)


@dataclass(frozen=True)
class StreamItem:
    """One customer message, its true intent, and which of ``KINDS`` it is."""

    text: str
    intent: str
    kind: str


def _zipf_weights(n: int, skew: float) -> list[float]:
    return [1.0 / (rank + 1) ** skew for rank in range(n)]


def build_stream(support: SupportSet, n: int, seed: int = 7) -> list[StreamItem]:
    """``n`` messages drawn with Zipf-like popularity over intents and phrasings.

    Rewordings are labelled in ``support`` so hits on them can be judged.
    """
    rng = random.Random(seed)
    intents = list(support.intents)
    rng.shuffle(intents)
    intent_weights = _zipf_weights(len(intents), _INTENT_SKEW)
    seen_texts: set[str] = set()
    seen_intents: set[str] = set()
    items: list[StreamItem] = []
    for _ in range(n):
        intent = rng.choices(intents, intent_weights)[0]
        phrasings: Sequence[str] = intent.queries
        base = rng.choices(phrasings, _zipf_weights(len(phrasings), _PHRASING_SKEW))[0]
        text = rng.choice(_REWORDINGS)(base) if rng.random() < _REWORD_RATE else base
        norm = normalise_query(text)
        if norm in seen_texts:
            kind = "repeat"
        elif normalise_query(base) in seen_texts:
            kind = "reworded"
        elif intent.name in seen_intents:
            kind = "paraphrase"
        else:
            kind = "new"
        support.label(text, intent.name)
        seen_texts.add(norm)
        seen_intents.add(intent.name)
        items.append(StreamItem(text, intent.name, kind))
    return items
