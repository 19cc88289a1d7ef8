"""The seeded stream: reproducible, Zipf-skewed, and each item's kind true to its history."""

from __future__ import annotations

from collections import Counter

from cacheback._normalize import normalise_query
from cacheback.demo import KINDS, build_stream, load_support_set


def test_same_seed_same_stream_other_seed_other_stream() -> None:
    support = load_support_set()
    first = build_stream(support, 200, seed=1)
    assert first == build_stream(support, 200, seed=1)
    assert first != build_stream(support, 200, seed=2)


def test_kinds_describe_what_came_before() -> None:
    support = load_support_set()
    seen_texts: set[str] = set()
    seen_intents: set[str] = set()
    for item in build_stream(support, 500, seed=3):
        norm = normalise_query(item.text)
        assert item.kind in KINDS
        if item.kind == "repeat":
            assert norm in seen_texts
        else:
            assert norm not in seen_texts
        assert (item.kind == "new") == (item.intent not in seen_intents)
        assert support.intent_of(item.text) == item.intent
        seen_texts.add(norm)
        seen_intents.add(item.intent)


def test_a_long_stream_is_mostly_questions_asked_before() -> None:
    kinds = Counter(i.kind for i in build_stream(load_support_set(), 400, seed=7))
    assert sum(kinds.values()) == 400
    assert kinds["repeat"] + kinds["reworded"] > 200
    assert 0 < kinds["new"] <= 40
    assert kinds["paraphrase"] > 0
