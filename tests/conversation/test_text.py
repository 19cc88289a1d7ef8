"""Sentence splitting, normalised words and details."""

from __future__ import annotations

from cacheback.conversation import details, split_sentences, words


def test_sentences_split_on_end_marks_and_lines_but_not_after_abbreviations() -> None:
    text = "Hi, yes. It covers e.g. one service! is that ok?\nnew line"
    assert split_sentences(text) == ["Hi, yes.", "It covers e.g. one service!", "is that ok?", "new line"]


def test_details_are_numbers_and_names_inside_a_sentence() -> None:
    sentence = "Your Visa card ending 6150 paid £34.00 at The Wheatsheaf on 3rd Sept."
    assert details(sentence) == ("visa", "6150", "34", "the", "wheatsheaf", "3", "september")


def test_sentence_initial_words_and_i_are_not_details() -> None:
    assert details("Sure, I can do that. OK then.") == ()


def test_words_normalise_numbers_units_and_number_words() -> None:
    found = words("My Nimbus plan is £30/month, 18-month term, and I'm six months in, 3,000 texts")
    assert {"nimbus", "30", "month", "18", "6", "3000"} <= found
    assert words("30GB") == {"30", "gb"}
