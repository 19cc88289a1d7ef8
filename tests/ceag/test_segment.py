"""Answers cut into recombinable units."""

from __future__ import annotations

from cacheback.ceag import answer_units
from cacheback.ceag._segment import is_block


def test_sentences_list_items_and_code_blocks() -> None:
    text = (
        "Open Settings. Then tap Privacy.\n"
        "- first step\n"
        "2. second step\n"
        "```python\nprint('a. b')\n\nx = 1\n```\n"
        "## Done"
    )
    assert answer_units(text) == [
        "Open Settings.", "Then tap Privacy.", "- first step", "2. second step",
        "```python\nprint('a. b')\n\nx = 1\n```", "## Done",
    ]


def test_an_unclosed_code_block_stays_whole() -> None:
    assert answer_units("Run:\n```\nmake\nmake install") == ["Run:", "```\nmake\nmake install"]


def test_blocks_are_told_from_running_text() -> None:
    assert is_block("- an item") and is_block("2. a step") and is_block("```\ncode\n```")
    assert not is_block("5 working days is the usual wait.")
