"""Text profiles: the regex facts the match features compare."""

from __future__ import annotations

import pytest

from cacheback.match._text import profile, stem


@pytest.mark.parametrize(
    ("text", "negations"),
    [
        ("Which items can be recycled?", 0),
        ("Which items can't be recycled?", 1),
        ("Which items cannot be recycled?", 1),
        ("I don't want my subscription to renew", 1),
        ("What should I avoid while pregnant?", 1),
        ("Is there no way to not pay?", 2),
    ],
)
def test_negations_are_counted_through_contractions_and_negating_verbs(text: str, negations: int) -> None:
    assert profile(text).negations == negations


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("Is the 9:15 train on time?", {"9:15"}),
        ("What's the tax on £125,140?", {"125140"}),
        ("Track order #00123842", {"123842"}),
        ("Do you have a table for two at 7pm on Friday?", {"2", "7", "friday"}),
        ("Can I upload files larger than 10MB?", {"10", "10mb"}),
        ("How do I reset my password?", set()),
        ("Why did my delivery take three weeks?", {"3", "week"}),
        ("Can I stay for 2 nights?", {"2", "night"}),
        ("What day is the market?", set()),
    ],
)
def test_numbers_dates_amounts_and_ids_are_normalised(text: str, numbers: set[str]) -> None:
    assert profile(text).numbers == numbers


def test_entities_are_capitalised_words_past_the_sentence_start() -> None:
    assert profile("What's the baggage allowance on easyJet?").entities == {"easyjet"}
    assert profile("Can I open a Lifetime ISA at 39?").entities == {"lifetim", "isa"}
    assert profile("How do I reset my password? I forgot it.").entities == set()


def test_text_in_capitals_or_title_case_names_no_entities() -> None:
    assert profile("WHAT ARE YOUR DELIVERY OPTIONS TO NORTHERN IRELAND?").entities == set()
    assert profile("Do You Accept Apple Pay Here?").entities == set()


def test_question_kind_modals_persons_and_roles() -> None:
    facts = profile("How much should I pay to convert my Word document to PDF?")
    assert facts.question == {"how_much"}
    assert facts.modals == {"should"}
    assert facts.persons == {"1s"}
    assert ("target", "pdf") in facts.roles
    assert profile("Is it open on Sunday?").question == {"yes_no"}


def test_stem_lets_inflections_agree() -> None:
    assert stem("charges") == stem("charged") == stem("charging") == stem("charge")
    assert stem("cards") == "card" and stem("stopped") == "stop" and stem("access") == "access"


def test_profiles_are_memoised() -> None:
    assert profile("How do I fix a dripping tap?") is profile("How do I fix a dripping tap?")
