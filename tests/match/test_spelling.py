"""Misspellings count as the same word; longer or shorter forms of a word do not."""

from __future__ import annotations

import pytest

from cacheback.match._spelling import known_word, misspelled_pairs


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("electricty", "electricity"),
        ("invioce", "invoice"),
        ("staion", "station"),
        ("chlid", "child"),
        ("diffrence", "difference"),
        ("acess", "access"),
    ],
)
def test_one_or_two_slips_are_a_misspelling(a: str, b: str) -> None:
    assert misspelled_pairs(frozenset({a}), frozenset({b})) == 1


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("monthly", "month"),
        ("charger", "charge"),
        ("visitors", "residents"),
        ("card", "cart"),
        ("flight", "slight"),
        ("woman", "women"),
        ("county", "country"),
        ("lifted", "listed"),
    ],
)
def test_other_words_are_not(a: str, b: str) -> None:
    assert misspelled_pairs(frozenset({a}), frozenset({b})) == 0


def test_each_word_matches_at_most_once() -> None:
    assert misspelled_pairs(frozenset({"adress", "adres"}), frozenset({"address"})) == 1


def test_two_words_of_the_lexicon_are_never_a_misspelling_of_each_other() -> None:
    assert known_word("woman") and known_word("women") and known_word("receive")
    assert not known_word("recieve")
    assert misspelled_pairs(frozenset({"recieve"}), frozenset({"receive"})) == 1
    assert misspelled_pairs(frozenset({"woman"}), frozenset({"women"})) == 0
