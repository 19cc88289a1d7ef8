"""Misspellings count as the same word; longer or shorter forms of a word do not."""

from __future__ import annotations

import pytest

from cacheback.match._spelling import misspelled_pairs


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
    ],
)
def test_other_words_are_not(a: str, b: str) -> None:
    assert misspelled_pairs(frozenset({a}), frozenset({b})) == 0


def test_each_word_matches_at_most_once() -> None:
    assert misspelled_pairs(frozenset({"adress", "adres"}), frozenset({"address"})) == 1
