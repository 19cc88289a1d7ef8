"""The transcript normaliser: the written forms Whisper alternates between become one, and
nothing that changes the question is merged."""

from __future__ import annotations

import pytest

from cacheback.media import normalise_transcript


@pytest.mark.parametrize(("a", "b"), [
    ("Do you have a table for two people tonight?", "Do you have a table for 2 people tonight."),
    ("Can I return it after fourteen days?", "can I return it after 14 days"),
    ("Is the gym open at 6 a.m.?", "Is the gym open at six AM?"),
    ("Is the gym open at 6am?", "is the gym open at 6 a.m."),
    ("What's the wifi password?", "What is the Wi-Fi password?"),
    ("I can't log in.", "I cannot log in"),
    ("Why won't it start?", "Why will not it start"),
    ("Can I change the colour of my order?", "Can I change the color of my order?"),
    ("Um, where is my parcel?", "Where is my parcel?"),
    ("My parcel is late. What should I do?", "My parcel is late, what should I do?"),
    ("How do I turn on two-factor authentication?", "How do I turn on two factor authentication?"),
    ("Does it cost five dollars?", "Does it cost $5?"),
    ("Is it twenty percent off?", "Is it 20% off?"),
    ("Is it 20 per cent off?", "Is it 20% off?"),
    ("Can I order a hundred and five items?", "Can I order 105 items?"),
    ("Is it open at 6 o'clock?", "Is it open at 6:00?"),
    ("Change my e-mail address", "change my email address"),
    ("[BLANK_AUDIO] Where is the office?", "Where is the office?"),
    ("It is OK.", "It is okay."),
    ("The year two thousand", "The year 2,000"),
    ("one thousand two hundred and thirty four", "1234"),
    ("Is it two point five kilos?", "Is it 2.5 kilos?"),
])
def test_written_forms_of_the_same_words_agree(a: str, b: str) -> None:
    assert normalise_transcript(a) == normalise_transcript(b)


@pytest.mark.parametrize(("a", "b"), [
    ("Do you have a table for two people?", "Do you have a table for six people?"),
    ("Is there a charge for a second bag?", "Is there a charge for 2 bags?"),
    ("Can I return it after fifteen days?", "Can I return it after fifty days?"),
    ("I want to go", "I want two go"),
    ("Is it for me?", "Is it four me?"),
    ("Where is the Berlin office?", "Where is the Paris office?"),
    ("Was it delivered?", "Was it not delivered?"),
    ("Can I pay?", "Can't I pay?"),
    ("twenty twenty four", "2044"),
    ("Is it five pounds?", "Is it $5?"),
    ("Is it 6 pm?", "Is it 6 am?"),
])
def test_different_questions_stay_different(a: str, b: str) -> None:
    assert normalise_transcript(a) != normalise_transcript(b)


def test_names_keep_their_capital_and_the_first_word_loses_it() -> None:
    assert normalise_transcript("Where is the Berlin office?") == "where is the Berlin office"
    assert normalise_transcript("Dr. Smith, where is Paris?") == "dr Smith where is Paris"
    assert normalise_transcript("Hello. Is the TV on?") == "hello is the TV on"
    assert normalise_transcript("I think so. I do.") == "I think so I do"


def test_contractions_keep_their_negation() -> None:
    assert normalise_transcript("Why can't I pay?") == "why can not I pay"
    assert normalise_transcript("It isn't here") == "it is not here"
    assert normalise_transcript("I'd been told, I'd like it") == "I had been told I would like it"
    assert normalise_transcript("the store's hours") == "the store's hours"


def test_numbers() -> None:
    assert normalise_transcript("twenty one") == "21"
    assert normalise_transcript("twenty twenty four") == "20 24"
    assert normalise_transcript("five six") == "5 6"
    assert normalise_transcript("a thousand") == "1000"
    assert normalise_transcript("one million five hundred thousand") == "1500000"
    assert normalise_transcript("twenty and thirty") == "20 and 30"


@pytest.mark.parametrize("text", ["", "   ", "Um. Uh, hmm.", "[BLANK_AUDIO]", "(music) ♪"])
def test_nothing_said_is_empty(text: str) -> None:
    assert normalise_transcript(text) == ""
