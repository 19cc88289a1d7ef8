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
    # compatibility forms not in the list above
    ("Is x⁻¹ defined?", "Is x-1 defined?"),
    ("Is ¾ more than 0.7?", "Is 3/4 more than 0.7?"),
    ("Is ⑫ even?", "Is 12 even?"),
    ("What is 𝟏𝟐 squared?", "What is 12 squared?"),
    ("What is Ⅻ in Arabic numerals?", "What is XII in Arabic numerals?"),
    ("Define the ﬂow rate", "Define the flow rate"),
    ("Is µ the same as u?", "Is μ the same as u?"),
    ("What is ℕ?", "What is N?"),
    ("Who was Maße?", "Who was Masse?"),
    ("Is the final ς a σ?", "Is the final σ a σ?"),
    # Turkish dotless and dotted i are different letters
    ("What does ılık mean?", "What does ilik mean?"),
    ("Where is İzmir?", "Where is Izmir?"),
    # invisible characters are not white space: a soft hyphen or zero-width space may be data
    ("Is pass\u200bword a valid password?", "Is password a valid password?"),
    ("Split co\u00adop", "Split coop"),
    # words whose case is part of them: code identifiers, base64, keys, passwords
    ("Decode aGVsbG8gd29ybGQ=", "Decode AGVSBG8GD29YBGQ="),
    ("What does getUser() return?", "What does getuser() return?"),
    ("Is GetUser the same as getUser?", "Is getuser the same as getuser?"),
    ("Is my password Hunter2 strong?", "Is my password hunter2 strong?"),
    ("Is sk-AbCdEf a valid key?", "Is sk-abcdef a valid key?"),
    ("What is MAX_RETRIES?", "What is max_retries?"),
    ("Who makes the iPhone?", "Who makes the IPHONE?"),
    ("Convert 0x1F to decimal", "Convert 0x1f to decimal"),
]

#: Forms of one question that may share a key.
SAME = [
    ("What is HTTP?", "what is http"),
    ("Café opening hours?", "Cafe\u0301 opening hours?"),
    ("How  do\tI\nreset   it?", "How do I reset it"),
    ("Is it safe?!", "Is it safe"),
    ("What\u00a0is HTTP?", "What is HTTP?"),
    ("Why…", "Why"),
    ("SELECT * FROM users?", "select * from users"),
    ("What Is The Capital Of France?", "what is the capital of france"),
    ("Ohm: Ω", "Ohm: \u2126"),
    ("Å or Å?", "A\u030a or \u212b?"),
    ("Why?!?", "why"),
    ("What\u3000is\u2028HTTP?", "What is HTTP"),
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
