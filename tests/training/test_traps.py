"""The rule-made pairs of the verifier's training data (``training/traps.py``, no torch needed)."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "training"))

from traps import (  # noqa: E402
    change_number,
    change_scope,
    front_phrase,
    make_repeats,
    make_traps,
    negate,
    repeat,
    swap_entities,
    swap_slots,
    swap_words,
)


@pytest.fixture
def rng() -> random.Random:
    return random.Random(7)


def test_negation_goes_after_the_subject_and_comes_back_out(rng: random.Random) -> None:
    assert negate("How do I close my account?", rng) == "How do I not close my account?"
    assert negate("Can you send it today?", rng) == "Can you not send it today?"
    assert negate("I don't see my refund", rng) == "I do see my refund"
    assert negate("Why is the card not working?", rng) == "Why is the card working?"
    assert negate("transfer money now", rng) is None


def test_number_and_date_changes_keep_the_rest(rng: random.Random) -> None:
    out = change_number("Where is order 12345?", rng)
    assert out is not None and out.startswith("Where is order ") and "12345" not in out
    month = change_number("Can I pay in March?", rng)
    assert month is not None and "March" not in month and month.startswith("Can I pay in ")
    assert change_number("Where is my order?", rng) is None


def test_entity_swaps_trade_roles(rng: random.Random) -> None:
    assert swap_entities("book a flight from Boston to Denver on Friday", rng) == \
        "book a flight from Denver to Boston on Friday"
    assert swap_entities("convert USD to EUR", rng) == "convert EUR to USD"
    assert swap_entities("what is my balance", rng) is None


def test_slot_swaps_trade_the_phrases_after_the_same_word(rng: random.Random) -> None:
    assert swap_slots("Can I move money from my savings to my checking account?", rng) == \
        "Can I move money from my checking account to my savings?"
    assert swap_slots("The song was written by Anna and sung by Maria.", rng) == \
        "The song was written by Maria and sung by Anna."
    assert swap_slots("Do you sell the red and the blue one?", rng) is None
    assert swap_slots("what is my balance", rng) is None


def test_scope_words_flip(rng: random.Random) -> None:
    assert change_scope("What is the first step?", rng) == "What is the last step?"
    assert change_scope("what is my balance", rng) is None


def _words(text: str) -> set[str]:
    for short, long in (("what's", "what is"), ("don't", "do not")):
        text = text.lower().replace(short, long)
    return {w.strip("?,.!:") for w in text.split()}


def test_repeats_are_changed_but_keep_every_word() -> None:
    for text in ["What is my balance?", "How do I close my account", "I do not see my card"]:
        for seed in range(6):
            out = repeat(text, random.Random(seed))
            assert out is not None and out != text
            assert _words(text) <= _words(out)


def test_make_traps_respects_the_cap_and_never_returns_the_question(rng: random.Random) -> None:
    texts = ["How do I send money from Chase to Visa?", "Can I pay in March?", "What is the first step?",
             "Is order 42 shipped?"] * 3
    traps = make_traps(texts, rng, per_rule=2)
    assert traps
    per_rule: dict[str, int] = {}
    for question, trap, rule in traps:
        assert trap.lower() != question.lower()
        per_rule[rule] = per_rule.get(rule, 0) + 1
    assert max(per_rule.values()) <= 2
    assert len(make_repeats(texts, rng, 3)) == 3


def test_word_swaps_keep_the_words_and_change_their_order(rng: random.Random) -> None:
    text = "Can I transfer money from savings to checking today?"
    swapped = swap_words(text, rng)
    assert swapped is not None and swapped != text
    assert sorted(swapped.lower().rstrip("?").split()) == sorted(text.lower().rstrip("?").split())
    assert swap_words("Why?", rng) is None


def test_a_closing_phrase_moves_to_the_front(rng: random.Random) -> None:
    assert front_phrase("How do I pay with my card?", rng) == "With my card, how do I pay?"
    assert front_phrase("Where is my refund?", rng) is None
