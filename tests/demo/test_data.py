"""The bundled support-bot set: shape, size, licence note, and fidelity to BANKING77."""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

from cacheback.demo import load_support_set

DATA = resources.files("cacheback.demo").joinpath("data")


def test_forty_intents_with_eight_distinct_questions_and_an_answer() -> None:
    support = load_support_set()
    assert len(support.intents) == 40
    assert len({i.name for i in support.intents}) == 40
    for intent in support.intents:
        assert len(intent.queries) == 8 and len(set(intent.queries)) == 8
        assert len(intent.answer.split()) >= 25
        assert all(support.intent_of(q) == intent.name for q in intent.queries)


def test_bundle_is_small_and_carries_its_attribution() -> None:
    assert len(DATA.joinpath("support_bot.json").read_bytes()) < 200_000
    note = DATA.joinpath("LICENSE.md").read_text("utf-8")
    assert "BANKING77" in note and "CC BY 4.0" in note
    assert "BANKING77" in load_support_set().source


def test_questions_and_labels_are_verbatim_banking77(shared_data: Path) -> None:
    with open(shared_data / "banking77" / "train.csv", newline="", encoding="utf-8") as fh:
        original = {(row["text"].strip(), row["category"]) for row in csv.DictReader(fh)}
    for intent in load_support_set().intents:
        for question in intent.queries:
            assert (question, intent.name) in original


def test_rewordings_can_be_labelled_and_unknown_text_is_none() -> None:
    support = load_support_set()
    assert support.intent_of("Tell me a joke") is None
    support.label("Hi, tell me a joke", "age_limit")
    assert support.intent_of("hi, TELL me a joke!") == "age_limit"
