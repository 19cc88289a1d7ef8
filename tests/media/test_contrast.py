"""The opposites re-hearing tests a stored question against (pure text, no Whisper)."""

from __future__ import annotations

import pytest

from cacheback.media._contrast import MAX_RIVALS, rivals


@pytest.mark.parametrize(("text", "rival"), [
    ("can I upgrade my plan", "can I downgrade my plan"),
    ("is breakfast included in the price", "is breakfast not included in the price"),
    ("is breakfast not included in the price", "is breakfast included in the price"),
    ("how do I unlock my card", "how do I lock my card"),
    ("what time does the store close on Sunday", "what time does the store open on Sunday"),
    ("how do I increase the font size", "how do I decrease the font size"),
    ("can I check in online", "can I check out online"),
    ("how do I turn off 2 factor authentication", "how do I turn on 2 factor authentication"),
])
def test_one_meaning_flipped(text: str, rival: str) -> None:
    assert rival in rivals(text)


@pytest.mark.parametrize("text", [
    "is breakfast included in the price", "is there a student discount", "how do I close my account",
    "where is the Berlin office", "do you deliver to Dublin",
])
def test_words_that_only_look_prefixed_are_kept(text: str) -> None:
    found = rivals(text)
    assert text not in found and len(found) <= MAX_RIVALS
    flipped_words = {w for r in found for w in r.split()} - set(text.split()) - {"not"}
    assert not flipped_words & {"cluded", "count", "ount", "livers", "ex"}


def test_without_an_auxiliary_or_an_opposite_nothing_is_invented() -> None:
    assert rivals("where is memory office") == ["where is not memory office", "where is memory not office"]
    assert rivals("pizza margherita") == []


def test_a_reversing_prefix_is_added_as_well_as_removed() -> None:
    """tiny.en drops the "un" of "unmute" and "unlock": the stored "mute" / "lock" question
    must be tested against its prefixed opposite, not only the other way round."""
    assert "how do I unmute my microphone" in rivals("how do I mute my microphone")
    assert "how do I unlock my card" in rivals("how do I lock my card")
    assert "how do I disable dark mode" in rivals("how do I enable dark mode")
    assert "how do I lock my card" in rivals("how do I unlock my card")
    assert not any(r.split()[0] in ("unhow", "dishow") for r in rivals("how do I lock my card"))
    assert "is there a student count" not in rivals("is there a student discount")
