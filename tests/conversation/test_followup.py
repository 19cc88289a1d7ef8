"""Which last messages lean on earlier turns."""

from __future__ import annotations

import pytest

from cacheback.conversation import is_follow_up, is_positional


@pytest.mark.parametrize("text", [
    "yes please",
    "the second one",
    "cancel it",
    "is there an early exit fee?",
    "Great. So how much will the new bill go down by?",
    "what about the premium plan?",
    "and if I find it again, how do I unblock it?",
    "",
])
def test_follow_ups(text: str) -> None:
    assert is_follow_up(text)


@pytest.mark.parametrize("text", [
    "Does Flixora offer a free trial?",
    "How do I get a PAC code if I want to switch to another network?",
])
def test_standalone_questions(text: str) -> None:
    assert not is_follow_up(text)


def test_length_alone_makes_a_question_standalone_only_when_asked() -> None:
    long_question = "What's the daily limit for taking cash out at a cash machine?"
    assert is_follow_up(long_question)
    assert not is_follow_up(long_question, min_words=10)
    question = "do I need to do anything before I go?"
    assert is_follow_up(question, min_words=10)
    assert not is_follow_up(question, min_words=8)


@pytest.mark.parametrize(("text", "expected"), [
    ("the second one", True),
    ("let's go with option 2", True),
    ("I'll take the last one", True),
    ("How do I get a PAC code?", False),
])
def test_positional(text: str, expected: bool) -> None:
    assert is_positional(text) is expected
