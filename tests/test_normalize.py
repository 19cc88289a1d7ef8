"""The exact tier's normalisation never merges two different questions; it merges only forms that
cannot differ in meaning."""

from __future__ import annotations

import pytest

from cacheback import SemanticCache
from cacheback._normalize import normalise_query

#: Pairs that compatibility normalisation (NFKC) or full case folding would make one key.
CONFUSABLE = [
    ("What is 3² + 4²?", "What is 32 + 42?"),
    ("What is x₁ + x₂?", "What is x1 + x2?"),
    ("Is ① the answer?", "Is 1 the answer?"),
    ("What is ½ of 10?", "What is 1/2 of 10?"),
    ("What is ½ of 10?", "What is 1⁄2 of 10?"),
    ("Price in ＄１００?", "Price in $100?"),
    ("Chapter Ⅷ summary", "Chapter VIII summary"),
    ("Chapter ⅷ summary", "Chapter viii summary"),
    ("Define the ﬁle format", "Define the file format"),
    ("Where is the Straße?", "Where is the Strasse?"),
    ("What is 10 ㎏ in pounds?", "What is 10 kg in pounds?"),
    ("Is 2ⁿ bigger than n²?", "Is 2n bigger than n2?"),
    ("What does ™ mean?", "What does TM mean?"),
    ("Pay ¹/₂ now?", "Pay 1/2 now?"),
    ("What is 5!", "What is 5"),
    ("Explain 𝐀 vs A", "Explain A vs A"),
    ("What is ſ?", "What is s?"),
    ("Name of ﬀ ligature", "Name of ff ligature"),
    ("Is H₂O water?", "Is H2O water?"),
    ("Is 1 ≠ 2?", "Is 1 = 2?"),
    ("What is ℌ?", "What is H?"),
    ("Meaning of ℃?", "Meaning of °C?"),
    ("Is ㈱ a company?", "Is (株) a company?"),
]

#: Forms of one question that may share a key.
SAME = [
    ("What is HTTP?", "what is http"),
    ("Café opening hours?", "Cafe\u0301 opening hours?"),
    ("How  do\tI\nreset   it?", "How do I reset it"),
    ("Is it safe?!", "Is it safe"),
    ("What\u00a0is HTTP?", "What is HTTP?"),
    ("Why…", "Why"),
]


@pytest.mark.parametrize(("a", "b"), CONFUSABLE)
def test_confusable_questions_get_different_keys(a: str, b: str) -> None:
    assert normalise_query(a) != normalise_query(b)


@pytest.mark.parametrize(("a", "b"), SAME)
def test_forms_that_cannot_differ_share_a_key(a: str, b: str) -> None:
    assert normalise_query(a) == normalise_query(b)


def test_the_exact_tier_never_serves_a_confusable_question() -> None:
    with SemanticCache(":memory:", embedder=None) as cache:
        for i, (a, _) in enumerate(CONFUSABLE):
            cache.put(a, f"answer {i}", namespace=f"n{i}")
        for i, (_, b) in enumerate(CONFUSABLE):
            assert cache.get(b, namespace=f"n{i}") is None, b
